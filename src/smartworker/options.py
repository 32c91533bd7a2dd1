"""Job options a caller may set, and their bounds: one validator for the API, the CLI and the worker.

Names and shapes are BullMQ's, so Node producers and dashboards read the same jobs. Bounds exist
because BullMQ does arithmetic with these values in Redis: an exponential backoff over 100
attempts, or a delay of 1e20 ms, schedules a job for a time no client can represent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from smartworker.errors import InvalidJobOptionsError

#: The longest wait a job may be given (delay, one backoff step): 2**31 - 1 ms, about 24.8 days,
#: the largest signed 32-bit millisecond count, which every BullMQ client handles.
MAX_WAIT_MS = 2**31 - 1
MAX_ATTEMPTS = 100
#: BullMQ's highest priority (2**21).
MAX_PRIORITY = 2_097_152
MAX_KEEP = 2**31 - 1

Wait = Annotated[StrictInt, Field(ge=0, le=MAX_WAIT_MS, description="milliseconds")]


class Backoff(BaseModel):
    """Retry backoff, as BullMQ spells it."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["fixed", "exponential"] = "exponential"
    delay: Wait = 1000


class KeepJobs(BaseModel):
    """How many finished jobs to keep, and for how long."""

    model_config = ConfigDict(extra="forbid")
    count: Annotated[StrictInt, Field(ge=0, le=MAX_KEEP)] | None = None
    age: Annotated[StrictInt, Field(ge=0, le=MAX_KEEP, description="seconds")] | None = None


class JobOptions(BaseModel):
    """Options a caller may set on a job (BullMQ names and shapes)."""

    model_config = ConfigDict(extra="forbid")
    attempts: Annotated[StrictInt, Field(ge=1, le=MAX_ATTEMPTS)] | None = None
    backoff: Backoff | Wait | None = Field(None, description="a Backoff, or a fixed delay in milliseconds")
    delay: Wait | None = Field(None, description="milliseconds before the job may run")
    priority: Annotated[StrictInt, Field(ge=0, le=MAX_PRIORITY)] | None = None
    lifo: StrictBool | None = None
    jobId: str | None = Field(
        None, min_length=1, max_length=200, pattern=r"^[^:\s]+$",
        description="your own id, to make a retried request idempotent; not all digits, no ':' or spaces")
    removeOnComplete: StrictBool | Annotated[StrictInt, Field(ge=0, le=MAX_KEEP)] | KeepJobs | None = None

    @field_validator("jobId")
    @classmethod
    def _not_a_number(cls, job_id: str | None) -> str | None:
        # BullMQ numbers its own jobs: an all-digit custom id could collide with one of them.
        if job_id is not None and job_id.isdigit():
            raise ValueError("must not be all digits (BullMQ numbers its own jobs)")
        return job_id

    @field_validator("backoff")
    @classmethod
    def _bounded_schedule(cls, backoff: Backoff | int | None, info: ValidationInfo) -> Backoff | int | None:
        attempts = info.data.get("attempts")
        if attempts is not None:
            longest_wait(attempts, backoff)
        return backoff

    def to_bullmq(self) -> dict[str, Any]:
        """The options as BullMQ stores them, without the ones left unset."""
        return self.model_dump(exclude_none=True)


def longest_wait(attempts: int, backoff: Any) -> int:
    """The longest pause between two attempts; ValueError when it exceeds MAX_WAIT_MS."""
    if isinstance(backoff, Backoff):
        backoff = backoff.model_dump()
    if isinstance(backoff, int):
        return int(backoff)
    if not isinstance(backoff, dict) or attempts < 2:
        return 0
    delay = int(backoff.get("delay") or 0)
    if backoff.get("type") != "exponential":
        return delay
    # BullMQ waits delay * 2**(n-1) after the n-th failed attempt; the last pause follows attempt attempts-1.
    wait: int = delay * 2 ** (attempts - 2)
    if wait > MAX_WAIT_MS:
        raise ValueError(f"an exponential backoff of {delay} ms over {attempts} attempts waits {wait} ms "
                         f"before the last one; the longest wait allowed is {MAX_WAIT_MS} ms (about 24.8 days)")
    return wait


#: Names pydantic gives union members in an error's location; a user named the field, not them.
_MEMBER_TAGS = frozenset({"bool", "int", "str", "float", "dict", "list", "constrained-int", "constrained-str"})


def field_name(loc: Sequence[int | str], root: str = "") -> str:
    """A dotted field name from a pydantic error location, without union member tags."""
    parts = [str(p) for p in loc if not (isinstance(p, str) and (p in _MEMBER_TAGS or p[:1].isupper() or "[" in p))]
    return ".".join([root, *parts] if root else parts)


def first_problem(errors: Sequence[Any], root: str = "") -> tuple[str, str]:
    """(field, message) of the error a user should see first.

    For a union (``backoff`` is a Backoff or a number) pydantic reports one error per member; the
    one about a bound or a value says more than "should be a dictionary" about the member not meant.
    """
    ranked = sorted(errors, key=lambda e: str(e.get("type", "")).endswith(("_type", "_parsing")))
    best = ranked[0] if ranked else {}
    message = str(best.get("msg", "invalid value")).removeprefix("Value error, ")
    return field_name(tuple(best.get("loc", ())), root), message


def parse_options(raw: Any) -> JobOptions:
    """Validate options a caller sent; InvalidJobOptionsError naming the first bad field."""
    try:
        return JobOptions.model_validate(raw)
    except ValidationError as exc:
        field, message = first_problem(exc.errors(), "opts")
        raise InvalidJobOptionsError(f"{field}: {message}", field=field) from None


def checked_schedule(opts: dict[str, Any]) -> dict[str, Any]:
    """``opts`` (defaults merged) when its longest retry pause is in bounds; else InvalidJobOptionsError."""
    try:
        longest_wait(int(opts.get("attempts") or 1), opts.get("backoff"))
    except ValueError as exc:
        raise InvalidJobOptionsError(f"opts.backoff: {exc}", field="opts.backoff") from None
    return opts


def stored_options_problem(opts: Any) -> str | None:
    """Why options read back from Redis (maybe written by another producer) cannot drive BullMQ, or None.

    Only the options BullMQ computes with are checked; anything else a producer stored is its own business.
    """
    if not isinstance(opts, dict):
        return f"opts: expected an object, got {type(opts).__name__}"
    used = {k: opts[k] for k in ("attempts", "backoff", "delay", "priority") if opts.get(k) is not None}
    if used.get("attempts") == 0:
        used["attempts"] = 1  # BullMQ reads 0 as "no retries"
    try:
        JobOptions.model_validate(used)
    except ValidationError as exc:
        field, message = first_problem(exc.errors(), "opts")
        return f"{field}: {message}"
    return None
