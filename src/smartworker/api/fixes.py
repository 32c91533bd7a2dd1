"""HTTP routes of the AI layer: fix records and the failure memory."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from smartworker.api.schemas import FailurePage, FixPage, FixRequested, MemoryQuery, Message
from smartworker.errors import ConfigurationError
from smartworker.memory.interface import FailureMemory
from smartworker.reasoning.records import FixRecords
from smartworker.service import Service

router = APIRouter()


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def _memory(service: Service) -> FailureMemory:
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
