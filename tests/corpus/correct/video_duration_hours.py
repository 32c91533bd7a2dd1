"""Video library: durations now arrive as float seconds, and the ``:02d`` format raises ValueError for
a float. The fix rounds to whole seconds; videos of an hour or more rightly show hours ("1:05:00"), a
layout no earlier duration had ("04:05")."""

KIND = "type-conversion"
STYLES = ("shape-differs", "helper-extracted")
HANDLER = "video-duration"

APP = {"videos/__init__.py": '''
"""Videos: the duration label on a video card."""
from smartworker import handler


@handler("video-duration")
def video_duration(data):
    """``seconds`` as ``MM:SS``, or ``H:MM:SS`` from one hour."""
    minutes, seconds = divmod(data["seconds"], 60)
    return {"video": data["video"], "label": f"{minutes:02d}:{seconds:02d}"}
'''}

FAILING = {"video": "v-9", "seconds": 3899.6}
ERROR = "ValueError"
EXPECTED = {"video": "v-9", "label": "1:05:00"}

HISTORY = [{"video": "v-1", "seconds": 245}, {"video": "v-2", "seconds": 59}]

ACCEPTANCE = [
    ({"video": "v-1", "seconds": 245}, {"video": "v-1", "label": "04:05"}),
    ({"video": "v-3", "seconds": 59.4}, {"video": "v-3", "label": "00:59"}),
    ({"video": "v-4", "seconds": 36000}, {"video": "v-4", "label": "10:00:00"}),
]

FIX = {"videos/__init__.py": '''
"""Videos: the duration label on a video card."""
from smartworker import handler


def clock(total):
    """``MM:SS`` below an hour, ``H:MM:SS`` from one hour, of ``total`` seconds rounded to whole ones."""
    hours, rest = divmod(round(total), 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes:02d}:{seconds:02d}"


@handler("video-duration")
def video_duration(data):
    """``seconds`` as ``MM:SS``, or ``H:MM:SS`` from one hour."""
    return {"video": data["video"], "label": clock(data["seconds"])}
'''}
