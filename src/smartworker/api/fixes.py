"""HTTP routes of the AI layer: fix records and the failure memory."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from smartworker.api.schemas import FailurePage, FixPage, FixRequested, MemoryQuery, Message
from smartworker.errors import ConfigurationError
from smartworker.reasoning.records import FixRecords
from smartworker.service import Service

router = APIRouter()


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def _memory(service: Service) -> Any:
    if service.memory is None:
        raise ConfigurationError("the failure memory is not running (configure DATABASE_URL or APP_DB_HOST)")
    return service.memory


@router.get("/fixes", response_model=FixPage, tags=["fixes"])
async def list_fixes(request: Request, page: int = Query(1, ge=1), size: int = Query(20, ge=1, le=200)) -> FixPage:
    """Fix records, newest first (diffs and candidates in ``GET /fixes/{id}``)."""
    total, records = await FixRecords(_service(request).queues.redis).page(page, size)
    brief = []
    for record in records:
        view = record.to_dict()
        view.pop("candidates")
        view.pop("diff")
        view["candidates"] = len(record.candidates)
        brief.append(view)
    return FixPage(total=total, page=page, size=size, fixes=brief)


@router.get("/fixes/{fix_id}", tags=["fixes"], responses={404: {"model": Message}})
async def get_fix(fix_id: str, request: Request) -> dict[str, Any]:
    """One fix record with every candidate, its diff and sandbox outcome."""
    record = await FixRecords(_service(request).queues.redis).get(fix_id)
    return record.to_dict()


class Rejection(BaseModel):
    """Why a person rejects a fix; the model is shown it the next time this failure comes."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(..., min_length=1, max_length=4000, pattern=r"\S", description="why the fix is wrong")


#: Answers of the review steps besides 200.
_STEP_ANSWERS: dict[int | str, dict[str, Any]] = {
    404: {"model": Message, "description": "no such fix record"},
    409: {"model": Message, "description": "not possible from the fix's state, or another step is running"},
}


def _review(request: Request) -> Any:
    from smartworker.fixes.review import FixReview

    service = _service(request)
    return FixReview(service.settings, service.queues, service.memory)


def _who(request: Request) -> str:
    """The person behind a request: the API key's name once keys exist, else "api"."""
    principal = getattr(request.state, "principal", None)
    return str(getattr(principal, "name", "") or "api")


@router.post("/fixes/{fix_id}/approve", tags=["fixes"], responses=_STEP_ANSWERS)
async def approve_fix(fix_id: str, request: Request) -> dict[str, Any]:
    """Approve a proposed fix (and open its pull request when FIX_PR_PROVIDER is set)."""
    record = await _review(request).approve(fix_id, _who(request))
    return dict(record.to_dict())


@router.post("/fixes/{fix_id}/reject", tags=["fixes"], responses=_STEP_ANSWERS)
async def reject_fix(fix_id: str, body: Rejection, request: Request) -> dict[str, Any]:
    """Reject a proposed fix with a reason; the model is told not to propose it again."""
    record = await _review(request).reject(fix_id, _who(request), body.reason)
    return dict(record.to_dict())


@router.post("/fixes/{fix_id}/apply", tags=["fixes"], responses={
    **_STEP_ANSWERS, 403: {"model": Message, "description": "apply is off (FIX_APPLY)"},
    409: {"model": Message, "description": "refused: names the file that changed or is not clean"}})
async def apply_fix(fix_id: str, request: Request) -> dict[str, Any]:
    """Write an approved fix into APP_ROOT_DIR's working tree (FIX_APPLY=true) and heal its dead jobs."""
    record = await _review(request).apply(fix_id, _who(request))
    return dict(record.to_dict())


@router.post("/fixes/{fix_id}/deployed", tags=["fixes"], responses=_STEP_ANSWERS)
async def fix_deployed(fix_id: str, request: Request) -> dict[str, Any]:
    """Note that an approved fix is live, and heal the dead jobs it covers."""
    record = await _review(request).deployed(fix_id, _who(request))
    return dict(record.to_dict())


@router.post("/dlq/{dlq_id}/fix", response_model=FixRequested, status_code=202, tags=["fixes"],
             responses={404: {"model": Message}})
async def fix_dead_job(dlq_id: str, request: Request) -> FixRequested:
    """Queue a resolution for a dead job now, whether or not it asked for one."""
    request_id = await _service(request).queues.request_fix(dlq_id)
    return FixRequested(requestId=request_id, dlqId=dlq_id)


@router.post("/memory/search", tags=["memory"], responses={400: {"model": Message}})
async def memory_search(body: MemoryQuery, request: Request) -> dict[str, Any]:
    """Past failures similar to an error, with scores and the elected winner."""
    memory = _memory(_service(request))
    found = await memory.search_text(body.error, body.traceback, body.job_name, resolved_only=False)
    return {
        "winner": _match(found.winner) if found.winner else None,
        "similar": [_match(m) for m in found.similar],
    }


def _match(match: Any) -> dict[str, Any]:
    return {
        "failure": match.failure.to_dict(),
        "votes": match.votes,
        "similarity": round(match.similarity, 4),
        "evidence": {k: {"hits": e.hits, "similarity": e.best_similarity, "content": e.content}
                     for k, e in match.evidence.items()},
    }


@router.get("/failures", response_model=FailurePage, tags=["memory"])
async def list_failures(request: Request, signature: str | None = None, resolved: bool | None = None,
                        page: int = Query(1, ge=1), size: int = Query(20, ge=1, le=200)) -> FailurePage:
    """Remembered failures, filtered by signature and resolution."""
    memory = _memory(_service(request))
    total, rows = await memory.list_failures(signature=signature, resolved=resolved, page=page, size=size)
    return FailurePage(total=total, page=page, size=size, failures=[r.to_dict() for r in rows])


@router.get("/failures/{failure_id}", tags=["memory"], responses={404: {"model": Message}})
async def get_failure(failure_id: int, request: Request) -> dict[str, Any]:
    """One remembered failure."""
    record = await _memory(_service(request)).get_failure(failure_id)
    result: dict[str, Any] = record.to_dict()
    return result
