"""Host side of the runner protocol, shared by the backends: spawn, feed, bound, time out, interpret.

Both bwrap and ``docker run`` report a sandboxed process killed by signal N as exit status 128 + N, so
one interpretation serves both.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smartworker.sandbox.base import SandboxLimits, SandboxOutcome, SandboxStatus

#: Largest answer we accept on the protocol channel (a result bigger than this is a crash).
CHANNEL_CAP = 8 * 2**20
#: How much of stderr (and of the channel) an outcome keeps.
TAIL_BYTES = 8 * 2**10
#: After a kill, how long we wait for pipes to close before giving up on them.
DRAIN_S = 3.0

#: Signals that mean a resource limit we set was reached.
LIMIT_SIGNALS = {signal.SIGXCPU: "CPU time", signal.SIGXFSZ: "file size"}

Killer = Callable[[asyncio.subprocess.Process], Awaitable[None]]


@dataclass(frozen=True)
class ProcessResult:
    """What came back from one sandbox process."""

    exit_code: int | None  #: None when it had to be abandoned
    channel: bytes  #: the protocol channel (stdout), at most CHANNEL_CAP bytes
    channel_overflow: bool
    stderr_tail: bytes
    timed_out: bool
    duration_s: float


async def kill_group(proc: asyncio.subprocess.Process) -> None:
    """SIGKILL the process group the sandbox leads (spawned with ``start_new_session=True``)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()


async def _read_head(stream: asyncio.StreamReader, cap: int) -> tuple[bytes, bool]:
    kept = bytearray()
    overflow = False
    while chunk := await stream.read(65536):
        if len(kept) + len(chunk) > cap:
            overflow = True  # keep draining so the child never blocks on a full pipe
            kept += chunk[: max(0, cap - len(kept))]
        else:
            kept += chunk
    return bytes(kept), overflow


async def _read_tail(stream: asyncio.StreamReader, keep: int) -> bytes:
    kept = bytearray()
    while chunk := await stream.read(65536):
        kept += chunk
        if len(kept) > 2 * keep:
            del kept[:-keep]
    return bytes(kept[-keep:])


async def _feed(stream: asyncio.StreamWriter, data: bytes) -> None:
    # A sandbox that dies before reading everything closes the pipe: that is its outcome, not ours.
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        stream.write(data)
        await stream.drain()
        stream.close()
        await stream.wait_closed()


async def run_process(argv: Sequence[str], stdin: bytes, *, timeout_s: float, kill: Killer = kill_group,
                      **popen: Any) -> ProcessResult:
    """Run ``argv`` (never through a shell) with ``stdin``; kill it with ``kill`` after ``timeout_s``."""
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        **popen,
    )
    assert proc.stdin and proc.stdout and proc.stderr  # all three are pipes above
    channel_task = asyncio.create_task(_read_head(proc.stdout, CHANNEL_CAP))
    stderr_task = asyncio.create_task(_read_tail(proc.stderr, TAIL_BYTES))
    feed_task = asyncio.create_task(_feed(proc.stdin, stdin))
    wait_task = asyncio.create_task(proc.wait())
    timed_out = False
    try:
        done, _ = await asyncio.wait({wait_task}, timeout=timeout_s)
        timed_out = not done
    finally:
        # Also on cancellation of the caller: nothing may outlive the request.
        if not wait_task.done():
            await kill(proc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(wait_task), DRAIN_S)
        await asyncio.wait({channel_task, stderr_task, feed_task}, timeout=DRAIN_S)
        for task in (channel_task, stderr_task, feed_task, wait_task):
            if not task.done():
                task.cancel()
    duration = time.perf_counter() - started
    channel, overflow = channel_task.result() if channel_task.done() and not channel_task.cancelled() \
        else (b"", False)
    tail = stderr_task.result() if stderr_task.done() and not stderr_task.cancelled() else b""
    return ProcessResult(
        exit_code=proc.returncode, channel=channel, channel_overflow=overflow, stderr_tail=tail,
        timed_out=timed_out, duration_s=duration,
    )


def map_paths(text: str, inner_root: str, app_root: Path) -> str:
    """Rewrite paths under the copy's mount point to the original app root, so a traceback from the
    sandbox parses exactly like one from the worker."""
    pattern = re.compile(r'(?<=["\'\s(])' + re.escape(inner_root.rstrip("/")) + r"(?=/)")
    return pattern.sub(str(app_root).replace("\\", "/"), text)


def _tail(data: bytes) -> str:
    return data[-TAIL_BYTES:].decode("utf-8", "replace")


def _first_line(text: str | None, limit: int = 200) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def interpret(result: ProcessResult, *, limits: SandboxLimits, inner_root: str,
              app_root: Path) -> SandboxOutcome:
    """Turn a finished sandbox process into a :class:`SandboxOutcome`."""
    common: dict[str, Any] = {
        "exit_code": result.exit_code,
        "stdout_tail": _tail(result.channel),
        "stderr_tail": map_paths(_tail(result.stderr_tail), inner_root, app_root),
        "duration_s": result.duration_s,
    }
    if result.timed_out:
        return SandboxOutcome(SandboxStatus.TIMEOUT, f"no answer within {limits.timeout_s:g} s; killed",
                              **common)
    code = result.exit_code
    if code is not None and (code > 128 or code < 0):
        signum = code - 128 if code > 128 else -code
        try:
            sig = signal.Signals(signum)
        except ValueError:
            sig = None
        if sig in LIMIT_SIGNALS:
            return SandboxOutcome(SandboxStatus.LIMIT, f"{LIMIT_SIGNALS[sig]} limit reached ({sig.name})",
                                  **common)
        name = sig.name if sig else f"signal {signum}"
        return SandboxOutcome(SandboxStatus.KILLED, f"ended by {name}", **common)
    if result.channel_overflow:
        return SandboxOutcome(SandboxStatus.CRASH, f"answer larger than {CHANNEL_CAP // 2**20} MB", **common)
    if code != 0:
        lines = _tail(result.stderr_tail).strip().splitlines()
        last = _first_line(lines[-1]) if lines else ""
        return SandboxOutcome(SandboxStatus.CRASH, f"exit status {code} without an answer"
                              + (f": {last}" if last else ""), **common)
    try:
        answer = json.loads(result.channel)
        if not isinstance(answer, dict) or answer.get("status") not in ("ok", "error"):
            raise ValueError("not a runner answer")
    except ValueError:
        return SandboxOutcome(SandboxStatus.CRASH, "no valid answer on the protocol channel", **common)
    if answer["status"] == "ok":
        return SandboxOutcome(SandboxStatus.OK, "handler completed", result=answer.get("result"), **common)
    exc_type = str(answer.get("exc_type") or "Exception")
    message = str(answer.get("message") or "")
    phase = str(answer.get("phase") or "handler")
    where = {"load": "importing the app", "result": "encoding the result"}.get(phase, "handler")
    return SandboxOutcome(
        SandboxStatus.ERROR,
        f"{where} raised {exc_type}: {_first_line(map_paths(message, inner_root, app_root))}".rstrip(": "),
        exc_type=exc_type,
        message=map_paths(message, inner_root, app_root),
        traceback=map_paths(str(answer.get("traceback") or ""), inner_root, app_root),
        phase=phase,
        values=_values(answer.get("values"), inner_root, app_root),
        **common,
    )


def _values(raw: Any, inner_root: str, app_root: Path) -> dict[str, str]:
    """The runner's failing-line values, if it sent a well-formed map (it is untrusted output)."""
    if not isinstance(raw, dict):
        return {}
    return {str(k)[:64]: map_paths(str(v), inner_root, app_root)[:400] for k, v in list(raw.items())[:16]}
