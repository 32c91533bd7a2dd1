"""SMS sending: the segment count checks for plain text with ``text.encode("ascii")``, and a message
with an emoji raises UnicodeEncodeError. Such a message is legal; it is sent as UCS-2, 70 characters
a segment (67 when split). The fix catches the error that means exactly that."""

KIND = "encoding"
STYLES = ("right-exception",)
HANDLER = "sms-segments"

APP = {"sms/__init__.py": '''
"""SMS: how many segments a message costs."""
from smartworker import handler


@handler("sms-segments")
def sms_segments(data):
    """Segments for ``text``: plain text is 160 characters (153 a part when split); anything else is
    UCS-2, 70 characters (67 a part)."""
    text = data["text"]
    text.encode("ascii")
    single, part, encoding = 160, 153, "gsm"
    segments = 1 if len(text) <= single else -(-len(text) // part)
    return {"to": data["to"], "encoding": encoding, "segments": segments}
'''}

FAILING = {"to": "+4915112345678", "text": "Your table is ready 🍽"}
ERROR = "UnicodeEncodeError"
EXPECTED = {"to": "+4915112345678", "encoding": "ucs2", "segments": 1}

HISTORY = [{"to": "+491701", "text": "Code 1234"}, {"to": "+491702", "text": "x" * 200}]

ACCEPTANCE = [
    ({"to": "+491701", "text": "Code 1234"}, {"to": "+491701", "encoding": "gsm", "segments": 1}),
    ({"to": "+491702", "text": "x" * 200}, {"to": "+491702", "encoding": "gsm", "segments": 2}),
    ({"to": "+491703", "text": "ü" * 71}, {"to": "+491703", "encoding": "ucs2", "segments": 2}),
]

FIX = {"sms/__init__.py": [(
    '''    text.encode("ascii")
    single, part, encoding = 160, 153, "gsm"
''',
    '''    try:
        text.encode("ascii")
        single, part, encoding = 160, 153, "gsm"
    except UnicodeEncodeError:  # not plain text: the message goes out as UCS-2
        single, part, encoding = 70, 67, "ucs2"
''')]}
