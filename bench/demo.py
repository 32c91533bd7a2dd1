"""``python bench/demo.py``: the README's demo, end to end, with the bundled local model, per AI_SEED.

For each seed: a fresh data dir, ``smartworker up`` as a user starts it (embedded Redis and
PostgreSQL, the local model on a port of its own, the real worker, sandbox and loop), a wait until
the model answers, then ``GET /`` (the demo job) and a wait for its fix record's verdict. The clock
runs from the demo request to the verdict; start-up and model loading are reported apart.

    PYTHONPATH=src python bench/demo.py                  # seeds 0..4
    PYTHONPATH=src python bench/demo.py --seeds 0 --timeout 1200

Prints one row per seed, then ``demo fixed: k/N, median S s`` and the load average before and
after (the machine is shared: say the load with the numbers). The model is assembled once into a
cache and hard-linked into each fresh data dir, so a run measures the fix, not 1.1 GB of copying.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
FINAL = {"fixed", "not_fixed", "error", "attached", "abstained"}
#: SmartWorker's own variables are cleared so the run uses the defaults a newcomer gets.
PREFIXES = ("APP_", "AI_", "REDIS_", "DATABASE_", "SMARTWORKER_", "HAZARD_", "SANDBOX_", "MEMORY_", "JOB_",
            "WORKER_", "FIX_", "NODE_ENV")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def cached_model(cache: Path) -> Path:
    """The assembled, verified model in ``cache`` (assembled there on first use)."""
    from smartworker.reasoning.local_model import pull

    return pull(cache)


def fresh_data_dir(root: Path, seed: int, model: Path) -> Path:
    """A new data dir holding only a hard link to the verified model (and its sidecar)."""
    data_dir = root / f"seed{seed}"
    (data_dir / "models").mkdir(parents=True)
    for source in (model, model.with_name(model.name + ".verified.json")):
        target = data_dir / "models" / source.name
        try:
            os.link(source, target)
        except OSError:
            shutil.copy2(source, target)
    return data_dir


def wait(predicate: Any, timeout: float, what: str, proc: subprocess.Popen[bytes], interval: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"smartworker up exited with {proc.returncode} while waiting for {what}")
        with contextlib.suppress(httpx.HTTPError, ValueError, KeyError):
            found = predicate()
            if found:
                return found
        time.sleep(interval)
    raise TimeoutError(f"{what}: not within {timeout:.0f} s")


def progress_key(record: dict[str, Any]) -> str:
    """What changes when the resolution moves on (not the clock)."""
    progress = record.get("progress") or {}
    return f"{record.get('status')} {progress.get('phase')} {progress.get('candidate')} {progress.get('tokens')}"


def run_seed(seed: int, root: Path, model: Path, timeout: float, quiet: bool, extra: dict[str, str]) -> dict[str, Any]:
    data_dir = fresh_data_dir(root, seed, model)
    port, llm_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
    env.update(APP_DATA_DIR=str(data_dir), APP_PORT=str(port), AI_LOCAL_LLM_PORT=str(llm_port), AI_SEED=str(seed),
               NODE_ENV="development", PYTHONPATH=str(ROOT / "src"), **extra)
    log_path = root / f"up-seed{seed}.log"
    base = f"http://127.0.0.1:{port}"
    row: dict[str, Any] = {"seed": seed, "status": "error", "seconds": None, "log": str(log_path)}
    started = time.monotonic()
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "smartworker", "up"], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait(lambda: httpx.get(base + "/health", timeout=5).status_code == 200, 300, "/health 200", proc)
            wait(lambda: httpx.get(f"http://127.0.0.1:{llm_port}/health", timeout=5).status_code == 200, 600,
                 "the local model answering", proc)
            row["startup_s"] = round(time.monotonic() - started, 1)
            clicked = time.time()
            job_id = httpx.get(base + "/", timeout=10).json()["id"]
            shown = ""

            def verdict() -> dict[str, Any] | None:
                nonlocal shown
                page = httpx.get(base + "/fixes", timeout=10).json()
                if not page["fixes"]:
                    return None
                record: dict[str, Any] = httpx.get(f"{base}/fixes/{page['fixes'][0]['id']}", timeout=10).json()
                key = progress_key(record)
                if not quiet and key != shown:  # the record's own progress line (GET /fixes/{id})
                    print(f"  seed {seed}: {(record.get('progress') or {}).get('text', record['status'])}", flush=True)
                    shown = key
                return record if record["status"] in FINAL else None

            record = wait(verdict, timeout, f"the verdict on demo job {job_id}", proc, interval=2.0)
            row.update(status=record["status"], reason=str(record.get("reason", ""))[:160],
                       seconds=round(record["finished_on"] / 1000 - clicked, 1),
                       candidates=len(record.get("candidates") or []),
                       tokens=int(record.get("prompt_tokens") or 0) + int(record.get("completion_tokens") or 0),
                       diff=record.get("diff", ""))
        except (RuntimeError, TimeoutError, httpx.HTTPError) as exc:
            row["reason"] = str(exc)
        finally:
            stop(proc)
    return row


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop ``up`` as a user would: Ctrl-C, then again to hand jobs in flight back (a third would
    exit at once and leave the embedded servers running)."""
    for grace in (20, 120):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0,1,2,3,4", help="comma-separated AI_SEED values (default 0..4)")
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds to wait for one verdict")
    parser.add_argument("--keep", action="store_true", help="keep the data dirs and logs")
    parser.add_argument("--show-diff", action="store_true", help="print each seed's verified change")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting for `up` (e.g. AI_TIMEOUT=3600 on a loaded machine); printed with the result")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    extra = dict(item.split("=", 1) for item in args.set)

    root = Path(tempfile.mkdtemp(prefix="sw-demo-bench-"))
    print(f"load before: {load()}   work dir {root}   settings: {extra or 'the defaults'}", flush=True)
    began = time.monotonic()
    model = cached_model(root / "model-cache")
    print(f"model assembled in {time.monotonic() - began:.0f} s", flush=True)
    rows = []
    try:
        for seed in seeds:
            row = run_seed(seed, root, model, args.timeout, args.quiet, extra)
            rows.append(row)
            print(f"seed {seed}: {row['status']:<9} {row['seconds']} s  start-up {row.get('startup_s')} s  "
                  f"candidates {row.get('candidates')}  tokens {row.get('tokens')}  load {load()}  "
                  f"{row.get('reason', '')}", flush=True)
            if args.show_diff and row.get("diff"):
                print(row["diff"])
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    fixed = [r for r in rows if r["status"] == "fixed"]
    times = [r["seconds"] for r in fixed]
    median = f"{statistics.median(times):.0f}" if times else "-"
    print(f"demo fixed: {len(fixed)}/{len(rows)}, median {median} s (fixed runs, demo request to verdict)")
    print(f"load after: {load()}")
    return 0 if rows and len(fixed) == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
