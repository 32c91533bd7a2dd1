"""Greenhouse sensors: a dropped sample arrives as null, and ``statistics.mean`` raises TypeError on
None. The fix averages the samples that arrived and reports how many were missing; with no sample at
all the mean is null (an early return)."""

KIND = "none-optional"
STYLES = ("guard-clause",)
HANDLER = "sensor-summary"

APP = {"greenhouse/__init__.py": '''
"""Greenhouse: the hourly summary of a sensor."""
import statistics

from smartworker import handler


@handler("sensor-summary")
def sensor_summary(data):
    """Mean of ``samples`` (°C, one decimal) for ``sensor``, and how many samples were missing."""
    samples = data["samples"]
    return {"sensor": data["sensor"], "mean": round(statistics.mean(samples), 1), "missing": 0}
'''}

FAILING = {"sensor": "t-2", "samples": [21.5, None, 22.5, 22.0]}
ERROR = "TypeError"
EXPECTED = {"sensor": "t-2", "mean": 22.0, "missing": 1}

HISTORY = [{"sensor": "t-1", "samples": [20.0, 20.5]}, {"sensor": "t-3", "samples": [18.25]}]

ACCEPTANCE = [
    ({"sensor": "t-1", "samples": [20.0, 20.5]}, {"sensor": "t-1", "mean": 20.2, "missing": 0}),
    ({"sensor": "t-4", "samples": [None, None]}, {"sensor": "t-4", "mean": None, "missing": 2}),
    ({"sensor": "t-5", "samples": [0.0, None]}, {"sensor": "t-5", "mean": 0.0, "missing": 1}),
]

FIX = {"greenhouse/__init__.py": [(
    '''    samples = data["samples"]
    return {"sensor": data["sensor"], "mean": round(statistics.mean(samples), 1), "missing": 0}
''',
    '''    samples = [value for value in data["samples"] if value is not None]
    missing = len(data["samples"]) - len(samples)
    if not samples:
        return {"sensor": data["sensor"], "mean": None, "missing": missing}
    return {"sensor": data["sensor"], "mean": round(statistics.mean(samples), 1), "missing": missing}
''')]}
