"""CRM phone numbers: a number written "+49 (0)30-1234567" makes ``int(...)`` (a digits-only check)
raise ValueError. The fix extracts a ``normalise_phone`` helper that keeps digits, drops the
"(0)" trunk prefix written after a country code, and no longer needs the int() check."""

KIND = "parse-format"
STYLES = ("helper-extracted", "drops-call")
HANDLER = "save-contact"

APP = {"crm/__init__.py": '''
"""CRM: store a contact's phone number in international form."""
from smartworker import handler


@handler("save-contact")
def save_contact(data):
    """Store ``phone`` as ``+<digits>``; a national number (leading 0) is German (+49)."""
    phone = data["phone"].replace(" ", "")
    int(phone.lstrip("+"))  # digits only
    if phone.startswith("+"):
        number = phone
    else:
        number = "+49" + phone[1:]
    return {"contact": data["contact"], "phone": number}
'''}

FAILING = {"contact": "c-17", "phone": "+49 (0)30-1234567"}
ERROR = "ValueError"
EXPECTED = {"contact": "c-17", "phone": "+49301234567"}

HISTORY = [{"contact": "c-1", "phone": "030 1234567"}, {"contact": "c-2", "phone": "+44 20 7946 0958"}]

ACCEPTANCE = [
    ({"contact": "c-1", "phone": "030 1234567"}, {"contact": "c-1", "phone": "+49301234567"}),
    ({"contact": "c-2", "phone": "+44 20 7946 0958"}, {"contact": "c-2", "phone": "+442079460958"}),
    ({"contact": "c-3", "phone": "0171/555-12"}, {"contact": "c-3", "phone": "+4917155512"}),
]

FIX = {"crm/__init__.py": '''
"""CRM: store a contact's phone number in international form."""
import re

from smartworker import handler


def normalise_phone(raw):
    """``raw`` as ``+<digits>``: separators dropped, a national number (leading 0) taken as German,
    and the "(0)" some people write after the country code left out."""
    text = raw.strip().replace("(0)", "")
    digits = re.sub(r"\\D", "", text)
    if text.startswith("+"):
        return "+" + digits
    return "+49" + digits[1:]


@handler("save-contact")
def save_contact(data):
    """Store ``phone`` as ``+<digits>``; a national number (leading 0) is German (+49)."""
    return {"contact": data["contact"], "phone": normalise_phone(data["phone"])}
'''}
