"""Keeps only the digits: the "(0)" after the country code stays in, giving +490301234567."""
BASE = "contact_phone_helper"
FLAW = "wrong-value"
FIX = {"crm/__init__.py": [('    phone = data["phone"].replace(" ", "")\n    int(phone.lstrip("+"))  # digits only\n',
                            '    phone = ("+" if data["phone"].strip().startswith("+") else "") + "".join(c for c in data["phone"] if c.isdigit())\n')]}
