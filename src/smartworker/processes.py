"""Processes SmartWorker did not necessarily start itself: is one alive, stop it, which ones use a data dir.

An ``up`` killed with SIGKILL leaves its embedded servers behind, reparented; the next ``up``
finds them here by their pids or by the data dir path on their command lines.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import psutil


def alive(pid: int) -> bool:
    """True when ``pid`` runs (a zombie, dead but not yet reaped, does not count)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def stop_pid(pid: int, sig: signal.Signals = signal.SIGTERM, timeout: float = 10.0) -> bool:
    """Send ``sig`` to ``pid`` and wait for it to end; SIGKILL after ``timeout`` s. True when it ended."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and alive(pid):
        time.sleep(0.05)
    return not alive(pid)


def stop_child(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Ask a child process to stop (SIGTERM), then kill it if it has not within ``timeout`` s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def using(path: Path) -> list[psutil.Process]:
    """Live processes other than this one whose command line names ``path`` or a path inside it."""
    needle = str(path.resolve())
    found: list[psutil.Process] = []
    for proc in psutil.process_iter(["pid", "cmdline", "status"]):
        if proc.info["pid"] == os.getpid() or proc.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        cmdline = proc.info["cmdline"] or []
        if any(arg == needle or f"{needle}{os.sep}" in arg for arg in cmdline):
            found.append(proc)
    return found
