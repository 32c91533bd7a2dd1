"""Catches the IndexError and routes the message with an empty address: a bare address goes to
``support`` with no address instead of being parsed."""
BASE = "email_sender_parseaddr"
FLAW = "swallowed-error"
FIX = {"inbound/__init__.py": [('    address = header.split("<")[1].rstrip(">").strip().lower()\n',
                                '    try:\n        address = header.split("<")[1].rstrip(">").strip().lower()\n    except IndexError:\n        address = ""\n')]}
