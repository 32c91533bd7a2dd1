"""Planted failure scenarios, one per ``data["scenario"]``; only registered with HAZARD_TESTING=true.

Each scenario fails the way its name says when the job data provokes it and succeeds otherwise, so a
test can tell a real fix from a swallowed error.
"""

import json
import os
import posixpath

MAX_SAFE_INTEGER = 2**53
MAX_DEPTH = 64
MAX_PAYLOAD = 1_000_000


def num_ten(data):
    if data["num"] == 10:
        raise ValueError("num must not be 10")
    return data["num"]


def missing_env(data):
    return os.environ["TEST_ENV_VAR"]


def wrong_type(data):
    return data["count"] + 1


def missing_field(data):
    return data["user"]["id"]


def null_value(data):
    return data["user"]["name"].upper()


def malformed_nested(data):
    return sum(item["price"] for item in data["order"]["items"])


def array_instead_of_object(data):
    return data["profile"]["email"]


def invalid_path(data):
    path = posixpath.normpath(data["path"])
    if path.startswith(("/", "..")):
        raise ValueError(f"path escapes the workspace: {data['path']}")
    return path


def division_by_zero(data):
    return data["total"] / data["count"]


def negative_index(data):
    items = data.get("items", [1, 2, 3])
    return items[data["index"]]


def big_integer(data):
    value = int(data["value"])
    if abs(value) > MAX_SAFE_INTEGER:
        raise OverflowError(f"integer {value} is above 2**53 and loses precision in JavaScript")
    return value


def empty_key(data):
    fields = data["fields"]
    for key in fields:
        if not key:
            raise KeyError("empty key in fields")
    return sorted(fields)


def _depth(value, level=0):
    if level > MAX_DEPTH:
        raise RecursionError(f"nesting deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        return max([_depth(v, level + 1) for v in value.values()], default=level)
    if isinstance(value, list):
        return max([_depth(v, level + 1) for v in value], default=level)
    return level


def deep_nesting(data):
    return _depth(data["tree"])


def control_characters(data):
    text = data["text"]
    bad = [hex(ord(ch)) for ch in text if ord(ch) < 32 and ch not in "\t\n"]
    if bad:
        raise ValueError(f"control characters in text: {', '.join(bad)}")
    return text


def bad_unicode(data):
    return data["text"].encode("utf-8").decode("utf-8")


def large_payload(data):
    size = len(json.dumps(data))
    if size > MAX_PAYLOAD:
        raise MemoryError(f"payload of {size} bytes is over the {MAX_PAYLOAD} byte limit")
    return size


SCENARIOS = {
    "num_ten": num_ten,
    "missing_env": missing_env,
    "wrong_type": wrong_type,
    "missing_field": missing_field,
    "null_value": null_value,
    "malformed_nested": malformed_nested,
    "array_instead_of_object": array_instead_of_object,
    "invalid_path": invalid_path,
    "division_by_zero": division_by_zero,
    "negative_index": negative_index,
    "big_integer": big_integer,
    "empty_key": empty_key,
    "deep_nesting": deep_nesting,
    "control_characters": control_characters,
    "bad_unicode": bad_unicode,
    "large_payload": large_payload,
}


def handle(data):
    scenario = data.get("scenario", "num_ten")
    if scenario not in SCENARIOS:
        raise LookupError(f"unknown hazard scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
    return {"scenario": scenario, "result": SCENARIOS[scenario](data)}
