"""Image thumbnails: an SVG upload reports height 0 (no intrinsic size), and the aspect ratio divides
by zero. The fix returns such images at the requested box size without scaling math (they scale
freely), via an early return."""

KIND = "division-by-zero"
STYLES = ("guard-clause",)
HANDLER = "thumbnail-size"

APP = {"media/__init__.py": '''
"""Media: the size a thumbnail is rendered at."""
from smartworker import handler


@handler("thumbnail-size")
def thumbnail_size(data):
    """Fit ``width`` x ``height`` into a ``box`` x ``box`` square, keeping the aspect ratio; images
    without an intrinsic size (vector graphics report 0) fill the box."""
    ratio = data["width"] / data["height"]
    box = data["box"]
    if ratio >= 1:
        return {"width": box, "height": round(box / ratio)}
    return {"width": round(box * ratio), "height": box}
'''}

FAILING = {"width": 0, "height": 0, "box": 200, "type": "image/svg+xml"}
ERROR = "ZeroDivisionError"
EXPECTED = {"width": 200, "height": 200}

HISTORY = [{"width": 1600, "height": 900, "box": 200}, {"width": 300, "height": 600, "box": 100}]

ACCEPTANCE = [
    ({"width": 1600, "height": 900, "box": 200}, {"width": 200, "height": 112}),
    ({"width": 300, "height": 600, "box": 100}, {"width": 50, "height": 100}),
    ({"width": 512, "height": 0, "box": 64}, {"width": 64, "height": 64}),
]

FIX = {"media/__init__.py": [(
    '''    ratio = data["width"] / data["height"]
    box = data["box"]
''',
    '''    box = data["box"]
    if not data["width"] or not data["height"]:
        return {"width": box, "height": box}
    ratio = data["width"] / data["height"]
''')]}
