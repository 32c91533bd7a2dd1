"""Tenant settings merge: ``collections.Mapping`` was removed in Python 3.10, so merging a nested
section raises AttributeError (flat overrides never reached that line). The fix imports
``Mapping`` from ``collections.abc``."""

KIND = "api-misuse"
STYLES = ("api-migration", "small-edit")
HANDLER = "merge-settings"

APP = {"tenants/__init__.py": '''
"""Tenants: a tenant's settings over the defaults."""
import collections

from smartworker import handler


def merge(base, override):
    merged = dict(base)
    for key, value in override.items():
        if isinstance(merged.get(key), dict) and isinstance(value, collections.Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


@handler("merge-settings")
def merge_settings(data):
    """``overrides`` laid over ``defaults``, nested sections merged key by key."""
    return merge(data["defaults"], data["overrides"])
'''}

FAILING = {"defaults": {"mail": {"from": "no-reply@x.io", "bcc": None}, "theme": "light"},
           "overrides": {"mail": {"bcc": "audit@x.io"}}}
ERROR = "AttributeError"
EXPECTED = {"mail": {"from": "no-reply@x.io", "bcc": "audit@x.io"}, "theme": "light"}

HISTORY = [
    {"defaults": {"theme": "light", "lang": "en"}, "overrides": {"theme": "dark"}},
    {"defaults": {"lang": "en"}, "overrides": {}},
]

ACCEPTANCE = [
    ({"defaults": {"theme": "light", "lang": "en"}, "overrides": {"theme": "dark"}}, {"theme": "dark", "lang": "en"}),
    ({"defaults": {"a": {"b": {"c": 1, "d": 2}}}, "overrides": {"a": {"b": {"d": 3}}}}, {"a": {"b": {"c": 1, "d": 3}}}),
    ({"defaults": {"a": {"b": 1}}, "overrides": {"a": 5}}, {"a": 5}),
]

FIX = {"tenants/__init__.py": [
    ("import collections\n", "from collections.abc import Mapping\n"),
    ("isinstance(merged.get(key), dict) and isinstance(value, collections.Mapping)",
     "isinstance(value, Mapping) and isinstance(merged.get(key), Mapping)"),
]}
