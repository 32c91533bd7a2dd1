"""Invoice downloads: the PDF file name is built with ``name.encode("ascii")``, which raises
UnicodeEncodeError for "Müller GmbH". A file name slug is meant to be ASCII: the fix transliterates
(NFKD, then dropping the combining marks) and keeps the rest of the slug rules."""

KIND = "encoding"
STYLES = ("rewrite", "helper-extracted")
HANDLER = "invoice-filename"

APP = {"downloads/__init__.py": '''
"""Downloads: the file name an invoice PDF is offered under."""
import re

from smartworker import handler


@handler("invoice-filename")
def invoice_filename(data):
    """``<customer slug>-<number>.pdf``: the customer's name in lower-case ASCII words joined by "-"."""
    name = data["customer"].encode("ascii").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return {"filename": f"{slug}-{data['number']}.pdf"}
'''}

FAILING = {"customer": "Müller & Söhne GmbH", "number": "2026-0117"}
ERROR = "UnicodeEncodeError"
EXPECTED = {"filename": "muller-sohne-gmbh-2026-0117.pdf"}

HISTORY = [{"customer": "ACME Ltd.", "number": "2026-0001"}, {"customer": "  Bits & Bytes ", "number": "7"}]

ACCEPTANCE = [
    ({"customer": "ACME Ltd.", "number": "2026-0001"}, {"filename": "acme-ltd-2026-0001.pdf"}),
    ({"customer": "Café Noël", "number": "9"}, {"filename": "cafe-noel-9.pdf"}),
    ({"customer": "Łódź Sp. z o.o.", "number": "1"}, {"filename": "odz-sp-z-o-o-1.pdf"}),
]

FIX = {"downloads/__init__.py": '''
"""Downloads: the file name an invoice PDF is offered under."""
import re
import unicodedata

from smartworker import handler


def ascii_words(text):
    """``text`` in ASCII: accented letters lose their accents; letters with no ASCII form are left out
    (a file name slug, not the customer's name of record)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if char.isascii())


@handler("invoice-filename")
def invoice_filename(data):
    """``<customer slug>-<number>.pdf``: the customer's name in lower-case ASCII words joined by "-"."""
    name = ascii_words(data["customer"])
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return {"filename": f"{slug}-{data['number']}.pdf"}
'''}
