"""Every queue name and Redis key SmartWorker uses, in one place.

BullMQ owns the keys under ``<prefix>:<queue>:*`` (prefix ``bull`` by default, so Node
producers and dashboards see the same queues). Our own bookkeeping lives under ``smartworker:``.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Prefix for keys SmartWorker owns (never inside BullMQ's key space).
OWN_PREFIX = "smartworker"

#: Suffixes that derive the side queues from the main queue name.
SANDBOX_SUFFIX = "-sandbox"
DLQ_SUFFIX = "-dlq"
REASONING_SUFFIX = "-reasoning"
MEMORY_SUFFIX = "-memory"


@dataclass(frozen=True)
class QueueNames:
    """The queues that belong to one main queue (``login`` by default)."""

    main: str

    @property
    def sandbox(self) -> str:
        """Sandbox re-runs of proposed fixes."""
        return self.main + SANDBOX_SUFFIX

    @property
    def dlq(self) -> str:
        """Jobs that used all their attempts."""
        return self.main + DLQ_SUFFIX

    @property
    def reasoning(self) -> str:
        """Durable requests for an AI resolution."""
        return self.main + REASONING_SUFFIX

    @property
    def memory(self) -> str:
        """Final failures to store in the failure memory (``remember`` jobs), apart from resolutions
        so a storm of failures never delays one."""
        return self.main + MEMORY_SUFFIX

    @property
    def all(self) -> tuple[str, ...]:
        """Every queue, main first."""
        return (self.main, self.sandbox, self.dlq, self.reasoning, self.memory)


def dlq_job_id(source_queue: str, source_id: str) -> str:
    """Deterministic DLQ job id: a second move of the same job is a no-op in BullMQ."""
    return f"{source_queue}__{source_id}"


def reasoning_job_id(source_queue: str, source_id: str) -> str:
    """Deterministic resolution-request id, one per failed job."""
    return f"fix__{source_queue}__{source_id}"


def remember_job_id(source_queue: str, source_id: str) -> str:
    """Deterministic id of the job that stores a failure in memory."""
    return f"mem__{source_queue}__{source_id}"


def dlq_move_lock(source_queue: str, source_id: str) -> str:
    """Short lock so two workers racing on one failure move it once."""
    return f"{OWN_PREFIX}:lock:dlq:{source_queue}:{source_id}"


def worker_heartbeat(queue: str) -> str:
    """Sorted set of live workers (member = worker id, score = last beat ms)."""
    return f"{OWN_PREFIX}:workers:{queue}"


def recent_completed(queue: str, handler: str) -> str:
    """List of recent successful inputs per handler, replayed as a regression check."""
    return f"{OWN_PREFIX}:recent:{queue}:{handler}"


def fix_record(fix_id: str) -> str:
    """Hash holding one fix record (AI resolution attempt)."""
    return f"{OWN_PREFIX}:fix:{fix_id}"


def fix_attached(fix_id: str) -> str:
    """List of DLQ ids whose identical failure attached to a running resolution."""
    return f"{OWN_PREFIX}:fix:{fix_id}:attached"


def fix_index() -> str:
    """Sorted set of fix record ids by creation time."""
    return f"{OWN_PREFIX}:fixes"


def fix_inflight(queue: str, handler: str, signature_hash: str) -> str:
    """Marker for an in-flight resolution of one queue's handler + error signature (two systems, or two
    main queues, on one Redis resolve their own failures)."""
    return f"{OWN_PREFIX}:fix-inflight:{queue}:{handler}:{signature_hash}"


def llm_outage(queue: str) -> str:
    """The current LLM outage (since, url, reason) while the circuit breaker holds resolutions back."""
    return f"{OWN_PREFIX}:llm-outage:{queue}"


def access_prefix(queue: str) -> str:
    """Where the API keys of the installation around one main queue live (``<this>:apikeys``)."""
    return f"{OWN_PREFIX}:access:{queue}"


# -- fix delivery, review and heal (smartworker.fixes) ----------------------------------------------
def fix_files(fix_id: str) -> str:
    """Hash of a verified fix's new file contents by path (what ``apply`` writes); never served."""
    return f"{OWN_PREFIX}:fix:{fix_id}:files"


def fix_patch(fix_id: str) -> str:
    """The fix's ``git format-patch`` text, as emailed before redaction; never served."""
    return f"{OWN_PREFIX}:fix:{fix_id}:patch"


def fix_lock(fix_id: str) -> str:
    """Lock held while a review step changes one fix record."""
    return f"{OWN_PREFIX}:lock:fix:{fix_id}"


def fix_heal(fix_id: str) -> str:
    """Hash of a fix's heal progress (counters, state), kept beside the record like ``attached``."""
    return f"{OWN_PREFIX}:fix:{fix_id}:heal"


def fix_heal_todo(fix_id: str) -> str:
    """List of DLQ ids a heal has still to retry."""
    return f"{OWN_PREFIX}:fix:{fix_id}:heal:todo"


def fix_heal_seen(fix_id: str) -> str:
    """Set of DLQ ids a heal has taken on (so a second scan adds only new ones)."""
    return f"{OWN_PREFIX}:fix:{fix_id}:heal:seen"


def fix_heal_inflight(fix_id: str) -> str:
    """Hash of the current heal batch: retried job id -> the DLQ id it came from."""
    return f"{OWN_PREFIX}:fix:{fix_id}:heal:inflight"


def fix_heal_failed(fix_id: str) -> str:
    """List of DLQ ids of retried jobs that failed again (their new failure, linked to the fix)."""
    return f"{OWN_PREFIX}:fix:{fix_id}:heal:failed"


def heal_job_id(fix_id: str, source_id: str) -> str:
    """Deterministic id of a dead job's heal retry: a repeated step adds it once, and the id (and so
    the DLQ id of a job that fails again) names the fix."""
    return f"heal__{fix_id}__{source_id}"


def heal_step_id(fix_id: str, step: int) -> str:
    """Deterministic id of one heal step on the reasoning queue."""
    return f"healstep__{fix_id}__{step}"


def code_generation(queue: str) -> str:
    """Counter bumped when the application code on disk changed (a fix applied or deployed)."""
    return f"{OWN_PREFIX}:code:{queue}"


def code_loaded(queue: str) -> str:
    """Hash of worker id -> the code generation that worker has loaded."""
    return f"{OWN_PREFIX}:code:{queue}:loaded"
