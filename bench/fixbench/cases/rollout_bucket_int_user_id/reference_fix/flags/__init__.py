"""Feature flags: which flags are on for a user, evaluated for the mobile apps' config endpoint."""
import hashlib

from smartworker import handler


def bucket(flag_key: str, user_id: str) -> int:
    """A stable 0-99 bucket for a user and a flag (another flag puts the same user elsewhere)."""
    digest = hashlib.sha256(flag_key.encode() + b":" + user_id.encode()).hexdigest()
    return int(digest[:8], 16) % 100


def enabled(flag: dict, user_id: str) -> bool:
    if user_id in flag.get("allow", []):
        return True
    return bucket(flag["key"], user_id) < flag.get("rollout_percent", 0)


@handler("evaluate-flags")
def evaluate_flags(data):
    """The flags that are on for ``user_id``: allow-listed users, then a stable percentage rollout."""
    user_id = data["user_id"]
    # Accounts created since the user-service migration have numeric ids; flags key users by the
    # id's text, so 42 and "42" are the same user in the buckets and the allow lists.
    key = str(user_id)
    return {"user_id": user_id, "on": sorted(f["key"] for f in data["flags"] if enabled(f, key))}
