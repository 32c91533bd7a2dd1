"""What the memory embeds for a failure, and the named-query file format."""

from __future__ import annotations

import pytest

from smartworker.memory.chunks import (
    build_chunks,
    data_shape,
    focus_snippet,
    text_chunks,
    traceback_locations,
)
from smartworker.memory.migrations import load_migrations
from smartworker.memory.queries import QUERIES, parse_queries
from smartworker.reasoning.context import FailureContext, Location

SNIPPET = "\n".join(
    [f"    {n:4d} | line {n}" for n in range(1, 12)]
    + [">>>   12 | to = data['user']['email']"]
    + [f"    {n:4d} | line {n}" for n in range(13, 25)]
)


def _ctx(**kw: object) -> FailureContext:
    base: dict[str, object] = dict(
        queue="q", job_id="1", job_name="send_email", attempts=3,
        data={"user": {"email": "a@example.org", "id": 7}, "items": [1, 2], "note": None},
        opts={}, exception_type="KeyError", message="'email'", signature="KeyError: 'email'",
        traceback="", locations=[Location("app/a.py", 3, "outer", "handle(data)"),
                                 Location("app/b.py", 12, "handle", "to = data['user']['email']")],
        snippets=[SNIPPET],
    )
    base.update(kw)
    return FailureContext(**base)  # type: ignore[arg-type]


def test_shape_has_keys_and_types_never_values() -> None:
    shape = data_shape({"user": {"email": "secret@example.org", "id": 7}, "items": [1], "ok": True, "x": 1.5})
    assert shape == "{items: list, ok: bool, user: {email: str, id: int}, x: float}"
    assert "secret" not in shape


def test_shape_stops_at_depth() -> None:
    assert data_shape({"a": {"b": {"c": {"d": 1}}}}) == "{a: {b: {c: object}}}"


def test_focus_snippet_leads_with_the_failing_line_and_drops_numbers() -> None:
    focused = focus_snippet(SNIPPET).splitlines()
    assert focused[0] == "to = data['user']['email']"
    assert focused[1] == "--"
    assert focused[2:] == [f"line {n}" for n in range(8, 12)] + ["to = data['user']['email']"] + [
        f"line {n}" for n in range(13, 17)
    ]


def test_focus_snippet_is_the_same_when_only_line_numbers_move() -> None:
    moved = SNIPPET.replace("   12 |", "  112 |")
    assert focus_snippet(moved) == focus_snippet(SNIPPET)


def test_chunks_of_a_context() -> None:
    chunks = build_chunks(_ctx())
    by_cat = [(c.category, c.content) for c in chunks]
    assert by_cat[0] == ("error_signature", "KeyError: 'email'")
    # innermost location first
    assert by_cat[1] == ("failure_location", "app/b.py:handle: to = data['user']['email']")
    assert by_cat[2] == ("failure_location", "app/a.py:outer: handle(data)")
    assert by_cat[3][0] == "code_context"
    assert by_cat[4] == ("metadata", "job send_email data {items: list, note: null, user: {email: str, id: int}}")


def test_at_most_three_locations_and_two_snippets() -> None:
    locations = [Location(f"app/m{i}.py", i, f"f{i}", f"call{i}()") for i in range(6)]
    chunks = build_chunks(_ctx(locations=locations, snippets=[SNIPPET] * 5))
    assert sum(c.category == "failure_location" for c in chunks) == 3
    assert sum(c.category == "code_context" for c in chunks) == 2  # the innermost two frames' code
    assert next(c.content for c in chunks if c.category == "failure_location") == "app/m5.py:f5: call5()"


TRACEBACK = '''Traceback (most recent call last):
  File "/usr/lib/python3.11/asyncio/tasks.py", line 100, in run
    return fn()
  File "/srv/app/mail/welcome.py", line 12, in send_welcome
    address = user['email']
              ~~~~^^^^^^^^^
KeyError: 'email'
'''


def test_traceback_locations() -> None:
    assert traceback_locations(TRACEBACK) == [
        ("/usr/lib/python3.11/asyncio/tasks.py", "run", "return fn()"),
        ("/srv/app/mail/welcome.py", "send_welcome", "address = user['email']"),
    ]


def test_text_chunks_skip_library_frames() -> None:
    chunks = text_chunks("KeyError: 'email'", TRACEBACK, "send_welcome_email")
    assert [(c.category, c.content) for c in chunks] == [
        ("error_signature", "KeyError: 'email'"),
        ("failure_location", "/srv/app/mail/welcome.py:send_welcome: address = user['email']"),
        ("metadata", "job send_welcome_email"),
    ]


def test_every_named_query_has_a_description() -> None:
    assert {"search_chunks", "insert_failure", "count_occurrence", "list_failures", "resolve_failure"} <= set(QUERIES)
    for query in QUERIES.values():
        assert query.description and not query.description.startswith("--")
        assert query.sql and not query.sql.endswith(";")


def test_parse_queries_rejects_a_query_without_description() -> None:
    with pytest.raises(ValueError, match="description"):
        parse_queries("-- name: x\nSELECT 1;\n")


def test_migrations_are_numbered_in_order() -> None:
    versions = [m.version for m in load_migrations()]
    assert versions == sorted(versions) and versions[0] == 1
    assert "@DIMENSION@" in load_migrations()[0].sql
    assert "vector(384)" in load_migrations()[0].render(384)
