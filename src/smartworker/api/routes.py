"""HTTP routes: jobs, the dead-letter queue, health."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import JSONResponse

from smartworker.api.schemas import DeadJobPage, DeadJobView, Health, JobCreated, JobIn, JobView, Message
from smartworker.service import Service
from smartworker.worker import live_workers

router = APIRouter()

#: The demo job: the bundled login handler fails on it (it expects "email") and asks for a fix.
DEMO_JOB: dict[str, Any] = {"username": "alice@example.com", "password": "wonderland", "reasoning_fix": True}


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


@router.get("/", response_model=JobCreated, status_code=201, tags=["jobs"])
async def demo(request: Request) -> JobCreated:
    """Create the demo job: a login that fails and asks for an AI fix."""
    service = _service(request)
    job_id = await service.queues.enqueue("login", dict(DEMO_JOB))
    return JobCreated(id=job_id, queue=service.queues.names.main)


@router.post("/job", response_model=JobCreated, status_code=201, tags=["jobs"],
             responses={400: {"model": Message}, 422: {"model": Message}})
async def create_job(body: JobIn, request: Request) -> JobCreated:
    """Enqueue a job for a registered handler."""
    service = _service(request)
    settings = service.settings
    service.registry.get(body.name, hazard_testing=settings.hazard_testing)  # 400 when unknown
    opts = body.opts.model_dump(exclude_none=True) if body.opts else None
    if opts and isinstance(opts.get("backoff"), dict):
        opts["backoff"] = dict(opts["backoff"])
    job_id = await service.queues.enqueue(body.name, body.data, opts)
    return JobCreated(id=job_id, queue=service.queues.names.main)


@router.get("/jobs/{job_id}", response_model=JobView, tags=["jobs"], responses={404: {"model": Message}})
async def get_job(job_id: str, request: Request) -> JobView:
    """State, attempts, result or failure of a job (also once it is in the DLQ)."""
    return JobView(**await _service(request).queues.describe(job_id))


@router.get("/health", response_model=Health, tags=["operations"], responses={503: {"model": Health}})
async def health(request: Request) -> JSONResponse:
    """Redis, the database when configured, and live workers."""
    service = _service(request)
    down: list[str] = []
    try:
        await service.queues.redis.ping()
        redis_state = "up"
        workers = await live_workers(service.queues)
    except Exception:
        redis_state, workers = "down", 0
        down.append("redis")
    db_state = await service.database_state()
    if db_state == "down":
        down.append("database")
    if redis_state == "up" and workers == 0:
        down.append("workers")
    # An unavailable sandbox does not stop the queue (fixes end as errors); it is named, with the install command.
    sandbox = f"unavailable: {service.sandbox_unavailable}" if service.sandbox_unavailable else "up"
    body = Health(status="down" if down else "ok", redis=redis_state, database=db_state,
                  workers=workers, down=down, sandbox=sandbox)
    return JSONResponse(body.model_dump(), status_code=503 if down else 200)


@router.get("/dlq", response_model=DeadJobPage, tags=["dead-letter queue"])
async def list_dlq(request: Request, page: int = Query(1, ge=1), size: int = Query(20, ge=1, le=500)) -> DeadJobPage:
    """A page of dead jobs, newest first."""
    total, jobs = await _service(request).queues.list_dead(page, size)
    return DeadJobPage(total=total, page=page, size=size, jobs=[DeadJobView(**j.to_dict()) for j in jobs])


@router.post("/dlq/{dlq_id}/retry", response_model=JobCreated, status_code=201, tags=["dead-letter queue"],
             responses={404: {"model": Message}})
async def retry_dlq(dlq_id: str, request: Request) -> JobCreated:
    """Re-enqueue a dead job into its original queue with fresh attempts."""
    service = _service(request)
    new_id = await service.queues.retry_dead(dlq_id)
    return JobCreated(id=new_id, queue=service.queues.names.main)


@router.delete("/dlq", response_model=Message, tags=["dead-letter queue"])
async def clear_dlq(request: Request) -> Message:
    """Remove every dead job."""
    count = await _service(request).queues.clear_dead()
    return Message(detail=f"removed {count} jobs")


@router.delete("/dlq/{dlq_id}", response_model=Message, tags=["dead-letter queue"],
               responses={404: {"model": Message}})
async def delete_dlq(dlq_id: str, request: Request) -> Message:
    """Remove one dead job."""
    await _service(request).queues.remove_dead(dlq_id)
    return Message(detail=f"removed {dlq_id}")


def install(app: FastAPI) -> None:
    """Mount the routes."""
    from smartworker.api import fixes

    app.include_router(router)
    app.include_router(fixes.router)
