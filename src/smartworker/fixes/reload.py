"""Workers re-import the application when its code changed on disk (a fix applied or deployed), so
the dead jobs a fix heals run the fixed handlers without a restart.

A counter in Redis (the code generation) is bumped by ``apply`` and ``deployed``, in whichever process
takes that step; every job worker polls it, re-imports the application's modules when it moves, and
records the generation it has loaded, which a heal waits for before it retries anything.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
import sysconfig
from pathlib import Path

from smartworker import keys
from smartworker.jobs import load_app
from smartworker.logs import get_logger
from smartworker.queues import Queues
from smartworker.shutdown import check_cancelled

log = get_logger(__name__)

#: How often a worker looks at the code generation (one GET).
POLL_S = 1.0


async def bump(queues: Queues) -> int:
    """Say the application code changed; returns the new generation."""
    return int(await queues.redis.incr(keys.code_generation(queues.names.main)))


async def generation(queues: Queues) -> int:
    """The current code generation (0 before any change)."""
    return int(await queues.redis.get(keys.code_generation(queues.names.main)) or 0)


async def watch_code(queues: Queues, module: str, root: Path, worker_id: str) -> None:
    """Run in a job worker until cancelled: re-import the application whenever the generation moves."""
    loaded = keys.code_loaded(queues.names.main)
    seen: int | None = None
    while True:
        check_cancelled()
        try:
            current = await generation(queues)
            if seen is not None and current != seen:
                # Import in a thread: user modules may do slow work at import time.
                await asyncio.to_thread(reload_app, module, root)
                log.info("application code reloaded", generation=current, worker=worker_id)
            if current != seen:
                await queues.redis.hset(loaded, worker_id, current)
                seen = current
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # A fix that does not import leaves the old handlers running; its heal stops on the
            # first batch that fails again.
            log.error("application code not reloaded", error=f"{type(exc).__name__}: {exc}")
            if seen is not None:
                await _quietly_mark(queues, loaded, worker_id)
        await asyncio.sleep(POLL_S)


async def _quietly_mark(queues: Queues, loaded: str, worker_id: str) -> None:
    try:
        await queues.redis.hset(loaded, worker_id, await generation(queues))
    except Exception as exc:
        log.warning("code generation not recorded", error=str(exc))


def reload_app(module: str, root: Path) -> None:
    """Forget every imported module whose file is under ``root`` (not SmartWorker's own, nor installed
    packages, even in a virtualenv inside the project), then import ``module`` again."""
    top = root.resolve()
    installed = {Path(p).resolve() for p in {*sysconfig.get_paths().values(), sys.prefix, sys.base_prefix}}
    for name, mod in list(sys.modules.items()):
        file = getattr(mod, "__file__", None)
        if not file or name == "smartworker" or name.startswith("smartworker."):
            continue
        path = Path(file).resolve()
        if not path.is_relative_to(top) or any(path.is_relative_to(p) for p in installed):
            continue
        if {"site-packages", "dist-packages"} & set(path.parts):
            continue
        del sys.modules[name]
    importlib.invalidate_caches()
    load_app(module, top)
