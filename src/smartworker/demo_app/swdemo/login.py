"""Demo login handler: checks a user's password against a small in-memory user table."""

import hashlib
import hmac

USERS = {
    "alice@example.com": hashlib.sha256(b"wonderland").hexdigest(),
    "bob@example.com": hashlib.sha256(b"builder").hexdigest(),
}


def normalise_email(email):
    return email.strip().lower()


def handle(data):
    email = normalise_email(data.get("email"))
    digest = hashlib.sha256(data["password"].encode()).hexdigest()
    expected = USERS.get(email)
    ok = expected is not None and hmac.compare_digest(expected, digest)
    return {"user": email, "authenticated": ok}
