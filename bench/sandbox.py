"""Time from "candidate ready" to "verdict", bwrap against a plain subprocess, side by side.

    PYTHONPATH=src python bench/sandbox.py [--runs 30] [--replays 0]

Both sides do the same work (copy the demo app, write the fixed login.py, start the runner, parse the
answer, remove the copy); the plain side just skips bwrap. Runs alternate between the two so machine
noise hits both alike.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from dataclasses import replace

from smartworker.config import DEMO_APP_ROOT
from smartworker.sandbox import (
    SandboxBackend,
    SandboxLimits,
    SandboxOutcome,
    SandboxRequest,
    verify,
    workspace,
)
from smartworker.sandbox.bwrap import BwrapSandbox, package_dir
from smartworker.sandbox.process import interpret, run_process

FAILING = {"password": "wonderland", "username": "alice@example.com"}
REPLAY = {"email": "bob@example.com", "password": "builder"}


class PlainRunner(SandboxBackend):
    """The runner in a plain child process: no isolation, for the baseline only."""

    name = "plain"

    def check(self) -> None:
        return None

    async def _run(self, request: SandboxRequest, limits: SandboxLimits) -> SandboxOutcome:
        started = time.perf_counter()
        copy = await asyncio.to_thread(workspace.prepare, request.app_root, request.changed_files,
                                       max_bytes=limits.copy_max_mb * 2**20)
        try:
            result = await run_process(
                [sys.executable, "-B", "-s", "-P", "-m", "smartworker.sandbox.runner"],
                json.dumps(request.payload(str(copy))).encode(), timeout_s=limits.timeout_s,
                start_new_session=True, cwd=copy,
                env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(package_dir())},
            )
        finally:
            await asyncio.to_thread(workspace.remove, copy)
        outcome = interpret(result, limits=limits, inner_root=str(copy), app_root=request.app_root)
        return replace(outcome, duration_s=time.perf_counter() - started)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main(runs: int, replays: int) -> None:
    source = (DEMO_APP_ROOT / "swdemo" / "login.py").read_text()
    fixed = source.replace('data.get("email")', 'data.get("email") or data.get("username")')
    request = SandboxRequest(app_root=DEMO_APP_ROOT, app_module="swdemo", handler="login",
                             changed_files={"swdemo/login.py": fixed})
    backends: dict[str, SandboxBackend] = {
        "bwrap": BwrapSandbox(concurrency=2),
        "plain": PlainRunner(concurrency=2),
    }
    backends["bwrap"].check()
    times: dict[str, list[float]] = {name: [] for name in backends}
    for backend in backends.values():  # warm the page cache once, untimed
        await verify(backend, request, FAILING, [REPLAY] * replays)
    for _ in range(runs):
        for name, backend in backends.items():
            started = time.perf_counter()
            verdict = await verify(backend, request, FAILING, [REPLAY] * replays)
            times[name].append(time.perf_counter() - started)
            assert verdict.fixed, verdict.reason
    print(f"candidate ready -> verdict, demo login fix, {replays} replay(s), {runs} runs each")
    print(f"{'':8}{'p50 ms':>10}{'p95 ms':>10}{'mean ms':>10}")
    for name, values in times.items():
        print(f"{name:8}{percentile(values, .5) * 1e3:10.1f}{percentile(values, .95) * 1e3:10.1f}"
              f"{statistics.fmean(values) * 1e3:10.1f}")
    ratio50 = percentile(times["bwrap"], .5) / percentile(times["plain"], .5)
    ratio95 = percentile(times["bwrap"], .95) / percentile(times["plain"], .95)
    print(f"ratio bwrap/plain: p50 {ratio50:.2f}x, p95 {ratio95:.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--replays", type=int, default=0)
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.replays))
