"""Where a running ``smartworker up`` listens, written under its data dir for the CLI to find.

``up`` takes an exclusive lock on ``<data_dir>/up.lock`` for its whole life (so a second ``up`` on
the same data dir is refused in one line) and writes ``<data_dir>/run.json`` once its services
listen. Commands that need the running system (``enqueue``, ``dlq``, ``fix``) read that file
instead of starting services of their own; the lock tells a live ``up`` from one that was killed.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO

from smartworker.errors import ConfigurationError

STATE_FILE = "run.json"
LOCK_FILE = "up.lock"


@dataclass
class RunState:
    """What one ``up`` started and where it listens."""

    pid: int  #: the ``up`` process
    api_url: str | None = None
    redis_url: str | None = None
    database_url: str | None = None
    llm_url: str | None = None
    #: pids of the embedded servers this run started or adopted, by name ("redis", "postgres", "llm")
    embedded: dict[str, int] = field(default_factory=dict)

    def save(self, data_dir: Path) -> None:
        """Write the state atomically (a reader never sees half a file)."""
        path = data_dir / STATE_FILE
        tmp = path.with_name(f".{STATE_FILE}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(asdict(self), indent=1), encoding="utf-8")
        os.replace(tmp, path)

    @classmethod
    def load(cls, data_dir: Path) -> RunState | None:
        """The state an ``up`` left in ``data_dir``, or None when there is none (or it is unreadable)."""
        try:
            raw = json.loads((data_dir / STATE_FILE).read_text(encoding="utf-8"))
            return cls(**raw)
        except (OSError, ValueError, TypeError):
            return None


def clear(data_dir: Path) -> None:
    """Remove the state file (at the end of a clean shutdown)."""
    with contextlib.suppress(FileNotFoundError):
        (data_dir / STATE_FILE).unlink()


class DataDirLock:
    """An exclusive, process-lifetime lock on a data dir; the kernel releases it when the holder dies."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_FILE
        self._fh: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock, or raise ConfigurationError naming the ``up`` that holds it."""
        fh = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "?"
            fh.close()
            raise ConfigurationError(
                f"another smartworker up (pid {holder}) is running on {self.path.parent}: stop it first, "
                "or set APP_DATA_DIR to another directory"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        """Give the lock up."""
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


def held(data_dir: Path) -> bool:
    """True when a live ``up`` holds the data dir's lock."""
    path = data_dir / LOCK_FILE
    if not path.exists():
        return False
    with path.open("r", encoding="utf-8") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
    return False


def running(data_dir: Path) -> RunState | None:
    """The state of the ``up`` running on ``data_dir`` now, or None when none runs there."""
    if not held(data_dir):
        return None
    return RunState.load(data_dir)
