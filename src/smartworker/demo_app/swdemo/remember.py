"""Remembered sign-ins: a user who ticks "keep me signed in" is remembered on their device.

Account ids became integers when the accounts moved to the new user service; the cache still keys a
remembered device as ``device:<account id>:<kind>``.
"""

ACCOUNTS = {
    "alice@example.com": {"id": 1001, "roles": ["billing", "admin"]},
    "bob@example.com": {"id": 1002, "roles": ["support"]},
}
#: A remembered device stays signed in for 30 days.
REMEMBER_FOR_S = 30 * 24 * 3600


def cache_key(account, kind):
    """The cache key of one of the account's remembered devices: ``device:<account id>:<kind>``."""
    return "device:" + account["id"] + ":" + kind


def remember(email):
    """The long-lived sign-in of a user who asked to be remembered: its cache key, how long it lasts
    in seconds, and the account's roles."""
    account = ACCOUNTS[email]
    return {"cache_key": cache_key(account, "browser"), "expires_in_s": REMEMBER_FOR_S,
            "roles": sorted(account["roles"])}
