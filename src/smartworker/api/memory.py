"""HTTP routes of the failure memory: search it, list and read remembered failures."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from smartworker.api.schemas import FailurePage, FailureView, MemoryQuery, Message
from smartworker.api.security import View, viewer
from smartworker.errors import MemoryUnavailableError
from smartworker.memory.interface import FailureMemory
from smartworker.service import Service

router = APIRouter(tags=["memory"])
#: Pages past this are refused (422): PostgreSQL's OFFSET is a 64-bit integer.
MAX_PAGE = 1_000_000


def _memory(request: Request) -> FailureMemory:
    service: Service = request.app.state.service
    if service.memory is None:
        raise MemoryUnavailableError("the failure memory is not running (configure DATABASE_URL or APP_DB_HOST)")
    return service.memory


@router.post("/memory/search", responses={400: {"model": Message}})
async def memory_search(body: MemoryQuery, request: Request, view: Annotated[View, Depends(viewer())]
                        ) -> dict[str, Any]:
    """Past failures similar to an error, with scores and the elected winner."""
    found = await _memory(request).search_text(body.error, body.traceback, body.job_name, resolved_only=False)
    return view.show({
        "winner": _match(found.winner) if found.winner else None,
        "similar": [_match(m) for m in found.similar],
    })


def _match(match: Any) -> dict[str, Any]:
    return {
        "failure": match.failure.to_dict(),
        "votes": match.votes,
        "similarity": round(match.similarity, 4),
        "evidence": {k: {"hits": e.hits, "similarity": e.best_similarity, "content": e.content}
                     for k, e in match.evidence.items()},
    }


@router.get("/failures", response_model=FailurePage)
async def list_failures(request: Request, view: Annotated[View, Depends(viewer())], signature: str | None = None,
                        resolved: bool | None = None, page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
                        size: Annotated[int, Query(ge=1, le=200)] = 20) -> FailurePage:
    """Remembered failures, filtered by signature and resolution, each with how often it happened."""
    total, rows = await _memory(request).list_failures(signature=signature, resolved=resolved, page=page, size=size)
    return FailurePage(total=total, page=page, size=size,
                       failures=[FailureView.model_validate(view.show(r.to_dict())) for r in rows])


@router.get("/failures/{failure_id}", response_model=FailureView, responses={404: {"model": Message}})
async def get_failure(failure_id: Annotated[int, Path(ge=1, le=2**63 - 1)], request: Request,
                      view: Annotated[View, Depends(viewer())]) -> FailureView:
    """One remembered failure, with how often it happened."""
    record = await _memory(request).get_failure(failure_id)
    return FailureView.model_validate(view.show(record.to_dict()))
