"""The shop: a small application whose handler fails when producers send ``full_name`` instead of
``name``, the fix a reviewer would accept, and a fix record as the resolver leaves a verified fix.
Shared by the fix-delivery, heal and end-to-end tests."""

from __future__ import annotations

from pathlib import Path

from smartworker.reasoning.edits import unified_diff
from smartworker.reasoning.records import Candidate, FixRecord, FixStatus

TASKS = '''"""The shop's jobs."""

from smartworker import handler


@handler("greet")
def greet(data):
    """Greets the customer by name: {"greeting": "Hello, <Name>!"}."""
    name = data.get("name")
    return {"greeting": f"Hello, {name.strip().title()}!"}
'''
FIXED = TASKS.replace('name = data.get("name")', 'name = data.get("name") or data.get("full_name") or ""')
SIGNATURE = "AttributeError: 'NoneType' object has no attribute 'strip'"
SUMMARY = "Producers now send full_name instead of name; the handler reads either."


def verified(app_root: Path, files: dict[str, str]) -> FixRecord:
    """A fix record as the resolver leaves a verified fix of ``files`` (new text by path)."""
    record = FixRecord.new("q__1", "q", "1", "greet")
    originals = {rel: (app_root / rel).read_text() for rel in files if (app_root / rel).is_file()}
    record.status, record.signature, record.summary = FixStatus.FIXED, SIGNATURE, SUMMARY
    record.reason = "candidate 1: the failed job completes"
    record.diff = unified_diff(originals, files)
    record.candidates = [Candidate(1, diff=record.diff, verdict="fixed", review="yes: keeps the docstring",
                                   outcome={"status": "ok", "duration_s": 0.21}, replays=[{"status": "ok"}])]
    return record
