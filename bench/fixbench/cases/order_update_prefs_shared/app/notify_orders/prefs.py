DEFAULTS = {"channel": "email", "language": "en"}


def for_recipient(person, base=DEFAULTS):
    """The recipient's notification preferences, defaults filled in."""
    base.update(person.get("prefs") or {})
    return base
