"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Backoff(BaseModel):
    """Retry backoff, as BullMQ spells it."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["fixed", "exponential"] = "exponential"
    delay: int = Field(1000, ge=0, description="milliseconds")


class JobOptions(BaseModel):
    """Options a caller may set on a job (BullMQ names)."""

    model_config = ConfigDict(extra="forbid")
    attempts: int | None = Field(None, ge=1, le=100)
    backoff: Backoff | int | None = None
    delay: int | None = Field(None, ge=0, description="milliseconds before the job may run")
    priority: int | None = Field(None, ge=0, le=2_097_152)
    lifo: bool | None = None


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
    attempts: int
    data: Any = None
    result: Any = None
    failedReason: str | None = None
    stacktrace: list[str] = Field(default_factory=list)
    timestamp: int | None = None
    processedOn: int | None = None
    finishedOn: int | None = None
    dlqId: str | None = None


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

    status: Literal["ok", "down"]
    redis: str
    database: str
    workers: int
    down: list[str]
    #: "up", or "unavailable: <what is missing and how to install it>"
    sandbox: str = "up"


class Message(BaseModel):
    """A plain answer."""

    detail: str


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


class FailurePage(BaseModel):
    """A page of remembered failures."""

    total: int
    page: int
    size: int
    failures: list[dict[str, Any]]
