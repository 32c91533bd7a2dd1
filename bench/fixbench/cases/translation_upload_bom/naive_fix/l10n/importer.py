import base64
import json
import string

from .catalog import SOURCE


def placeholders(text):
    return sorted({field for _, field, _, _ in string.Formatter().parse(text) if field})


def import_strings(data):
    """Check an uploaded translation file (``file_b64``: base64 of a UTF-8 JSON object, key -> text).

    Returns the strings kept (known keys with the source's placeholders), the source keys still
    missing, and the keys rejected: unknown, or with other placeholders than the source text.
    """
    raw = base64.b64decode(data["file_b64"])
    uploaded = json.loads(raw.decode("ascii", errors="ignore"))
    kept, rejected = {}, []
    for key, text in sorted(uploaded.items()):
        if key in SOURCE and placeholders(text) == placeholders(SOURCE[key]):
            kept[key] = text
        else:
            rejected.append(key)
    return {
        "locale": data["locale"],
        "strings": kept,
        "missing": sorted(set(SOURCE) - set(kept) - set(rejected)),
        "rejected": rejected,
    }
