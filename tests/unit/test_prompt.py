"""The fix prompt: what the model is shown, and in what shape."""

from __future__ import annotations

from pathlib import Path

from smartworker.reasoning.context import FailureContext, extract
from smartworker.reasoning.prompt import (
    CALLEE_FRAMES,
    Feedback,
    MemoryHint,
    app_traceback,
    failing_values,
    fix_messages,
)

APP_SOURCE = '''"""Orders."""


def total(data):
    """Sum of line prices; a line without a price is a data error."""
    return sum(parse(line["price"]) for line in data["lines"])


def parse(text):
    return int(text)
'''


def failed_context(root: Path) -> FailureContext:
    (root / "orders.py").write_text(APP_SOURCE)
    app = root / "orders.py"
    traceback = f"""Traceback (most recent call last):
  File "/usr/lib/python3.11/site-packages/bullmq/worker.py", line 400, in processJob
    result = await self.processFn(job, token)
  File "/srv/smartworker/jobs.py", line 98, in __call__
    result = await asyncio.to_thread(self.fn, data)
  File "{app}", line 6, in total
    return sum(parse(line["price"]) for line in data["lines"])
  File "{app}", line 6, in <genexpr>
    return sum(parse(line["price"]) for line in data["lines"])
  File "{app}", line 10, in parse
    return int(text)
  File "/usr/lib/python3.11/decimal_shim.py", line 12, in convert
    return _convert(text)
  File "/usr/lib/python3.11/decimal_shim.py", line 30, in _convert
    raise ValueError(f"invalid literal for int() with base 10: {{text!r}}")
  File "/usr/lib/python3.11/decimal_shim.py", line 31, in _raise
    pass
ValueError: invalid literal for int() with base 10: '12.50'
"""
    return extract(queue="orders", job_id="7", job_name="total", attempts=3,
                   data={"lines": [{"price": "12.50"}], "password": "hunter2"}, opts={},
                   failed_reason="invalid literal for int() with base 10: '12.50'", stacktrace=[traceback],
                   app_root=root)


def test_traceback_keeps_application_frames_and_the_callees_only(tmp_path: Path) -> None:
    shown = app_traceback(failed_context(tmp_path))
    lines = shown.splitlines()
    # The worker's frames above the handler are left out and counted.
    assert "bullmq" not in shown and "jobs.py" not in shown
    assert lines[0] == "Traceback (application frames; 2 outer library frames left out):"
    # Application frames are shown by their path relative to the app root, outermost first.
    assert lines[1] == '  File "orders.py", line 6, in total'
    assert [ln for ln in lines if ln.startswith('  File "orders.py"')][-1] == '  File "orders.py", line 10, in parse'
    # Below the innermost application frame, only the first few library frames it called into.
    assert shown.count("decimal_shim.py") == CALLEE_FRAMES
    assert "_raise" not in shown
    assert lines[-1] == "ValueError: invalid literal for int() with base 10: '12.50'"


def test_traceback_without_application_frames_is_shown_raw(tmp_path: Path) -> None:
    ctx = extract(queue="q", job_id="1", job_name="n", attempts=1, data={}, opts={}, failed_reason="boom",
                  stacktrace=['Traceback (most recent call last):\n  File "/usr/lib/x.py", line 1, in f\n'
                              '    g()\nRuntimeError: boom\n'], app_root=tmp_path)
    assert app_traceback(ctx).startswith("Traceback (most recent call last):")
    assert "/usr/lib/x.py" in app_traceback(ctx)


def test_fix_prompt_sections_in_order_and_redacted(tmp_path: Path) -> None:
    messages = fix_messages(failed_context(tmp_path))
    assert [m["role"] for m in messages] == ["system", "user"]
    user = messages[1]["content"]
    headings = ["## Job", "## Error", "## Where it failed", "## Traceback", "## Code around the failing lines",
                "## Full source", "## Task"]
    positions = [user.index(h) for h in headings]
    assert positions == sorted(positions)
    assert ">>>" in user and "# File: orders.py" in user and "hunter2" not in user
    assert "A similar failure fixed before" not in user


def test_memory_and_feedback_turns(tmp_path: Path) -> None:
    ctx = failed_context(tmp_path)
    hint = MemoryHint("ValueError: invalid literal", "Parse prices as Decimal.", "-int(text)\n+Decimal(text)", 0.91)
    messages = fix_messages(ctx, memory=hint, feedback=Feedback("# File: orders.py\n...", "still fails",
                                                                "TypeError: x"))
    assert "A similar failure fixed before (similarity 0.91)" in messages[1]["content"]
    assert "+Decimal(text)" in messages[1]["content"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert "still fails" in messages[3]["content"] and "TypeError: x" in messages[3]["content"]


def test_failing_values_section_is_redacted_and_absent_when_empty(tmp_path: Path) -> None:
    ctx = failed_context(tmp_path)
    values = {"campaign": "{'name': 'newsletter', 'visits': 0}", "api_token": "'tok_live_abc'",
              "note": "'password=hunter2'"}
    user = fix_messages(ctx, values=values)[1]["content"]
    assert "## Values on the failing line when it raised" in user
    assert user.index("## Traceback") < user.index("## Values on the failing line") < user.index("## Code around")
    assert "campaign = {'name': 'newsletter', 'visits': 0}" in user
    assert "api_token = [REDACTED]" in user and "tok_live_abc" not in user
    assert "hunter2" not in user
    assert "## Values on the failing line" not in fix_messages(ctx)[1]["content"]
    assert failing_values({}) == ""
    # Values are Python reprs: secrets inside a dict's repr are masked too.
    shown = failing_values({"data": "{'email': 'a@b.c', 'password': 'wonderland'}"})
    assert shown == "data = {'email': 'a@b.c', 'password': '[REDACTED]'}"


def test_feedback_carries_the_new_runs_values(tmp_path: Path) -> None:
    ctx = failed_context(tmp_path)
    messages = fix_messages(ctx, feedback=Feedback("# File: orders.py\n...", "still fails", "TypeError: x",
                                                   {"total": "None"}))
    assert "total = None" in messages[3]["content"]


def test_a_fresh_ask_lists_earlier_attempts_by_reason_only(tmp_path: Path) -> None:
    ctx = failed_context(tmp_path)
    messages = fix_messages(ctx, earlier=["the failing job still fails (error: TypeError: x)", "unchanged"])
    assert [m["role"] for m in messages] == ["system", "user"]
    user = messages[1]["content"]
    assert "## Earlier attempts that did not work" in user
    assert "- attempt 1: the failing job still fails (error: TypeError: x)\n- attempt 2: unchanged" in user
    assert user.index("## Full source") < user.index("## Earlier attempts") < user.index("## Task")
    assert "## Earlier attempts" not in fix_messages(ctx)[1]["content"]


def test_reasons_sent_back_are_redacted(tmp_path: Path) -> None:
    ctx = failed_context(tmp_path)
    leak = "the failing job still fails (error: handler raised ValueError: bad login password=hunter2)"
    retry = fix_messages(ctx, feedback=Feedback("# File: orders.py\n...", leak))[3]["content"]
    fresh = fix_messages(ctx, earlier=[leak])[1]["content"]
    for text in (retry, fresh):
        assert "bad login" in text and "hunter2" not in text


def test_how_the_data_differs_from_earlier_jobs_sits_under_the_values(tmp_path: Path) -> None:
    ctx = failed_context(tmp_path)
    earlier = [{"lines": [{"price": 1250}], "password": "swordfish", "coupon": "A-1"},
               {"lines": [{"price": 99}], "password": "opensesame", "coupon": "B-2"}]
    user = fix_messages(ctx, values={"text": "'12.50'"}, earlier_data=earlier)[1]["content"]
    section = "## How this job's data differs from the handler's recent successful jobs"
    assert user.index("## Values on the failing line") < user.index(section) < user.index("## Code around")
    assert ('- `data["coupon"]` is missing here; every earlier job had it\n'
            '- `data["lines"][i]["price"]` is a string here; in earlier jobs it was always a number\n') in user
    assert "swordfish" not in user and "opensesame" not in user
    assert section not in fix_messages(ctx)[1]["content"]

