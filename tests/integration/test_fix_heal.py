"""Heal on real Redis and real git: a fix applied (or marked deployed) retries the dead jobs with its
handler and signature, in bounded batches, through the real workers, which re-import the changed
code; a batch that heals nothing stops the heal and its jobs return to the DLQ linked to the fix."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import require
from tests.gitrepo import make_repo
from tests.integration.test_worker import wait_for
from tests.shop import FIXED, TASKS, verified

from smartworker import keys
from smartworker.config import Settings
from smartworker.fixes.delivery import deliver
from smartworker.fixes.heal import dead_signature
from smartworker.fixes.review import FixReview
from smartworker.jobs import JobStatus
from smartworker.reasoning.consumer import ReasoningWorker
from smartworker.reasoning.records import FixRecord, FixRecords, Heal
from smartworker.service import Service
from smartworker.worker import JobWorker

DEAD = 5


@pytest.fixture
async def shop(make_settings: Callable[..., Settings], tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    """A git repository with a failing handler, its workers running, and DEAD jobs dead in the DLQ."""
    require(shutil.which("git") is not None, "git is not installed")
    package = f"shop{uuid.uuid4().hex[:8]}"  # each test imports its own copy of the app
    repo = make_repo(tmp_path / "repo", {f"{package}/__init__.py": "from . import tasks  # noqa: F401\n",
                                         f"{package}/tasks.py": TASKS})
    settings = make_settings(root_dir=repo, app_module=package, fix_apply=True, job_attempts=1, fix_heal_batch=2)
    service = await Service.open(settings)
    parts = [JobWorker(settings, service.queues, service.registry),
             ReasoningWorker(settings, service.queues, service.resolver())]
    for part in parts:
        await part.start()
    try:
        for i in range(DEAD):
            await service.queues.enqueue("greet", {"full_name": f"customer {i}"})
        await wait_for(lambda: _dead(service, DEAD))
        yield {"service": service, "settings": settings, "repo": repo, "package": package}
    finally:
        for part in parts:
            await part.close()
        for queue in (service.queues.main, service.queues.dlq, service.queues.reasoning):
            await queue.obliterate(force=True)
        await service.close()


async def _dead(service: Service, count: int) -> bool:
    total, _ = await service.queues.list_dead(1, 100)
    return bool(total == count and await service.queues.main.getFailedCount() == 0)


async def proposed(shop: dict[str, Any]) -> FixRecord:
    """The verified fix of the shop's failure, delivered, as the resolver leaves it."""
    service, settings = shop["service"], shop["settings"]
    _, dead = await service.queues.list_dead(1, 1)
    record = verified(settings.app_root, {f"{shop['package']}/tasks.py": FIXED})
    record.dlq_id, record.queue, record.job_id = dead[0].id, dead[0].queue, dead[0].job_id
    record.signature = dead_signature(dead[0])
    await deliver(settings, service.queues.redis, record, {f"{shop['package']}/tasks.py": FIXED})
    await FixRecords(service.queues.redis).save(record)
    return record


async def healed(service: Service, fix_id: str) -> Heal:
    async def finished() -> Heal | None:
        heal = await FixRecords(service.queues.redis).heal(fix_id)
        return heal if heal is not None and heal.state in ("done", "stopped") else None

    found: Heal = await wait_for(finished, timeout=60)
    return found


async def test_an_applied_fix_heals_its_dead_jobs(shop: dict[str, Any]) -> None:
    service = shop["service"]
    record = await proposed(shop)
    # A dead job of another handler, and one with another failure, stay where they are.
    await service.queues.enqueue("boom", {"why": "unrelated"}, {"attempts": 1})
    await service.queues.enqueue("greet", {"name": 42}, {"attempts": 1})
    await wait_for(lambda: _dead(service, DEAD + 2))
    steps = FixReview(shop["settings"], service.queues)
    await steps.approve(record.id, "ada")
    await steps.apply(record.id, "ada")
    heal = await healed(service, record.id)
    assert (heal.state, heal.total, heal.retried, heal.healed, heal.failed) == ("done", DEAD, DEAD, DEAD, 0)
    assert heal.note == f"healed {DEAD} of {DEAD}"
    total, left = await service.queues.list_dead(1, 10)
    assert total == 2 and {d.name for d in left} == {"boom", "greet"}
    # The workers run the fixed code now: a later job of the same kind completes.
    job_id = await service.queues.enqueue("greet", {"full_name": "grace hopper"})

    async def done() -> Any:
        return await service.queues.job_state(job_id) is JobStatus.COMPLETED

    await wait_for(done)
    view = await service.queues.describe(job_id)
    assert view["result"] == {"greeting": "Hello, Grace Hopper!"}
    # Marking it deployed later takes on nothing twice.
    deployed = await steps.deployed(record.id, "ada")
    assert deployed.review is not None and deployed.review.heal is not None
    assert (await healed(service, record.id)).total == DEAD


async def test_a_fix_that_does_not_heal_stops_after_one_batch(shop: dict[str, Any]) -> None:
    service = shop["service"]
    record = await proposed(shop)
    steps = FixReview(shop["settings"], service.queues)
    await steps.approve(record.id, "ada")
    # Marked deployed, but the code on disk was never changed: the retried jobs fail again.
    await steps.deployed(record.id, "ada")
    heal = await healed(service, record.id)
    assert (heal.state, heal.total, heal.retried, heal.healed, heal.failed) == ("stopped", DEAD, 2, 0, 2)
    assert heal.note == f"stopped: the last batch healed 0 of 2; {DEAD - 2} dead jobs stay in the DLQ"
    # The jobs that failed again are back in the DLQ, their new failure linked to the fix.
    link = keys.dlq_job_id(service.queues.names.main, keys.heal_job_id(record.id, ""))
    assert len(heal.failed_again) == 2 and all(d.startswith(link) for d in heal.failed_again)
    for dlq_id in heal.failed_again:
        again = await service.queues.dead_job(dlq_id)
        assert again is not None and dead_signature(again) == record.signature
    total, _ = await service.queues.list_dead(1, 10)
    assert total == DEAD
