"""Quality control for the machining line: summary statistics of a measured batch."""
import statistics

from smartworker import handler


def _within(value, nominal, tolerance):
    return abs(value - nominal) <= tolerance


@handler("qc-batch-summary")
def qc_batch_summary(data):
    """Mean and sample standard deviation (mm, 4 decimals) of a batch, and which parts are out of spec.

    ``nominal_mm`` and ``tolerance_mm`` give the spec. A batch of one part has no spread: its
    ``stdev_mm`` is None.
    """
    values = [float(v) for v in data["measurements_mm"]]
    nominal = float(data["nominal_mm"])
    tolerance = float(data["tolerance_mm"])
    out_of_spec = [i for i, v in enumerate(values) if not _within(v, nominal, tolerance)]
    return {
        "batch": data["batch"],
        "parts": len(values),
        "mean_mm": round(statistics.mean(values), 4),
        "stdev_mm": round(statistics.stdev(values), 4),
        "out_of_spec": out_of_spec,
        "accepted": not out_of_spec,
    }
