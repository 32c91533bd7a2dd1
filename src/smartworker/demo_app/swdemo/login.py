"""Demo login handler: checks a password against a small in-memory user table; "remember me" keeps the user signed in."""

import hashlib
import hmac

from swdemo import remember

USERS = {"alice@example.com": hashlib.sha256(b"wonderland").hexdigest(),
         "bob@example.com": hashlib.sha256(b"builder").hexdigest()}


def normalise_email(email):
    return email.strip().lower()


def handle(data):
    email = normalise_email(data.get("email"))
    digest = hashlib.sha256(data["password"].encode()).hexdigest()
    expected = USERS.get(email)
    ok = expected is not None and hmac.compare_digest(expected, digest)
    if ok and data.get("remember_me"):  # "keep me signed in"
        return {"authenticated": ok, "user": email, "remembered": remember.remember(email)}
    return {"user": email, "authenticated": ok}
