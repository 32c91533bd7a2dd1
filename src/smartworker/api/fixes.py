"""HTTP routes of the AI layer: fix records and resolution requests."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from smartworker.api.schemas import FixPage, FixRequested, Message
from smartworker.api.security import View, require, viewer
from smartworker.auth import Role
from smartworker.reasoning.records import FixRecords
from smartworker.service import Service

router = APIRouter()


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


@router.get("/fixes", response_model=FixPage, tags=["fixes"])
async def list_fixes(request: Request, view: Annotated[View, Depends(viewer())],
                     page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
                     size: Annotated[int, Query(ge=1, le=200)] = 20) -> FixPage:
    """Fix records, newest first (diffs and candidates in ``GET /fixes/{id}``)."""
    total, records = await FixRecords(_service(request).queues.redis).page(page, size)
    brief = []
    for record in records:
        entry = record.to_dict()
        entry.pop("candidates")
        entry.pop("diff")
        entry["candidates"] = len(record.candidates)
        brief.append(view.show(entry))
    return FixPage(total=total, page=page, size=size, fixes=brief)


@router.get("/fixes/{fix_id}", tags=["fixes"], responses={404: {"model": Message}})
async def get_fix(fix_id: str, request: Request, view: Annotated[View, Depends(viewer())]) -> dict[str, Any]:
    """One fix record with every candidate, its diff and sandbox outcome."""
    record = await FixRecords(_service(request).queues.redis).get(fix_id)
    shown: dict[str, Any] = view.show(record.to_dict())
    return shown


@router.post("/dlq/{dlq_id}/fix", response_model=FixRequested, status_code=202, tags=["fixes"],
             dependencies=[Depends(require(Role.OPERATOR))],
             responses={404: {"model": Message}, 409: {"model": Message, "description": "resolved before"}})
async def fix_dead_job(dlq_id: str, request: Request, again: Annotated[bool, Query(
        description="resolve again a dead job that was resolved before (without it: 409 naming that record)")] = False,
                       ) -> FixRequested:
    """Queue a resolution for a dead job now, whether or not it asked for one."""
    request_id = await _service(request).queues.request_fix(dlq_id, again=again)
    return FixRequested(requestId=request_id, dlqId=dlq_id)
