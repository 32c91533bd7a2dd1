DEFAULTS = {"channel": "email", "language": "en"}


def for_recipient(person, base=DEFAULTS):
    """The recipient's notification preferences, defaults filled in."""
    # A new dict per recipient: updating ``base`` itself carried one recipient's choices to the next.
    return {**base, **(person.get("prefs") or {})}
