"""Contact import with column mapping: the new CRM export titles its column "E-Mail Address", and the
handler's ``row["email"]`` raises KeyError. The fix spans both modules: the columns module maps
header aliases to field names (case and punctuation aside), and the handler reads rows through it."""

KIND = "multi-file"
STYLES = ("multi-file", "helper-extracted")
HANDLER = "import-columns"

APP = {
    "importer/__init__.py": '''
"""Importer: contacts from an uploaded CSV with a header row."""
import csv
import io

from smartworker import handler

from .columns import FIELDS


@handler("import-columns")
def import_columns(data):
    """Contacts (``email``, ``name``) from the CSV ``text``."""
    rows = csv.DictReader(io.StringIO(data["text"]))
    contacts = [{field: row[field].strip() for field in FIELDS} for row in rows]
    return {"contacts": contacts}
''',
    "importer/columns.py": '''
"""The fields a contact import reads."""

FIELDS = ("email", "name")
''',
}

FAILING = {"text": "Name,E-Mail Address\nAda,ada@example.com\n"}
ERROR = "KeyError"
EXPECTED = {"contacts": [{"email": "ada@example.com", "name": "Ada"}]}

HISTORY = [{"text": "email,name\nb@example.com, Bo \n"}]

ACCEPTANCE = [
    ({"text": "email,name\nb@example.com, Bo \n"}, {"contacts": [{"email": "b@example.com", "name": "Bo"}]}),
    ({"text": "Full Name,EMAIL\nCy,c@example.com\n"}, {"contacts": [{"email": "c@example.com", "name": "Cy"}]}),
    ({"text": "mail,name\n"}, {"contacts": []}),
]

FIX = {
    "importer/__init__.py": [
        ("from .columns import FIELDS\n", "from .columns import FIELDS, field_names\n"),
        ('''    rows = csv.DictReader(io.StringIO(data["text"]))
    contacts = [{field: row[field].strip() for field in FIELDS} for row in rows]''',
         '''    reader = csv.reader(io.StringIO(data["text"]))
    header = field_names(next(reader, []))
    rows = (dict(zip(header, values)) for values in reader)
    contacts = [{field: row[field].strip() for field in FIELDS} for row in rows]'''),
    ],
    "importer/columns.py": '''
"""The fields a contact import reads, and the column titles exports use for them."""
import re

FIELDS = ("email", "name")

ALIASES = {"email": "email", "mail": "email", "emailaddress": "email", "name": "name", "fullname": "name"}


def field_names(header):
    """The field each header column holds (its title without case or punctuation, through ALIASES);
    unknown columns keep their title."""
    return [ALIASES.get(re.sub(r"[^a-z]", "", title.lower()), title) for title in header]
''',
}
