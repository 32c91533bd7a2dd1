"""Warm sandbox sessions against real bubblewrap: one fresh process per run, runs kept apart, limits
per run, and a candidate's batch through the sandbox queue as one job.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import psutil
import pytest

from smartworker.config import Settings
from smartworker.queues import Queues
from smartworker.sandbox import SandboxRequest, SandboxStatus
from smartworker.sandbox.bwrap import BwrapSandbox, package_dir
from smartworker.sandbox.queue import QueuedSandbox, SandboxWorker

PROBE = '''import os
import subprocess

from smartworker import handler

CALLS = []


@handler("probe")
def probe(data):
    CALLS.append(data)
    if data.get("loop"):
        while True:
            pass
    if data.get("fail"):
        raise ValueError("the victim fails")
    if data.get("spawn"):  # a grandchild in a session of its own, left running when the run returns
        subprocess.Popen(["sleep", data["spawn"]], start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if data.get("forge"):
        forged = b'{"status": "ok", "result": "forged"}\\n'
        frames = b"".join(b'{"id": %d, "exit_code": 0, "timed_out": false, "answer": '
                          b'"eyJzdGF0dXMiOiAib2siLCAicmVzdWx0IjogImZvcmdlZCJ9", "overflow": false, '
                          b'"stderr": "", "duration_s": 0}\\n' % i for i in range(1, 20))
        for fd in range(3, 256):
            try:
                os.write(fd, forged + frames)
            except OSError:
                pass
        for pid in (os.getppid(), 1, 2):
            try:
                names = os.listdir(f"/proc/{pid}/fd")
            except OSError:
                continue
            for name in names:
                try:
                    with open(f"/proc/{pid}/fd/{name}", "wb") as out:
                        out.write(frames)
                except OSError:
                    pass
        raise RuntimeError("the forger gives up")
    return {"n": data["n"], "pid": os.getpid(), "calls": len(CALLS), "nice": os.nice(0),
            "hash": hash("smartworker")}
'''


@pytest.fixture
def probe_app(tmp_path: Path) -> Path:
    root = tmp_path / "app"
    (root / "probe").mkdir(parents=True)
    (root / "probe" / "__init__.py").write_text(PROBE)
    return root


def probe(root: Path, **data: object) -> SandboxRequest:
    return SandboxRequest(app_root=root, app_module="probe", handler="probe", data=dict(data))


async def test_each_run_of_a_batch_is_a_fresh_process(sandbox: BwrapSandbox, probe_app: Path) -> None:
    outcomes = await sandbox.run_batch([probe(probe_app, n=i) for i in range(4)])
    assert [o.status for o in outcomes] == [SandboxStatus.OK] * 4, [o.reason for o in outcomes]
    assert [o.result["n"] for o in outcomes] == [0, 1, 2, 3]  # in request order
    # A run never sees what an earlier run did in memory: the app is imported afresh every time.
    assert [o.result["calls"] for o in outcomes] == [1, 1, 1, 1]
    assert len({o.result["pid"] for o in outcomes}) == 4
    # Spares warm up at a lower priority; a run does not inherit it.
    assert {o.result["nice"] for o in outcomes} == {0}


async def test_a_run_past_its_limit_ends_alone(sandbox: BwrapSandbox, probe_app: Path) -> None:
    started = time.monotonic()
    outcomes = await sandbox.run_batch([probe(probe_app, n=0, loop=True), probe(probe_app, n=1),
                                        probe(probe_app, n=2)])
    assert outcomes[0].status in {SandboxStatus.TIMEOUT, SandboxStatus.LIMIT}, outcomes[0].reason
    assert [o.status for o in outcomes[1:]] == [SandboxStatus.OK, SandboxStatus.OK]
    assert time.monotonic() - started < sandbox.limits.timeout_s + 3.0


async def test_a_finished_session_leaves_no_process_on_the_host(sandbox: BwrapSandbox, probe_app: Path) -> None:
    marker = f"3600.{time.time_ns() % 10**6:06d}"  # sleep's argument: finds the grandchild among the host's processes

    def left() -> list[int]:
        return [p.pid for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"] == ["sleep", marker]]

    outcomes = await sandbox.run_batch([probe(probe_app, n=0, spawn=marker), probe(probe_app, n=1)])
    assert [o.status for o in outcomes] == [SandboxStatus.OK] * 2, [o.reason for o in outcomes]
    await sandbox.settle()
    assert left() == []


async def test_a_run_cannot_answer_for_another(sandbox: BwrapSandbox, probe_app: Path) -> None:
    # The forger writes forged answers to every descriptor it has and every one it can find in /proc;
    # the victim's own failure must still be what comes back.
    outcomes = await sandbox.run_batch([probe(probe_app, n=0, forge=True), probe(probe_app, n=1, fail=True)])
    forger, victim = outcomes
    assert not forger.ok, forger.reason  # its own channel carries its forgery too: not one valid answer
    assert victim.status is SandboxStatus.ERROR and victim.exc_type == "ValueError", victim.reason


async def test_runs_of_different_candidates_get_different_sessions(sandbox: BwrapSandbox, probe_app: Path) -> None:
    changed = probe(probe_app, n=1)
    changed = SandboxRequest(app_root=changed.app_root, app_module="probe", handler="probe", data=changed.data,
                             changed_files={"probe/__init__.py": PROBE.replace('"calls": len(CALLS)',
                                                                               '"calls": -1')})
    original, other = await sandbox.run_batch([probe(probe_app, n=0), changed])
    assert original.result["calls"] == 1
    assert other.result["calls"] == -1


def test_the_runner_imports_no_host_side() -> None:
    code = ("import sys, smartworker.sandbox.runner; "
            "print(sorted(m for m in sys.modules if m in {'smartworker.sandbox.verdict', "
            "'smartworker.sandbox.base', 'smartworker.redaction', 'smartworker.config', 'pydantic'}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": str(package_dir()), "PATH": "/usr/bin:/bin"})
    assert done.stdout.strip() == "[]"


async def test_a_batch_through_the_queue_is_one_job(sandbox: BwrapSandbox, probe_app: Path,
                                                   make_settings: Callable[..., Settings],
                                                   redis_url: str) -> None:
    settings = make_settings(root_dir=probe_app, app_module="probe")
    queues = Queues(settings, redis_url)
    worker = SandboxWorker(settings, queues, sandbox)
    try:
        await worker.start()
        backend = QueuedSandbox(queues, sandbox.limits)
        outcomes = await backend.run_batch([probe(settings.app_root, n=i) for i in range(3)])
        assert [o.result["n"] for o in outcomes] == [0, 1, 2]
        assert [o.result["calls"] for o in outcomes] == [1, 1, 1]
        assert await queues.sandbox.getJobCounts("completed") == {"completed": 1}
    finally:
        await worker.close()
        await queues.sandbox.obliterate({"force": True})
        await queues.close()


async def test_another_environment_gets_another_interpreter(sandbox: BwrapSandbox, probe_app: Path) -> None:
    # The same data in another time zone must be able to come out in another string-hash order, as it
    # would on another host: an order that changes is then seen as unstable, not compared.
    plain, zoned = await sandbox.run_batch([probe(probe_app, n=0),
                                            replace(probe(probe_app, n=1), env={"TZ": "<+14>-14"})])
    assert plain.result["hash"] != zoned.result["hash"]
