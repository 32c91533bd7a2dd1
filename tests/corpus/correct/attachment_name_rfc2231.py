"""Mail attachments: a filename sent in RFC 2231 form (``filename*=UTF-8''...``) is not in the
``filename="..."`` layout the regular expression expects, so ``match.group`` on None raises
AttributeError. The fix lets the ``email`` package parse the header (``get_filename`` decodes both
forms); the regular expression goes."""

KIND = "parse-format"
STYLES = ("api-migration", "drops-call", "rewrite")
HANDLER = "attachment-name"

APP = {"mailparts/__init__.py": '''
"""Mail parts: the name an attachment is saved under."""
import re

from smartworker import handler


@handler("attachment-name")
def attachment_name(data):
    """The file name from a ``Content-Disposition`` header (``disposition``), with path parts removed."""
    match = re.search(r'filename="([^"]+)"', data["disposition"])
    name = match.group(1)
    return {"name": name.replace("\\\\", "/").split("/")[-1]}
'''}

FAILING = {"disposition": "attachment; filename*=UTF-8''Rechnung%20M%C3%A4rz.pdf"}
ERROR = "AttributeError"
EXPECTED = {"name": "Rechnung März.pdf"}

HISTORY = [{"disposition": 'attachment; filename="report.pdf"'},
           {"disposition": 'attachment; filename="C:\\\\temp\\\\scan.png"'}]

ACCEPTANCE = [
    ({"disposition": 'attachment; filename="report.pdf"'}, {"name": "report.pdf"}),
    ({"disposition": 'attachment; filename="C:\\\\temp\\\\scan.png"'}, {"name": "scan.png"}),
    ({"disposition": 'inline; filename="a/b/c.txt"'}, {"name": "c.txt"}),
]

FIX = {"mailparts/__init__.py": '''
"""Mail parts: the name an attachment is saved under."""
from email.message import Message

from smartworker import handler


@handler("attachment-name")
def attachment_name(data):
    """The file name from a ``Content-Disposition`` header (``disposition``), with path parts removed."""
    part = Message()
    part["Content-Disposition"] = data["disposition"]
    name = part.get_filename()  # reads filename="..." and RFC 2231's filename*=charset''...
    return {"name": name.replace("\\\\", "/").split("/")[-1]}
'''}
