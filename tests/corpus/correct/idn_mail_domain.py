"""Mail delivery: the MX lookup key is built with ``domain.encode("ascii")``, which raises
UnicodeEncodeError for an internationalised domain ("münchen.de"). DNS wants the IDNA form; the fix
encodes with the ``idna`` codec, the standard library's successor for host names."""

KIND = "encoding"
STYLES = ("api-migration", "small-edit")
HANDLER = "mx-key"

APP = {"delivery/__init__.py": '''
"""Delivery: which DNS name to ask for a recipient's mail servers."""
from smartworker import handler


@handler("mx-key")
def mx_key(data):
    """The ASCII DNS name of the domain of ``recipient`` (lower case), for the MX lookup."""
    domain = data["recipient"].rsplit("@", 1)[1].strip().lower()
    return {"lookup": domain.encode("ascii").decode("ascii")}
'''}

FAILING = {"recipient": "info@München.de"}
ERROR = "UnicodeEncodeError"
EXPECTED = {"lookup": "xn--mnchen-3ya.de"}

HISTORY = [{"recipient": "a@Example.COM"}, {"recipient": "b@mail.example.org "}]

ACCEPTANCE = [
    ({"recipient": "a@Example.COM"}, {"lookup": "example.com"}),
    ({"recipient": "x@bücher.example"}, {"lookup": "xn--bcher-kva.example"}),
    ({"recipient": "we@do@weird.org"}, {"lookup": "weird.org"}),
]

FIX = {"delivery/__init__.py": [('domain.encode("ascii").decode("ascii")', 'domain.encode("idna").decode("ascii")')]}
