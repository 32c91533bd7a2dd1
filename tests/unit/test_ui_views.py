"""The dashboard's pure logic: the last-hour series from BullMQ's metrics layout, the gates a fix
record implies, a fix's phase, and the filters of the dead-letter list."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from smartworker.queues import DeadJob
from smartworker.ui import dead, fixes, metrics

MINUTE = 60_000


def test_series_places_the_open_minute_and_the_closed_ones() -> None:
    now = 1_000 * MINUTE + 30_000  # half way through minute 1000
    # The last finished job was in minute 998 (3 finished there so far); the list's head is minute 997.
    points = metrics.minutes(count=20, prev_ts=998 * MINUTE + 5, prev_count=17, data=[4, 0, 2], now_ms=now,
                             window=6)
    # minutes 995..1000: 995 -> data[2], 996 -> data[1], 997 -> data[0], 998 open, 999 and 1000 quiet
    assert points == [2, 0, 4, 3, 0, 0]


def test_series_without_metrics_is_all_zero() -> None:
    assert metrics.minutes(None, None, None, [], now_ms=5 * MINUTE) == [0] * metrics.WINDOW


@given(st.lists(st.integers(0, 50), max_size=120), st.integers(0, 200), st.integers(0, 90))
def test_series_always_has_the_window_and_never_goes_negative(data: list[int], extra: int, ago: int) -> None:
    now = 10_000 * MINUTE
    points = metrics.minutes(count=extra, prev_ts=now - ago * MINUTE, prev_count=extra + 5, data=data, now_ms=now)
    assert len(points) == metrics.WINDOW and min(points) >= 0
    # nothing is invented: the window holds at most what the list holds
    assert sum(points) <= sum(data)


def test_gates_of_a_fixed_candidate() -> None:
    candidate = {"index": 1, "diff": "--- a/x.py\n+++ b/x.py\n", "verdict": "fixed", "review": "yes: keeps it",
                 "outcome": {"status": "ok", "reason": "handler completed"},
                 "replays": [{"status": "ok"}, {"status": "ok"}]}
    view = fixes.candidate_view(candidate, "m")
    assert [(g.name, g.outcome) for g in view.gates] == [
        ("proposal", "passed"), ("static checks", "passed"), ("sandbox re-run of the failed job", "passed"),
        ("regression replays", "passed"), ("contract review", "passed")]
    assert view.model == "m"


def test_gates_say_where_a_candidate_was_turned_down() -> None:
    unparsed = fixes.candidate_view({"index": 1, "rejected": "unchanged: the reply returned every file"}, "m")
    assert [(g.name, g.outcome) for g in unparsed.gates] == [("proposal", "failed")]
    assert "unchanged" in unparsed.gates[0].reason
    hidden = fixes.candidate_view({"index": 2, "diff": "d", "rejected": "it swallows the KeyError"}, "m")
    assert hidden.gates[-1].name == "static checks" and hidden.gates[-1].outcome == "failed"
    regressed = fixes.candidate_view({"index": 3, "diff": "d", "verdict": "not fixed: an earlier job now fails",
                                      "outcome": {"status": "ok"}, "replays": [{"status": "error"}]}, "m")
    assert ("regression replays", "failed") in [(g.name, g.outcome) for g in regressed.gates]
    review_no = fixes.candidate_view({"index": 4, "diff": "d", "verdict": "not fixed: review", "review": "no: wrong",
                                      "outcome": {"status": "ok"}}, "m")
    assert review_no.gates[-1].outcome == "failed"


def test_gates_a_record_lists_are_shown_as_listed_and_redacted() -> None:
    candidate = {"index": 1, "model": "other-model", "gates": [
        {"name": "static", "passed": True, "reason": ""},
        {"gate": "sandbox", "outcome": "fail", "reason": "password=hunter2xyz leaked", "evidence": {"token": "abc"}},
        {"name": "review", "status": "abstain"}, "not a gate"]}
    view = fixes.candidate_view(candidate, "m")
    assert [(g.name, g.outcome) for g in view.gates] == [("static", "passed"), ("sandbox", "failed"),
                                                         ("review", "skipped")]
    assert "hunter2xyz" not in view.gates[1].reason and view.gates[1].evidence == {"token": "[REDACTED]"}
    assert view.model == "other-model"


def test_phase_follows_the_last_candidate() -> None:
    assert fixes.phase({"status": "running"}) == "reproducing the failure and searching memory"
    assert fixes.phase({"status": "running", "candidates": [{"index": 1}]}) == "asking the model for candidate 1"
    assert "sandbox" in fixes.phase({"status": "running", "candidates": [{"index": 1, "diff": "d"}]})
    assert "review" in fixes.phase({"status": "running", "candidates": [{"index": 1, "diff": "d", "verdict": "fixed"}]})
    assert fixes.phase({"status": "fixed"}) == "done: fixed"
    assert fixes.phase({"status": "running", "phase": "verifying"}) == "verifying"


def test_records_of_any_shape_render() -> None:
    assert fixes.candidates_of({"candidates": "garbage"}) == []
    assert fixes.seconds_to_verdict({"created_on": 1000, "finished_on": 3500}) == 2.5
    assert fixes.seconds_to_verdict({"created_on": 1000, "finished_on": None}) is None
    assert fixes.models_of({"candidates": [{"model": "b"}, {"model": "a"}, {}]}, "d") == ["a", "b"]
    assert fixes.models_of({}, "d") == ["d"]
    assert 'class="hl"' in fixes.highlight_diff("--- a\n+++ b\n@@ -1 +1 @@\n-x\n+y\n")


def _dead(name: str, reason: str, data: dict[str, object], job_id: str = "7") -> DeadJob:
    trace = f'Traceback (most recent call last):\n  File "app.py", line 3, in handle\n{reason}\n'
    return DeadJob(id=f"q__{job_id}", name=name, data=data, opts={}, queue="q", job_id=job_id,
                   failed_reason=reason.split(": ", 1)[1], stacktrace=[trace], attempts_made=3, timestamp=1,
                   processed_on=None, finished_on=None, moved_on=2)


def test_the_same_bug_with_other_data_has_one_signature() -> None:
    a = dead.row_of(_dead("login", "KeyError: 'user 12 missing'", {}))
    b = dead.row_of(_dead("login", "KeyError: 'user 13 missing'", {}, job_id="8"))
    c = dead.row_of(_dead("signup", "KeyError: 'user 12 missing'", {}, job_id="9"))
    assert a.signature == b.signature and a.signature_hash == b.signature_hash
    assert a.signature_hash != c.signature_hash  # another handler, another bug


def test_filter_matches_text_but_never_a_secret() -> None:
    job = _dead("login", "ValueError: bad", {"email": "ann@example.com", "password": "Sup3rSecret!"})
    row = dead.row_of(job)
    raw = '{"job": {"data": {"email": "ann@example.com", "password": "Sup3rSecret!"}}}'
    assert dead.DeadFilter(text="ann@example").matches(row, raw)
    assert dead.DeadFilter(text="q__7").matches(row, raw)
    assert not dead.DeadFilter(text="Sup3rSecret").matches(row, raw)
    assert dead.DeadFilter(signature=row.signature_hash).matches(row, raw)
    assert not dead.DeadFilter(signature="0" * 16).matches(row, raw)
    assert "Sup3rSecret" not in row.data_preview


def test_a_record_with_listed_gates_and_a_review_renders() -> None:
    """Records written by the gates list and the review workflow (fields this page does not own)."""
    from starlette.requests import Request

    from smartworker.redaction import redact
    from smartworker.ui.render import templates

    record = {"id": "f1", "status": "fixed", "job_name": "login", "job_id": "9", "dlq_id": "login__9",
              "signature": "KeyError: 'email'", "diff": "--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\n",
              "created_on": 1000, "finished_on": 2000, "abstained": None, "unknown_new_field": {"x": 1},
              "review": {"state": "approved", "steps": [{"state": "approved", "by": "ann", "at": 1500, "note": ""}],
                         "branch": "smartworker/fix/f1", "pr_url": "http://127.0.0.1/pr/1",
                         "heal": {"state": "done", "total": 3, "healed": 3, "failed": 0}},
              "candidates": [{"index": 1, "model": "big-model", "diff": "d", "verdict": "fixed", "gates": [
                  {"gate": "syntax", "policy": "veto", "outcome": "passed", "reason": "", "evidence": {}},
                  {"gate": "replays", "policy": "inform", "outcome": "not_run", "reason": "vetoed first"}]}]}
    request = Request({"type": "http", "method": "GET", "path": "/ui/fixes/f1", "headers": [], "query_string": b""})
    candidates = [fixes.candidate_view(c, "m") for c in fixes.candidates_of(record)]
    html = templates.env.get_template("fix.html").render(
        request=request, visitor=None, notice=None, record=redact(record), fix_id="f1", candidates=candidates,
        diff_html=fixes.highlight_diff(record["diff"]), phase=fixes.phase(record), running=False, seconds=1.0,
        models=fixes.models_of(record, "m"), similar=[], extra={"unknown_new_field": {"x": 1}},
        review=record["review"])
    assert "big-model" in html and "not run" in html and "veto" in html
    assert "smartworker/fix/f1" in html and "3 of 3 dead jobs completed" in html and "unknown new field" in html
    assert fixes.review_state(record) == "approved" and fixes.phase({"status": "abstained"}).startswith("done")
