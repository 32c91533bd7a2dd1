"""FetchNextWorker copies the shape of two bullmq Worker methods: it must be re-checked per release."""

from __future__ import annotations

from importlib.metadata import version

from smartworker.fetch_next import PATCHED_FOR


def test_bullmq_is_the_version_the_worker_patch_was_written_for() -> None:
    installed = version("bullmq")
    assert installed == PATCHED_FOR, (
        f"bullmq is {installed}, but smartworker/fetch_next.py was written for {PATCHED_FOR}: re-read "
        "bullmq's Worker.run, Worker.processJob, Worker.getNextJob/nextJobFromJobData, "
        "Scripts.moveToCompletedArgs/moveToFinished and the moveToFinished Lua script, carry any change "
        "over to FetchNextWorker, run tests/integration/test_fetch_next.py, test_worker.py and "
        "test_node_interop.py, then set PATCHED_FOR to the new version")
