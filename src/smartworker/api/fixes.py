"""HTTP routes of the AI layer: fix records and resolution requests."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from smartworker.api.schemas import FixDetail, FixPage, FixRequested, Message
from smartworker.api.security import View, require, viewer
from smartworker.auth import ANONYMOUS, Principal, Role
from smartworker.reasoning import progress
from smartworker.reasoning.records import FixRecord, FixRecords
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
        entry = _shown(record, view)
        entry.pop("candidates")
        entry.pop("diff")
        entry["candidates"] = len(record.candidates)
        brief.append(entry)
    return FixPage(total=total, page=page, size=size, fixes=brief)


@router.get("/fixes/{fix_id}", response_model=FixDetail, tags=["fixes"], responses={404: {"model": Message}})
async def get_fix(fix_id: str, request: Request, view: Annotated[View, Depends(viewer())]) -> dict[str, Any]:
    """One fix record with every candidate, its diff and sandbox outcome, and its live ``progress``."""
    record = await FixRecords(_service(request).queues.redis).get(fix_id)
    return _shown(record, view)


def _shown(record: FixRecord, view: View) -> dict[str, Any]:
    """A fix record as ``view`` may see it. Its review is SmartWorker's own metadata (commit ids,
    content hashes, the branch), which redaction would take for secrets: only its free text, which
    can quote one, goes through redaction."""
    shown: dict[str, Any] = view.show(record.to_dict())
    review = record.to_dict()["review"]
    if review is not None:
        for step in review["steps"]:
            step["note"] = view.show(step["note"])
        review["no_branch"], review["pr_error"] = view.show(review["no_branch"]), view.show(review["pr_error"])
        if review["heal"] is not None:
            review["heal"]["note"] = view.show(review["heal"]["note"])
        shown["review"] = review
    shown["progress"] = progress.view(record.to_dict())  # computed now: elapsed seconds move while running
    shown["concerns"] = [view.show(c) for c in record.concerns]
    return shown


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


def _who(principal: Principal) -> str:
    """Who took a step: the API key's name, or "api" while the API is open (no key exists)."""
    return "api" if principal is ANONYMOUS else principal.name


#: Approving, rejecting and marking deployed are an operator's steps; writing code is an admin's.
Operator = Annotated[Principal, Depends(require(Role.OPERATOR))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]


@router.post("/fixes/{fix_id}/approve", tags=["fixes"], responses=_STEP_ANSWERS)
async def approve_fix(fix_id: str, request: Request, principal: Operator) -> dict[str, Any]:
    """Approve a proposed fix (and open its pull request when FIX_PR_PROVIDER is set). Operator."""
    return _shown(await _review(request).approve(fix_id, _who(principal)), View(principal, raw=False))


@router.post("/fixes/{fix_id}/reject", tags=["fixes"], responses=_STEP_ANSWERS)
async def reject_fix(fix_id: str, body: Rejection, request: Request, principal: Operator) -> dict[str, Any]:
    """Reject a proposed fix with a reason; the model is told not to propose it again. Operator."""
    return _shown(await _review(request).reject(fix_id, _who(principal), body.reason), View(principal, raw=False))


@router.post("/fixes/{fix_id}/apply", tags=["fixes"], responses={**_STEP_ANSWERS, 409: {
    "model": Message,
    "description": "refused, naming the file that changed or is not clean; or apply is off (FIX_APPLY)"}})
async def apply_fix(fix_id: str, request: Request, principal: Admin) -> dict[str, Any]:
    """Write an approved fix into APP_ROOT_DIR's working tree (FIX_APPLY=true) and heal its dead jobs. Admin."""
    return _shown(await _review(request).apply(fix_id, _who(principal)), View(principal, raw=False))


@router.post("/fixes/{fix_id}/deployed", tags=["fixes"], responses=_STEP_ANSWERS)
async def fix_deployed(fix_id: str, request: Request, principal: Operator) -> dict[str, Any]:
    """Note that an approved fix is live, and heal the dead jobs it covers. Operator."""
    return _shown(await _review(request).deployed(fix_id, _who(principal)), View(principal, raw=False))


@router.post("/dlq/{dlq_id}/fix", response_model=FixRequested, status_code=202, tags=["fixes"],
             dependencies=[Depends(require(Role.OPERATOR))],
             responses={404: {"model": Message}, 409: {"model": Message, "description": "resolved before"}})
async def fix_dead_job(dlq_id: str, request: Request, again: Annotated[bool, Query(
        description="resolve again a dead job that was resolved before (without it: 409 naming that record)")] = False,
                       ) -> FixRequested:
    """Queue a resolution for a dead job now, whether or not it asked for one."""
    request_id = await _service(request).queues.request_fix(dlq_id, again=again)
    return FixRequested(requestId=request_id, dlqId=dlq_id)
