"""Before any model is asked: is this failure a bug in the application's code to fix at all?

Three kinds of failure are not, and a "fix" for them does harm: it removes a validation, patches
code the application does not own, or changes code for a failure nobody can show.

- the application refuses the job's data on purpose with a validation error (an exception whose
  name says so: ``ValidationError``, ``InvalidOrder``, ``BadRequest``...; raised by the
  application or by the validation library it calls): the job's data is invalid, not the code;
- no frame of the traceback lies under the application's root: the failure is in the worker,
  a library or the environment, where a change to the application cannot reach;
- the original code completes the job's data in the sandbox: the failure does not reproduce.

A plain ``raise ValueError`` is not read as a validation: handlers raise it for data a bug made
wrong (a page count off by one, a list a mutable default kept growing), which is a bug to fix.
"""

from __future__ import annotations

import builtins
import decimal
import re
import sys
from dataclasses import dataclass
from functools import cache

from smartworker.reasoning.context import FailureContext
from smartworker.sandbox.verdict import Baseline

#: Exception names that say "this input is refused": the words of validation errors across
#: libraries and applications (pydantic, jsonschema, marshmallow, Django, Cerberus, ...).
_VALIDATION = re.compile(r"Validation|^Invalid[A-Z]|^BadRequest|^BadInput|^Malformed[A-Z]")


@dataclass(frozen=True)
class Abstention:
    """Why the loop does not try to fix this failure (one line, for the record and the email)."""

    kind: str  #: "invalid input" / "outside the application" / "does not reproduce"
    reason: str


def validation_error(exception_type: str) -> bool:
    """Whether an exception's name says it refuses input. The standard library's exceptions never
    do: ``decimal.InvalidOperation`` is arithmetic on a value the code failed to parse."""
    module, _, name = exception_type.strip().rpartition(".")
    if module.split(".")[0] in sys.stdlib_module_names or (not module and name in _stdlib_exceptions()):
        return False
    return bool(name) and _VALIDATION.search(name) is not None


@cache
def _stdlib_exceptions() -> frozenset[str]:
    """Names of the exception classes of the builtins and the standard library modules loaded here
    (a traceback may name ``InvalidOperation`` without its module)."""
    decimal.Context  # noqa: B018  (loaded for its InvalidOperation, the commonest such name)
    names = {n for n, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, BaseException)}
    for module_name, module in list(sys.modules.items()):
        if module_name.split(".")[0] in sys.stdlib_module_names and module is not None:
            names |= {n for n, v in vars(module).items() if isinstance(v, type) and issubclass(v, BaseException)}
    return frozenset(names)


def before_baseline(ctx: FailureContext) -> Abstention | None:
    """What the failure context alone tells: a validation error, or no application frame."""
    if validation_error(ctx.exception_type):
        message = f": {ctx.message}" if ctx.message else ""
        return Abstention("invalid input", f"the job's data is invalid: {ctx.exception_type}{message}")
    if ctx.frames and not ctx.locations:
        top = ctx.frames[-1]
        return Abstention("outside the application",
                          f"the failure is outside the application's code: {ctx.exception_type} in {top.file}, "
                          "and no frame of its traceback lies under APP_ROOT_DIR")
    return None


def after_baseline(base: Baseline) -> Abstention | None:
    """What the original code's run in the sandbox tells: a failure that does not reproduce."""
    if base.reproduced:
        return None
    return Abstention("does not reproduce", base.reason)
