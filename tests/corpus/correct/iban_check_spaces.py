"""Bank details: an IBAN typed in groups ("DE89 3704 ...") reaches ``int(char, 36)`` with a space,
which raises ValueError. The fix normalises the input (spaces out, upper case) before the checksum
and returns the normalised form."""

KIND = "parse-format"
STYLES = ("small-edit",)
HANDLER = "check-iban"

APP = {"bankdetails/__init__.py": '''
"""Bank details: check an IBAN's checksum (ISO 13616)."""
from smartworker import handler


@handler("check-iban")
def check_iban(data):
    """Whether ``iban`` has a valid checksum; returns it in electronic form (no spaces, upper case)."""
    iban = data["iban"]
    rearranged = iban[4:] + iban[:4]
    number = int("".join(str(int(char, 36)) for char in rearranged))
    return {"iban": iban, "valid": number % 97 == 1}
'''}

FAILING = {"iban": "de89 3704 0044 0532 0130 00"}
ERROR = "ValueError"
EXPECTED = {"iban": "DE89370400440532013000", "valid": True}

HISTORY = [{"iban": "DE89370400440532013000"}, {"iban": "GB82WEST12345698765432"}, {"iban": "DE00370400440532013000"}]

ACCEPTANCE = [
    ({"iban": "DE89370400440532013000"}, {"iban": "DE89370400440532013000", "valid": True}),
    ({"iban": "DE00370400440532013000"}, {"iban": "DE00370400440532013000", "valid": False}),
    ({"iban": " GB82 WEST 1234 5698 7654 32"}, {"iban": "GB82WEST12345698765432", "valid": True}),
]

FIX = {"bankdetails/__init__.py": [('    iban = data["iban"]\n',
                                     '    iban = data["iban"].replace(" ", "").upper()\n')]}
