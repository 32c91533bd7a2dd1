"""A second look at a verified fix: does the job's new result keep the promise of its docstring?

The sandbox proves the failing job now completes; it cannot tell a right answer from a wrong one:
a zero rate where the docstring says "every campaign appears", ``{"error": ...}`` where it promises
customers. Shown the changed code, the job's data and what the handler returned, a model answers
"is this what the docstring promises?". It is a model judging its own result and says NO to right
answers too (docs/benchmarks.md), so its answer informs the record and the person and vetoes
nothing (reasoning/gates.py); an answer we cannot read, or none, is recorded as skipped. A result that redaction
changes is not reviewed at all: the model would judge ``[REDACTED]`` and reject a right answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from smartworker.metrics import gate
from smartworker.reasoning.prompt import template
from smartworker.redaction import redact, redact_text

#: Characters of code, data and result shown; the answer is one word and one line.
CODE_CAP = 6000
DATA_CAP = 2000
RESULT_CAP = 2000
#: Enough for "NO" and a one-line reason.
MAX_TOKENS = 60

_ANSWER = re.compile(r"^[\s*_`#>\"'-]*(yes|no)\b", re.IGNORECASE)


@dataclass(frozen=True)
class ContractReview:
    """The model's reading of one result against the docstring."""

    accepted: bool | None  #: True: keeps the promise; False: breaks it; None: no readable answer
    reason: str  #: the model's one-line why ("" when it gave none)


def _json(value: Any, cap: int) -> str:
    text = json.dumps(value, indent=1, ensure_ascii=False, default=str)
    return text if len(text) <= cap else text[:cap] + "\n… [truncated]"


def review_messages(files: Mapping[str, str], data: Any, result: Any) -> list[dict[str, str]]:
    """Chat messages asking whether ``result`` is what the docstring promises for ``data``.

    ``files`` are the changed files as the candidate left them; everything is redacted here, since
    the changed files are the real ones (the prompt's sources were redacted copies).
    """
    code = "\n\n".join(f"# File: {path}\n{redact_text(text)}" for path, text in files.items())
    if len(code) > CODE_CAP:
        code = code[:CODE_CAP] + "\n# … [truncated]"
    user = template("contract").substitute(code=code, data=_json(redact(data), DATA_CAP),
                                           result=_json(redact(result), RESULT_CAP))
    return [{"role": "system", "content": template("contract_system").template.strip()},
            {"role": "user", "content": user}]


@gate("contract_review")
def parse_review(text: str) -> ContractReview:
    """YES or NO from the first non-empty line, the rest as the reason; unreadable -> accepted None."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return ContractReview(None, "")
    match = _ANSWER.match(lines[0])
    if match is None:
        return ContractReview(None, lines[0][:300])
    rest = lines[0][match.end():].lstrip(" .,:;-*").strip() or (lines[1] if len(lines) > 1 else "")
    return ContractReview(match.group(1).lower() == "yes", redact_text(rest)[:300])
