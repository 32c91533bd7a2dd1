"""The progress line of a fix record, as GET /fixes/{id}, the CLI and the dashboard show it."""

from __future__ import annotations

from typing import Any

from smartworker.reasoning.progress import Phase, Progress, describe, view

CREATED = 1_700_000_000_000


def record(status: str = "running", **extra: Any) -> dict[str, Any]:
    return {"status": status, "created_on": CREATED, "finished_on": None, "prompt_tokens": 1200,
            "completion_tokens": 300, **extra}


def test_a_candidate_phase_names_k_of_n_and_the_clock_runs_to_now() -> None:
    stored = Progress(Phase.ASKING.value, 2, 4, CREATED + 60_000).__dict__
    shown = view(record(progress=stored), now=CREATED + 95_000)
    assert shown == {"phase": "asking the model", "candidate": 2, "candidates": 4, "elapsed_s": 95.0,
                     "phase_elapsed_s": 35.0, "tokens": 1500,
                     "text": "asking the model (candidate 2 of 4), 95 s, 1,500 tokens"}


def test_a_phase_outside_the_candidates_shows_no_candidate() -> None:
    stored = Progress(Phase.SEARCHING_MEMORY.value, 3, 4, CREATED + 10_000).__dict__
    shown = view(record(progress=stored), now=CREATED + 12_000)
    assert shown["candidate"] == 0 and shown["text"] == "searching memory, 12 s, 1,500 tokens"


def test_a_finished_record_is_done_and_its_clock_stops_at_the_verdict() -> None:
    stored = Progress(Phase.VERIFYING.value, 1, 4, CREATED).__dict__
    shown = view(record("not_fixed", progress=stored, finished_on=CREATED + 200_000), now=CREATED + 999_000)
    assert (shown["phase"], shown["elapsed_s"], shown["phase_elapsed_s"]) == ("done", 200.0, 0.0)


def test_a_record_written_before_progress_existed_is_still_shown() -> None:
    shown = view({"status": "running", "created_on": CREATED}, now=CREATED + 5_000)
    assert (shown["phase"], shown["elapsed_s"], shown["tokens"]) == ("reproducing", 5.0, 0)
    assert Progress.from_dict({"phase": "verifying", "candidate": 1, "unknown": True}).candidate == 1


def test_the_line_reads_as_a_sentence() -> None:
    assert describe("verifying", 1, 4, 61.4, 12345) == "verifying (candidate 1 of 4), 61 s, 12,345 tokens"


def test_the_dashboard_fix_page_shows_the_same_line_while_running() -> None:
    from smartworker.ui import fixes

    stored = Progress(Phase.VERIFYING.value, 3, 4, CREATED).__dict__
    line = fixes.phase(record(progress=stored, created_on=CREATED - 1_000_000_000))
    assert line.startswith("verifying (candidate 3 of 4), ") and line.endswith(" s, 1,500 tokens")
    assert fixes.phase(record("fixed", progress=stored)) == "done: fixed"
