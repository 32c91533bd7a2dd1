"""Hashes the address as given: " Anna@Example.com " and "anna@example.com" get different avatars."""
BASE = "avatar_url_hexdigest"
FLAW = "wrong-value"
FIX = {"profiles/__init__.py": [('hashlib.md5(data["email"].strip().lower()).digest().encode("hex")', 'hashlib.md5(data["email"].encode()).hexdigest()')]}
