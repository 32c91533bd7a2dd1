"""CSV contact import: exports from a German spreadsheet use ``;`` between fields, so
``line.split(",")`` leaves one field and ``row[1]`` raises IndexError. The fix drops the hand-made
splitting for the csv module with the delimiter sniffed from the header (which also handles quoted
commas)."""

KIND = "parse-format"
STYLES = ("drops-call", "rewrite")
HANDLER = "import-contacts"

APP = {"contacts/__init__.py": '''
"""Contacts: import an uploaded CSV of names and e-mail addresses."""
from smartworker import handler


@handler("import-contacts")
def import_contacts(data):
    """Import ``text``: a header line, then one ``name,email`` line per contact."""
    lines = data["text"].strip().splitlines()[1:]
    emails = []
    for line in lines:
        row = line.split(",")
        emails.append(row[1].strip().lower())
    return {"imported": len(emails), "emails": emails}
'''}

FAILING = {"text": "Name;E-Mail\nAnna Berg;Anna@Example.de\nJonas Ulm;jonas@example.de\n"}
ERROR = "IndexError"
EXPECTED = {"imported": 2, "emails": ["anna@example.de", "jonas@example.de"]}

HISTORY = [
    {"text": "name,email\nBob,bob@example.com\n"},
    {"text": "name,email\nAl,AL@example.com\nCy,cy@example.com"},
]

ACCEPTANCE = [
    ({"text": "name,email\nBob,bob@example.com\n"}, {"imported": 1, "emails": ["bob@example.com"]}),
    ({"text": 'name,email\n"Doe, Jane",jane@example.com\n'}, {"imported": 1, "emails": ["jane@example.com"]}),
    ({"text": "name;email\n"}, {"imported": 0, "emails": []}),
]

FIX = {"contacts/__init__.py": '''
"""Contacts: import an uploaded CSV of names and e-mail addresses."""
import csv
import io

from smartworker import handler


@handler("import-contacts")
def import_contacts(data):
    """Import ``text``: a header line, then one ``name,email`` line per contact."""
    text = data["text"].strip()
    header = text.splitlines()[0] if text else ""
    # Spreadsheets in many locales write ";" between fields; the header tells which one was used.
    delimiter = ";" if header.count(";") > header.count(",") else ","
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))[1:]
    emails = [row[1].strip().lower() for row in rows if len(row) > 1]
    return {"imported": len(emails), "emails": emails}
'''}
