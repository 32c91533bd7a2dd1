"""Prompts for the fix and the summary, filled from templates in ``prompts/``.

Measured on the local 1.5B model: showing the traceback, the failing data and the code works far
better than describing the bug, so the prompt is mostly evidence, in that order.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from string import Template
from typing import Any

from smartworker.reasoning.context import FailureContext, Frame
from smartworker.reasoning.input_diff import differences
from smartworker.redaction import is_secret_key, redact, redact_text

#: Characters of any one section we are willing to send (a small model has a small window).
SECTION_CAP = 6000
TRACEBACK_CAP = 3000


@dataclass(frozen=True)
class MemoryHint:
    """A past resolution of a similar failure, elected by the memory's vote."""

    signature: str
    summary: str
    diff: str
    similarity: float


@dataclass(frozen=True)
class RejectedFix:
    """A fix a person rejected for the same handler and signature: what not to propose again."""

    reason: str
    summary: str
    diff: str


@dataclass(frozen=True)
class Feedback:
    """Why the previous candidate was not good enough, fed back for the next try."""

    reply: str  #: the model's previous answer
    reason: str  #: one line: rejected because / still failing with
    details: str = ""  #: e.g. the new traceback from the sandbox
    values: Mapping[str, str] = field(default_factory=dict)  #: failing-line values of that run


@cache
def template(name: str) -> Template:
    """A prompt template from the package's ``prompts/`` directory."""
    text = resources.files("smartworker.reasoning").joinpath("prompts", f"{name}.txt").read_text("utf-8")
    return Template(text)


def _cap(text: str, limit: int = SECTION_CAP) -> str:
    if len(text) <= limit:
        return text
    return text[: limit // 2] + "\n… [truncated] …\n" + text[-limit // 2 :]


def _metadata(ctx: FailureContext) -> str:
    data = json.dumps(ctx.data, indent=2, default=str, ensure_ascii=False)
    lines = [
        f"queue: {ctx.queue}",
        f"handler (job name): {ctx.job_name}",
        f"attempts made: {ctx.attempts}",
        f"job data:\n```json\n{_cap(data, 2000)}\n```",
    ]
    return "\n".join(lines)


def _locations(ctx: FailureContext) -> str:
    if not ctx.locations:
        return "(no frame inside the application code)"
    return "\n".join(f"- {loc.path}:{loc.line} in {loc.function}: {loc.code}" for loc in ctx.locations)


#: Library frames kept below the innermost application frame: they name the call that raised.
CALLEE_FRAMES = 2


def _in_file(frame: Frame, rel_path: str) -> bool:
    """Whether a traceback frame (absolute path) is in the app file ``rel_path`` (relative)."""
    path = frame.file.replace("\\", "/")
    return path == rel_path or path.endswith("/" + rel_path)


def app_traceback(ctx: FailureContext) -> str:
    """The traceback as the model needs it: application frames (paths relative to the app root),
    the few library frames the innermost one called into, and the exception line.

    The worker's and asyncio's frames above the handler are noise to a small model and cost a
    few hundred prompt tokens; the raw traceback stays in the record, the email and memory.
    """
    if not ctx.locations:
        return _cap(ctx.traceback, TRACEBACK_CAP)
    innermost = ctx.locations[-1]
    index = max((i for i, f in enumerate(ctx.frames)
                 if f.line == innermost.line and f.function == innermost.function and _in_file(f, innermost.path)),
                default=len(ctx.frames))
    callees = ctx.frames[index + 1:][:CALLEE_FRAMES]
    skipped = sum(1 for f in ctx.frames[:index] if not any(_in_file(f, loc.path) for loc in ctx.locations))
    lines = [f"Traceback (application frames{f'; {skipped} outer library frames left out' if skipped > 0 else ''}):"]
    for loc in ctx.locations:
        lines += [f'  File "{loc.path}", line {loc.line}, in {loc.function}', f"    {loc.code}"]
    for frame in callees:
        lines += [f'  File "{frame.file}", line {frame.line}, in {frame.function}']
        lines += [f"    {frame.code}"] if frame.code else []
    lines.append(f"{ctx.exception_type}: {ctx.message}" if ctx.message else ctx.exception_type)
    return _cap("\n".join(lines), TRACEBACK_CAP)


def failing_values(values: Mapping[str, str]) -> str:
    """``name = repr`` lines for the values on the failing line, redacted (a name that says secret
    shows no value at all); "" when none were captured.

    Measured on FixBench: with the values in view the model sees *why* the line failed
    (``campaign = {'visits': 0}``) instead of guessing from the message.
    """
    lines = [f"{name} = {'[REDACTED]' if is_secret_key(name) else redact_text(value)}"
             for name, value in values.items()]
    return _cap("\n".join(lines), 1500)


def _values_section(values: Mapping[str, str]) -> str:
    text = failing_values(values)
    return f"\n## Values on the failing line when it raised\n```\n{text}\n```\n" if text else ""


def _differences_section(data: Any, earlier_data: Sequence[Any]) -> str:
    # Redacted on both sides, so a token's layout or presence is all that can show.
    lines = differences(redact(data), [redact(d) for d in earlier_data])
    if not lines:
        return ""
    return ("\n## How this job's data differs from the handler's recent successful jobs\n"
            + "\n".join(f"- {line}" for line in lines) + "\n")


def _sources(ctx: FailureContext) -> str:
    blocks = [f"# File: {path}\n```python\n{_cap(text)}\n```" for path, text in ctx.sources.items()]
    return "\n\n".join(blocks) or "(source not available)"


def system_message() -> dict[str, str]:
    """The fix prompt's system message, the same for every fix ask (a server can keep it cached)."""
    return {"role": "system", "content": template("system").template.strip()}


def fix_messages(ctx: FailureContext, *, memory: MemoryHint | None = None, feedback: Feedback | None = None,
                 values: Mapping[str, str] | None = None,
                 earlier: list[str] | None = None,
                 earlier_data: Sequence[Any] = (),
                 rejected: Sequence[RejectedFix] = ()) -> list[dict[str, str]]:
    """Chat messages asking for corrected files; with feedback, a second turn says what went wrong.

    ``values`` are the failing line's values from the sandbox's reproduction of the failure;
    ``earlier`` lists why earlier candidates failed, for a fresh ask that does not show their code;
    ``earlier_data`` are recent successful jobs' data, to say what is unusual about this job's;
    ``rejected`` are fixes people refused for this failure, with their reasons.
    """
    memory_text = ""
    if memory is not None:
        memory_text = template("memory").substitute(
            similarity=f"{memory.similarity:.2f}", signature=memory.signature,
            summary=memory.summary or "(no summary)", diff=_cap(redact_text(memory.diff), 3000))
    memory_text += _rejected(rejected)
    user = template("fix").substitute(
        metadata=_metadata(ctx),
        signature=ctx.signature,
        locations=_locations(ctx),
        traceback=app_traceback(ctx),
        values=_values_section(values or {}),
        differences=_differences_section(ctx.data, earlier_data),
        snippets="\n\n".join(ctx.snippets) or "(none)",
        sources=_sources(ctx),
        memory=memory_text,
        earlier=_earlier(earlier or []),
        targets=", ".join(ctx.sources) or "the handler's module",
        # Not used by the shipped template; kept so a template can ask for the failing function only.
        function=ctx.failing_location.function if ctx.failing_location else ctx.job_name,
        path=ctx.failing_location.path if ctx.failing_location else next(iter(ctx.sources), ""),
    )
    messages = [system_message(), {"role": "user", "content": user}]
    if feedback is not None:
        messages.append({"role": "assistant", "content": _cap(feedback.reply)})
        messages.append({"role": "user", "content": template("retry").substitute(
            reason=redact_text(feedback.reason),
            details=_cap(feedback.details, TRACEBACK_CAP) + _values_section(feedback.values))})
    return messages


def _rejected(fixes: Sequence[RejectedFix]) -> str:
    if not fixes:
        return ""
    items = "\n".join(template("rejected_item").substitute(
        reason=_cap(redact_text(f.reason), 600), diff=_cap(redact_text(f.diff), 1500)) for f in fixes)
    return template("rejected").substitute(items=items)


def _earlier(reasons: list[str]) -> str:
    if not reasons:
        return ""
    # A reason can quote an exception message, which can quote job data.
    lines = "\n".join(f"- attempt {i}: {_cap(redact_text(r), 400)}" for i, r in enumerate(reasons, 1))
    return f"\n## Earlier attempts that did not work\n{lines}\n"


def summary_messages(signature: str, diff: str) -> list[dict[str, str]]:
    """Chat messages asking for a short root-cause-and-change summary of a verified fix."""
    return [{"role": "user", "content": template("summary").substitute(signature=signature,
                                                                       diff=_cap(redact_text(diff), 4000))}]


def token_estimate(messages: list[dict[str, Any]]) -> int:
    """Rough token count (4 characters a token) for budgeting before a call."""
    return sum(len(str(m.get("content", ""))) for m in messages) // 4 + 8 * len(messages)
