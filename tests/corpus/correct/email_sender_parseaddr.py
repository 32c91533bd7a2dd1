"""Inbound mail routing: a ``From`` header that is a bare address (no display name, no angle
brackets) makes ``header.split("<")[1]`` raise IndexError. The fix replaces the hand-made parsing
(the failing split and the rstrip after it) by ``email.utils.parseaddr``."""

KIND = "parse-format"
STYLES = ("drops-call", "api-migration")
HANDLER = "route-inbound"

APP = {"inbound/__init__.py": '''
"""Inbound mail: route a received message to the team that owns the sender's domain."""
from smartworker import handler

TEAMS = {"example.com": "sales", "partner.org": "partners"}


@handler("route-inbound")
def route_inbound(data):
    """Route by the address in the ``from`` header; unknown domains go to ``support``."""
    header = data["from"]
    name = header.split("<")[0].strip().strip('"')
    address = header.split("<")[1].rstrip(">").strip().lower()
    return {"name": name, "address": address, "team": TEAMS.get(address.split("@")[-1], "support")}
'''}

FAILING = {"from": "orders@partner.org"}
ERROR = "IndexError"
EXPECTED = {"name": "", "address": "orders@partner.org", "team": "partners"}

HISTORY = [
    {"from": "Lena Vogt <Lena@Example.com>"},
    {"from": '"Kim, Lee" <kim@elsewhere.net>'},
]

ACCEPTANCE = [
    ({"from": "Lena Vogt <Lena@Example.com>"}, {"name": "Lena Vogt", "address": "lena@example.com", "team": "sales"}),
    ({"from": '"Kim, Lee" <kim@elsewhere.net>'}, {"name": "Kim, Lee", "address": "kim@elsewhere.net",
                                                  "team": "support"}),
    ({"from": "<noreply@example.com>"}, {"name": "", "address": "noreply@example.com", "team": "sales"}),
]

FIX = {"inbound/__init__.py": [(
    '''    header = data["from"]
    name = header.split("<")[0].strip().strip('"')
    address = header.split("<")[1].rstrip(">").strip().lower()
''',
    '''    name, address = parseaddr(data["from"])
    address = address.lower()
'''), (
    "from smartworker import handler\n",
    "from email.utils import parseaddr\n\nfrom smartworker import handler\n",
)]}
