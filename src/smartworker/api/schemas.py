"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from smartworker.auth import Role
from smartworker.options import JobOptions


class JobIn(BaseModel):
    """A job to enqueue."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(..., min_length=1, max_length=200, description="registered handler name")
    data: dict[str, Any] = Field(default_factory=dict)
    opts: JobOptions | None = None


class JobCreated(BaseModel):
    """Where a job went."""

    id: str
    queue: str


class JobView(BaseModel):
    """A job's state, attempts and result or failure."""

    id: str
    queue: str
    name: str
    state: str
    attemptsMade: int
    attempts: int | None = None  #: None when the stored value is not a number (another producer's)
    data: Any = None
    result: Any = None
    failedReason: str | None = None
    stacktrace: list[str] = Field(default_factory=list)
    timestamp: int | None = None
    processedOn: int | None = None
    finishedOn: int | None = None
    dlqId: str | None = None
    problem: str | None = None  #: why the stored job could not be read in full, when it could not


class DeadJobView(BaseModel):
    """One dead-letter entry."""

    id: str
    name: str
    data: Any
    opts: dict[str, Any]
    queue: str
    jobId: str
    failedReason: str
    stacktrace: list[str]
    attemptsMade: int
    timestamp: int
    processedOn: int | None
    finishedOn: int | None
    movedOn: int


class DeadJobPage(BaseModel):
    """A page of the DLQ."""

    total: int
    page: int
    size: int
    jobs: list[DeadJobView]


class Health(BaseModel):
    """State of each part."""

    status: Literal["ok", "degraded", "down"]
    redis: str
    database: str
    workers: int
    #: "up", "loading" (the bundled model is starting), "down" (unreachable, or the circuit is open:
    #: resolutions held back) or "not configured"
    llm: str = "not configured"
    down: list[str]
    #: "up", or "unavailable: <what is missing and how to install it>"
    sandbox: str = "up"


class Message(BaseModel):
    """A plain answer, and the body of every error but 422."""

    detail: str


class FieldError(BaseModel):
    """One invalid field of a request."""

    field: str  #: e.g. "body.opts.attempts", "query.page"
    message: str


class ValidationFailed(BaseModel):
    """The body of every 422: the first problem in ``detail`` ("field: message"), all of them in ``errors``."""

    detail: str
    errors: list[FieldError]


class ApiKeyIn(BaseModel):
    """A key to create."""

    model_config = ConfigDict(extra="forbid")
    role: Role
    name: str = Field(..., min_length=1, max_length=100, pattern=r"^[\w.@-]+( [\w.@-]+)*$")


class ApiKeyView(BaseModel):
    """A key as listed: never its secret."""

    id: str
    name: str
    role: str
    created: int


class ApiKeyCreated(ApiKeyView):
    """A new key; ``secret`` is shown this once and cannot be read again."""

    secret: str


class FixPage(BaseModel):
    """A page of fix records (without candidates' details)."""

    total: int
    page: int
    size: int
    fixes: list[dict[str, Any]]


class FixRequested(BaseModel):
    """A resolution request was queued."""

    requestId: str
    dlqId: str


class MemoryQuery(BaseModel):
    """An error to look up in the failure memory."""

    model_config = ConfigDict(extra="forbid")
    error: str = Field(..., min_length=1, max_length=20_000, description="e.g. \"KeyError: 'email'\"")
    traceback: str | None = Field(None, max_length=200_000)
    job_name: str | None = Field(None, max_length=200)


class FailureView(BaseModel):
    """A remembered failure (redacted unless ``raw``), with how often it happened.

    Jobs that failed with the same queue, job name, signature and failure locations are counted on
    one failure: ``occurrences`` of them, from ``first_seen`` to ``last_seen``; ``job_id`` is the
    first one's, ``sample_job_ids`` the newest few.
    """

    id: int
    queue: str
    job_id: str
    name: str
    data: dict[str, Any]
    opts: dict[str, Any]
    exception_type: str
    reason: str
    traceback: str
    attempts: int
    signature: str
    signature_hash: str
    resolved: bool
    resolution_summary: str | None
    resolution_diff: str | None
    failed_at: datetime = Field(..., description="when it first failed (same as first_seen)")
    updated_at: datetime
    resolved_at: datetime | None
    occurrences: int = Field(..., ge=1, description="how many failed jobs were counted on this failure")
    first_seen: datetime
    last_seen: datetime
    sample_job_ids: list[str] = Field(..., description="ids of the newest jobs that failed this way, newest first")


class FailurePage(BaseModel):
    """A page of remembered failures."""

    total: int
    page: int
    size: int
    failures: list[FailureView]

class FixProgress(BaseModel):
    """Where a resolution is: its phase, which candidate of how many, seconds and tokens so far."""

    phase: Literal["reproducing", "searching memory", "asking the model", "verifying", "reviewing", "done"]
    candidate: int = Field(..., ge=0, description="the candidate being asked for, verified or reviewed (0: none)")
    candidates: int = Field(..., ge=0, description="candidates this resolution may try (AI_CANDIDATES)")
    elapsed_s: float = Field(..., ge=0, description="seconds since the resolution began (to its verdict once done)")
    phase_elapsed_s: float = Field(..., ge=0, description="seconds in the current phase (0 once done)")
    tokens: int = Field(..., ge=0, description="prompt and completion tokens of every model answer so far")
    text: str = Field(..., description='one line, e.g. "asking the model (candidate 2 of 4), 95 s, 3,210 tokens"')


class FixDetail(BaseModel):
    """One fix record: every candidate with its diff and sandbox outcome, and its live progress."""

    model_config = ConfigDict(extra="allow")
    id: str
    dlq_id: str
    queue: str
    job_id: str
    job_name: str
    signature: str
    status: str = Field(..., description="running, fixed, not_fixed, error or attached")
    reason: str
    diff: str
    summary: str
    candidates: list[dict[str, Any]]
    attached: list[str]
    attached_to: str | None
    memory: dict[str, Any] | None
    prompt_tokens: int
    completion_tokens: int
    llm_calls: int
    created_on: int
    finished_on: int | None
    emailed: bool
    review: dict[str, Any] | None
    progress: FixProgress
    concerns: list[str] = Field(default_factory=list, description=(
        'a verified fix\'s "gate: reason" for each check that informs (not vetoes) and said no to it, '
        "e.g. the contract review; read them before approving (empty for any other record)"))
