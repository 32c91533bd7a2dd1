"""Failure context: signatures, traceback parsing, locations, snippets and extraction."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartworker.reasoning.context import (
    FailureContext,
    Frame,
    Location,
    error_signature,
    extract,
    failing_location,
    failure_locations,
    focused_snippet,
    last_exception_frames,
    last_traceback,
    normalise_message,
    parse_traceback,
    read_sources,
    split_failure,
)
from smartworker.redaction import REDACTED

SETTINGS = settings(max_examples=300, deadline=None)

# -- signatures ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("job 1234 failed for user_id=77", "job 98 failed for user_id=3"),
        ("row 123e4567-e89b-12d3-a456-426614174000 missing", "row 00000000-0000-4000-8000-000000000000 missing"),
        ("<Conn object at 0x7f3a2b1c9d00> closed", "<Conn object at 0x55aa10> closed"),
        ("at 2026-11-23T09:01:00Z", "at 2025-01-02 10:11:12.345+01:00"),
        ("deadline 1700000000123 passed", "deadline 1699999999000 passed"),
        ("expected 3 items, got 5", "expected 1 item, got 12"),
        ("takes 1 positional argument but 2 were given", "takes 2 positional arguments but 3 were given"),
        ("took 1,000.5 ms", "took 12 ms"),
        ("id=abc123 bad", "id=zz9 bad"),
        ("key bull:login:1234 lost", "key bull:login:77 lost"),
        ("commit 5e884898da28047151d0 bad", "commit 0a1b2c3d4e5f60718293 bad"),
        ("value   with\n  spaces", "value with spaces"),
        ("bad '" + "x" * 40 + "1'", "bad '" + "x" * 40 + "22'"),
    ],
)
def test_same_bug_same_signature(a: str, b: str) -> None:
    assert error_signature("ValueError", a) == error_signature("ValueError", b)


def test_signature_shape_and_placeholders() -> None:
    sig = error_signature(
        "RuntimeError", "job 12 at 2026-11-23T09:01:00Z uuid 123e4567-e89b-12d3-a456-426614174000 0xdead n=5"
    )
    assert sig == "RuntimeError: job <ID> at <TIMESTAMP> uuid <UUID> <HEX> n=<N>"
    assert error_signature("KeyError", "'password'") == "KeyError: 'password'"
    assert error_signature("StopIteration", "") == "StopIteration"


def test_signature_keeps_identifiers_and_masks_secrets() -> None:
    assert error_signature("KeyError", "'address2'") != error_signature("KeyError", "'address1'")
    assert "hunter2" not in error_signature("ValueError", "bad login password=hunter2")
    assert REDACTED in error_signature("ValueError", "bad login password=hunter2")


def test_long_quoted_values_are_truncated() -> None:
    sig = error_signature("ValueError", "bad '" + "y" * 100 + "'")
    assert sig == "ValueError: bad '" + "y" * 40 + "…'"


def test_different_bugs_differ() -> None:
    assert error_signature("KeyError", "'email'") != error_signature("KeyError", "'password'")
    assert error_signature("KeyError", "'email'") != error_signature("TypeError", "'email'")


messages = st.one_of(
    st.text(max_size=200),
    st.lists(
        st.sampled_from(
            [
                "job ",
                "id=",
                "0x",
                "1f",
                "12",
                "2026-11-23",
                "T09:01:00Z",
                " ",
                "'",
                '"',
                "abc",
                "s ",
                "were ",
                "1700000000",
                "123e4567-e89b-12d3-a456-426614174000",
                "<N>",
                "<ID>",
                "password=",
                "x" * 45,
                "…",
            ]
        ),
        max_size=30,
    ).map("".join),
)


@SETTINGS
@given(messages)
def test_normalise_is_idempotent(message: str) -> None:
    once = normalise_message(message)
    assert normalise_message(once) == once
    assert error_signature("E", once) == error_signature("E", message)


@SETTINGS
@given(st.integers(0, 10**12), st.integers(0, 10**12), st.uuids(), st.uuids())
def test_placeholders_are_stable(n1: int, n2: int, u1: object, u2: object) -> None:
    def msg(n: int, u: object) -> str:
        return f"job {n} for {u} failed after {n % 7} tries at 0x{n:x}"

    assert error_signature("E", msg(n1, u1)) == error_signature("E", msg(n2, u2))


# -- tracebacks ------------------------------------------------------------------------------------

SIMPLE = """Traceback (most recent call last):
  File "/usr/lib/python3.11/site-packages/bullmq/worker.py", line 412, in processJob
    result = await self.processor(job, token)
             ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "{root}/swdemo/login.py", line 18, in handle
    digest = hashlib.sha256(data["password"].encode()).hexdigest()
                            ~~~~^^^^^^^^^^^^
KeyError: 'password'
"""

CHAINED = """Traceback (most recent call last):
  File "{root}/svc/parse.py", line 4, in load
    return json.loads(text)
  File "/usr/lib/python3.11/json/__init__.py", line 346, in loads
    return _default_decoder.decode(s)
           ^^^^^^^^^^^^^^^^^^^^^^^^^^
json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "<string>", line 1, in <module>
  File "<frozen runpy>", line 88, in _run_code
  File "{root}/svc/handler.py", line 9, in handle
    payload = load(data["body"])
  File "{root}/svc/parse.py", line 6, in load
    raise ValueError("bad body:\\n  first line\\n  second line")
ValueError: bad body:
  first line
  second line
"""


def test_parse_simple_traceback_ignores_caret_lines() -> None:
    frames = parse_traceback(SIMPLE.format(root="/app"))
    assert frames == [
        Frame(
            "/usr/lib/python3.11/site-packages/bullmq/worker.py",
            412,
            "processJob",
            "result = await self.processor(job, token)",
        ),
        Frame("/app/swdemo/login.py", 18, "handle", 'digest = hashlib.sha256(data["password"].encode()).hexdigest()'),
    ]


def test_parse_chained_keeps_all_frames_and_knows_the_last() -> None:
    text = CHAINED.format(root="/app")
    frames = parse_traceback(text)
    assert [f.function for f in frames] == ["load", "loads", "<module>", "_run_code", "handle", "load"]
    assert frames[2] == Frame("<string>", 1, "<module>", "")
    assert frames[3].file == "<frozen runpy>"
    assert [f.function for f in last_exception_frames(text)] == ["<module>", "_run_code", "handle", "load"]


def test_split_failure_variants() -> None:
    assert split_failure("'password'", SIMPLE.format(root="/app")) == ("KeyError", "'password'")
    assert split_failure("x", CHAINED.format(root="/a")) == ("ValueError", "bad body:\n  first line\n  second line")
    json_only = CHAINED.format(root="/a").split("\n\nDuring handling")[0]
    assert split_failure("x", json_only) == (
        "json.decoder.JSONDecodeError",
        "Expecting value: line 1 column 1 (char 0)",
    )
    no_message = (
        'Traceback (most recent call last):\n  File "/a/x.py", line 1, in f\n    raise StopIteration\nStopIteration\n'
    )
    assert split_failure("", no_message) == ("StopIteration", "")
    cause = CHAINED.replace(
        "During handling of the above exception, another exception occurred:",
        "The above exception was the direct cause of the following exception:",
    )
    assert split_failure("", cause.format(root="/a"))[0] == "ValueError"


def test_split_failure_falls_back_to_failed_reason() -> None:
    assert split_failure("ValueError: boom", "") == ("ValueError", "boom")
    assert split_failure("'password'", "") == ("Error", "'password'")
    assert split_failure("connection refused", "not a traceback at all") == ("Error", "connection refused")
    assert split_failure("", "") == ("Error", "")


def test_syntax_error_frame_without_function() -> None:
    text = (
        'Traceback (most recent call last):\n  File "/a/m.py", line 3\n    def f(:\n          ^\n'
        "SyntaxError: invalid syntax\n"
    )
    assert parse_traceback(text) == [Frame("/a/m.py", 3, "", "def f(:")]
    assert split_failure("", text) == ("SyntaxError", "invalid syntax")


@SETTINGS
@given(st.text(max_size=500))
def test_parsers_never_crash(text: str) -> None:
    parse_traceback(text)
    split_failure(text[:20], text)


# -- locations, snippets, sources ------------------------------------------------------------------


@pytest.fixture
def app(tmp_path: Path) -> Path:
    root = tmp_path / "app"
    (root / "swdemo").mkdir(parents=True)
    (root / "swdemo" / "login.py").write_text("".join(f"line{i} = {i}\n" for i in range(1, 41)))
    (root / "svc").mkdir()
    (root / "svc" / "handler.py").write_text("def handle(data):\n    return load(data)\n" * 3)
    (root / "svc" / "parse.py").write_text("import json\n\n\ndef load(text):\n    x = 1\n    raise ValueError\n")
    return root


def test_locations_only_inside_app_root(app: Path, tmp_path: Path) -> None:
    sibling = tmp_path / "app2"
    sibling.mkdir()
    frames = [
        Frame("/usr/lib/python3.11/json/__init__.py", 1, "loads", ""),
        Frame(f"{sibling}/evil.py", 3, "f", ""),  # string-prefix match of /app only
        Frame("<string>", 1, "<module>", ""),
        Frame(f"{app}/svc/handler.py", 2, "handle", "return load(data)"),
        Frame(f"{app}/svc/../svc/parse.py", 6, "load", "raise ValueError"),
    ]
    locations = failure_locations(frames, app)
    assert locations == [
        Location("svc/handler.py", 2, "handle", "return load(data)"),
        Location("svc/parse.py", 6, "load", "raise ValueError"),
    ]
    assert failing_location(locations) == Location("svc/parse.py", 6, "load", "raise ValueError")


def test_locations_follow_symlinks(app: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.py"
    outside.write_text("x = 1\n")
    os.symlink(outside, app / "link.py")
    inner = tmp_path / "alias"
    os.symlink(app, inner)  # a path through a symlink to the root is inside
    frames = [Frame(f"{app}/link.py", 1, "f", ""), Frame(f"{inner}/svc/parse.py", 6, "load", "")]
    assert failure_locations(frames, app) == [Location("svc/parse.py", 6, "load", "")]


def test_locations_dedupe_keeps_innermost(app: Path) -> None:
    a = Frame(f"{app}/svc/parse.py", 5, "load", "")
    b = Frame(f"{app}/svc/handler.py", 2, "handle", "")
    locations = failure_locations([a, b, a], app)
    assert [loc.path for loc in locations] == ["svc/handler.py", "svc/parse.py"]
    assert failing_location(locations) == Location("svc/parse.py", 5, "load", "")
    assert failing_location([]) is None


def test_focused_snippet_marks_the_line(app: Path) -> None:
    snippet = focused_snippet(app, Location("swdemo/login.py", 18, "handle", ""))
    lines = snippet.splitlines()
    assert lines[0] == "swdemo/login.py, line 18, in handle"
    assert lines[1] == "     6 | line6 = 6"
    assert ">>> 18 | line18 = 18" in lines
    assert lines[-1] == "    30 | line30 = 30"
    assert len(lines) == 1 + 25
    edge = focused_snippet(app, Location("swdemo/login.py", 2, "f", ""), radius=1).splitlines()
    assert edge[1:] == ["    1 | line1 = 1", ">>> 2 | line2 = 2", "    3 | line3 = 3"]


def test_snippet_and_sources_never_read_outside(app: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.py"
    secret.write_text("TOKEN = 'x'\n")
    os.symlink(secret, app / "link.py")
    for path in ("../secret.py", str(secret), "link.py", "missing.py"):
        loc = Location(path, 1, "f", "")
        assert focused_snippet(app, loc) == ""
        assert read_sources(app, [loc]) == {}


def test_read_sources_caps_and_orders(app: Path) -> None:
    locs = [Location("svc/handler.py", 2, "handle", ""), Location("swdemo/login.py", 18, "f", "")]
    sources = read_sources(app, locs, cap_bytes=50)
    assert list(sources) == ["swdemo/login.py", "svc/handler.py"]  # innermost first
    capped = sources["swdemo/login.py"]
    assert capped.startswith("line1 = 1\n")
    assert "# [truncated by SmartWorker:" in capped
    assert len(capped.split("\n# [truncated")[0].encode()) <= 50
    assert read_sources(app, locs)["svc/handler.py"] == (app / "svc/handler.py").read_text()


# -- extract ---------------------------------------------------------------------------------------


def test_extract_uses_last_attempt_and_redacts(app: Path) -> None:
    (app / "svc" / "parse.py").write_text(
        "import json\n\n\ndef load(text):\n    x = 'password=hunter2'\n    raise ValueError\n"
    )
    first = SIMPLE.format(root=app)
    last = CHAINED.format(root=app).replace("bad body:", "bad body token=abcd1234:")
    ctx = extract(
        queue="login",
        job_id="42",
        job_name="login",
        attempts=3,
        data={"email": "a@example.com", "password": "hunter2"},
        opts={"attempts": 3, "headers": {"Authorization": "Bearer abcdef123456"}},
        failed_reason="bad body",
        stacktrace=[first, last],
        app_root=app,
    )
    assert ctx.exception_type == "ValueError"
    assert ctx.message.startswith(f"bad body token={REDACTED}:")
    assert ctx.signature.startswith(f"ValueError: bad body token={REDACTED}:")
    assert ctx.data == {"email": "a@example.com", "password": REDACTED}
    assert ctx.opts["headers"] == {"Authorization": REDACTED}
    assert "abcd1234" not in ctx.traceback
    # locations come from the last exception of the chain only
    assert [(loc.path, loc.line) for loc in ctx.locations] == [("svc/handler.py", 9), ("svc/parse.py", 6)]
    failing = ctx.failing_location
    assert failing is not None
    assert (failing.path, failing.line, failing.function) == ("svc/parse.py", 6, "load")
    assert failing.code.startswith(f'raise ValueError("bad body token={REDACTED}')  # code is redacted too
    assert ctx.snippets[0].startswith("svc/parse.py, line 6")  # innermost first
    assert list(ctx.sources) == ["svc/parse.py", "svc/handler.py"]
    assert "hunter2" not in ctx.sources["svc/parse.py"]
    assert "hunter2" not in ctx.snippets[0]
    assert len(ctx.frames) == 6


def test_extract_accepts_the_redis_json_stacktrace(app: Path) -> None:
    tb = SIMPLE.format(root=app)
    assert last_traceback(json.dumps(["old", tb])) == tb
    assert last_traceback([tb, ""]) == tb
    assert last_traceback("plain") == "plain"
    ctx = extract(
        queue="q",
        job_id="1",
        job_name="login",
        attempts=1,
        data={},
        opts={},
        failed_reason="'password'",
        stacktrace=json.dumps([tb]),
        app_root=app,
    )
    assert ctx.signature == "KeyError: 'password'"
    assert ctx.locations == [
        Location("swdemo/login.py", 18, "handle", 'digest = hashlib.sha256(data["password"].encode()).hexdigest()')
    ]


def test_failure_context_json_round_trip(app: Path) -> None:
    ctx = extract(
        queue="q",
        job_id="7",
        job_name="login",
        attempts=2,
        data={"a": [1, {"b": None}]},
        opts={"attempts": 2},
        failed_reason="x",
        stacktrace=[CHAINED.format(root=app)],
        app_root=app,
    )
    assert FailureContext.from_json(ctx.to_json()) == ctx
    assert FailureContext.from_dict(json.loads(json.dumps(ctx.to_dict()))) == ctx
    assert FailureContext.from_dict(ctx.to_dict()).signature_hash == ctx.signature_hash
