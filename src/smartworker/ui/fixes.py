"""Reading fix records for the pages, defensively.

Records are read as the JSON they are stored as, not through ``FixRecord.from_dict``: fields are
added while records already exist (gate outcomes, a model per candidate, review states), and a page
must show an older or newer record rather than fail on it. Every gate a candidate passed or failed
becomes one row (name, outcome, reason); a record that lists its gates is shown as it lists them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import DiffLexer

from smartworker import keys
from smartworker.reasoning.progress import view as progress_view
from smartworker.redaction import redact, redact_text

#: Record statuses that end a resolution (the rest are still running).
FINAL = frozenset({"fixed", "not_fixed", "abstained", "error", "attached"})
#: The CSS class every highlighted diff is rendered under (its style sheet is served by the app).
HIGHLIGHT_CLASS = "hl"


@dataclass(frozen=True)
class Gate:
    """One check a candidate met: its name, "passed" / "failed" / "skipped", and why."""

    name: str
    outcome: str
    reason: str = ""
    evidence: Any = None
    policy: str = ""  #: "veto" (a failure sends the candidate back) or "inform", when the record says


@dataclass
class CandidateView:
    """One candidate as a fix page shows it."""

    index: int
    model: str
    verdict: str
    diff_html: str
    gates: list[Gate] = field(default_factory=list)
    outcome: dict[str, Any] | None = None  #: the failing job's run in the sandbox
    replays: list[dict[str, Any]] = field(default_factory=list)
    variants: list[dict[str, Any]] = field(default_factory=list)
    llm_s: float = 0.0
    sandbox_s: float = 0.0
    tokens: int = 0
    reviewer: str = ""  #: the model that gave the contract review, when it says


def candidates_of(record: dict[str, Any]) -> list[dict[str, Any]]:
    """A record's candidates, skipping anything that is not one."""
    return [c for c in _list(record.get("candidates")) if isinstance(c, dict)]


def highlight_diff(diff: str) -> str:
    """A unified diff as highlighted HTML (Pygments), or "" for none."""
    if not diff.strip():
        return ""
    html: str = highlight(diff, DiffLexer(), HtmlFormatter(cssclass=HIGHLIGHT_CLASS))
    return html


def highlight_css() -> str:
    """The style sheet of highlighted diffs."""
    css: str = HtmlFormatter(style="default").get_style_defs(f".{HIGHLIGHT_CLASS}")
    return css


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _outcome_of(value: Any) -> str:
    """A gate's outcome from whatever the record calls it."""
    if isinstance(value, bool):
        return "passed" if value else "failed"
    text = _str(value).lower()
    if text in {"ok", "pass", "passed", "accepted", "yes", "fixed", "true"}:
        return "passed"
    if text in {"skip", "skipped", "abstain", "abstained", "n/a", "none", ""}:
        return "skipped"
    if text in {"not_run", "not run"}:
        return "not run"
    return "failed"


def _listed_gates(raw: list[Any]) -> list[Gate]:
    gates = []
    for item in raw:
        if not isinstance(item, dict):
            continue
        name = _str(item.get("name") or item.get("gate") or "gate")
        verdict = next((item[k] for k in ("outcome", "passed", "ok", "accepted", "status", "result") if k in item),
                       None)
        gates.append(Gate(name, _outcome_of(verdict), redact_text(_str(item.get("reason"))),
                          redact(item.get("evidence")), _str(item.get("policy"))))
    return gates


def _derived_gates(c: dict[str, Any]) -> list[Gate]:
    """Gates read from a record written before gates were listed: each field a check left."""
    gates: list[Gate] = []
    rejected = _str(c.get("rejected"))
    if rejected and not c.get("diff"):
        return [Gate("proposal", "failed", redact_text(rejected))]
    if c.get("diff"):
        gates.append(Gate("proposal", "passed", "the reply parsed into a change inside the application"))
    if rejected:
        gates.append(Gate("static checks", "failed", redact_text(rejected)))
        return gates
    if c.get("diff"):
        gates.append(Gate("static checks", "passed"))
    verdict = _str(c.get("verdict"))
    outcome = c.get("outcome") if isinstance(c.get("outcome"), dict) else None
    failing_ok = bool(outcome and outcome.get("status") == "ok")
    if verdict or outcome:
        gates.append(Gate("sandbox re-run of the failed job", "passed" if failing_ok else "failed",
                          redact_text(_str((outcome or {}).get("reason")) or verdict)))
    replays = [r for r in _list(c.get("replays")) if isinstance(r, dict)]
    if replays:
        bad = [r for r in replays if r.get("status") != "ok"]
        reason = f"{len(replays) - len(bad)} of {len(replays)} earlier jobs still complete"
        if verdict.startswith("not fixed") and failing_ok and not bad:
            gates.append(Gate("regression replays", "failed", redact_text(verdict.removeprefix("not fixed: "))))
        else:
            gates.append(Gate("regression replays", "failed" if bad else "passed", reason))
    elif verdict.startswith("not fixed") and failing_ok:
        gates.append(Gate("variants and results", "failed", redact_text(verdict.removeprefix("not fixed: "))))
    review = _str(c.get("review"))
    if review:
        answer = review.split(":", 1)[0].strip().lower()
        outcome_text = {"yes": "passed", "no": "failed"}.get(answer, "skipped")
        gates.append(Gate("contract review", outcome_text, redact_text(review)))
    return gates


def candidate_view(c: dict[str, Any], default_model: str) -> CandidateView:
    """One stored candidate as the page shows it."""
    listed = c.get("gates")
    outcome = c.get("outcome") if isinstance(c.get("outcome"), dict) else None
    variants = _list(c.get("variants"))
    return CandidateView(
        index=int(c.get("index") or 0),
        model=_str(c.get("model")) or default_model,
        verdict=redact_text(_str(c.get("verdict") or c.get("rejected") or "pending")),
        diff_html=highlight_diff(redact_text(_str(c.get("diff")))),
        gates=_listed_gates(listed) if isinstance(listed, list) and listed else _derived_gates(c),
        outcome=redact(outcome),
        replays=[redact(r) for r in _list(c.get("replays")) if isinstance(r, dict)],
        variants=[redact(v) for v in variants if isinstance(v, dict)],
        llm_s=float(c.get("llm_s") or 0.0),
        sandbox_s=float(c.get("sandbox_s") or 0.0),
        tokens=int(c.get("prompt_tokens") or 0) + int(c.get("completion_tokens") or 0),
        reviewer=redact_text(_str(c.get("reviewer"))),
    )


def concerns(record: dict[str, Any]) -> list[Gate]:
    """The informing gates that said no to a fixed record's verified change (its last candidate: the
    loop stops at it), as its report email lists them; none for any other record."""
    found = candidates_of(record)
    if _str(record.get("status")) != "fixed" or not found or not isinstance(found[-1].get("gates"), list):
        return []
    return [g for g in _listed_gates(found[-1]["gates"]) if g.policy == "inform" and g.outcome == "failed"]


def phase(record: dict[str, Any]) -> str:
    """What a resolution is doing now, in words (a record may say it itself, as ``phase``)."""
    status = _str(record.get("status"))
    if status in FINAL:
        return {"fixed": "done: fixed", "not_fixed": "done: not fixed", "error": "stopped by an error",
                "abstained": "done: not a code bug to fix",
                "attached": "waiting on an identical failure's fix"}[status]
    if isinstance(record.get("progress"), dict):  # reasoning/progress.py: candidate k of N, seconds, tokens
        return redact_text(progress_view(record)["text"])
    if record.get("phase"):
        return redact_text(_str(record["phase"]))
    candidates = candidates_of(record)
    if not candidates:
        return "reproducing the failure and searching memory"
    last = candidates[-1]
    n = last.get("index", len(candidates))
    if last.get("rejected"):
        return f"candidate {n} was turned down; asking for the next"
    if not last.get("diff"):
        return f"asking the model for candidate {n}"
    if not last.get("verdict"):
        return f"running candidate {n} in the sandbox"
    if last.get("verdict") == "fixed" and not last.get("review"):
        return f"reviewing candidate {n} against the handler's contract"
    return "writing the summary"


def review_state(record: dict[str, Any]) -> str:
    """Where a verified fix stands with people (proposed, approved, ...), "" before any review."""
    review = record.get("review")
    if isinstance(review, dict):
        return _str(review.get("state"))
    return _str(record.get("review_state"))


def seconds_to_verdict(record: dict[str, Any]) -> float | None:
    """Seconds from the record's start to its verdict, None while running."""
    try:
        created, finished = int(record["created_on"]), int(record["finished_on"])
    except (KeyError, TypeError, ValueError):
        return None
    return round((finished - created) / 1000, 1)


def models_of(record: dict[str, Any], default_model: str) -> list[str]:
    """The models a record's candidates came from (the configured one when none is named)."""
    named = [_str(c.get("model")) for c in candidates_of(record) if c.get("model")]
    named = named or ([_str(record["model"])] if record.get("model") else [])
    return sorted(set(named)) or [default_model]


async def get(redis: aioredis.Redis, fix_id: str) -> dict[str, Any] | None:
    """One record as stored (with the ids of identical failures attached to it), or None."""
    raw = await redis.get(keys.fix_record(fix_id))
    if raw is None:
        return None
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    record["attached"] = [str(x) for x in await redis.lrange(keys.fix_attached(fix_id), 0, -1)]
    return record


async def page(redis: aioredis.Redis, page_no: int, size: int) -> tuple[int, list[dict[str, Any]]]:
    """(total, records newest first) of one page."""
    total = int(await redis.zcard(keys.fix_index()))
    start = (page_no - 1) * size
    ids = [str(x) for x in await redis.zrevrange(keys.fix_index(), start, start + size - 1)]
    pipe = redis.pipeline(transaction=False)
    for fix_id in ids:
        pipe.get(keys.fix_record(fix_id))
    records = []
    for raw in await pipe.execute():
        try:
            record = json.loads(raw) if raw is not None else None
        except ValueError:
            record = None
        if isinstance(record, dict):
            records.append(record)
    return total, records
