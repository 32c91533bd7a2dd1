"""Contact import: normalise names and e-mail addresses before they reach the CRM."""
from smartworker import handler


def normalise_email(address: str) -> str:
    """Trim and lower-case an address; reject anything without a local part and a domain."""
    cleaned = address.strip().lower()
    local, _, domain = cleaned.partition("@")
    if not local or "." not in domain:
        raise ValueError(f"not an e-mail address: {address!r}")
    return cleaned


@handler("import-contact")
def import_contact(data: dict) -> dict:
    """Normalise one contact. ``backup_email`` is optional: absent or null gives None."""
    contact = data["contact"]
    return {
        "name": " ".join(contact["name"].split()),
        "email": normalise_email(contact["email"]),
        "backup_email": normalise_email(contact["backup_email"]) if contact.get("backup_email") else None,
        "opt_in": bool(contact.get("opt_in", False)),
    }
