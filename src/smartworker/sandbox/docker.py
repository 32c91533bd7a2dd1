"""The container sandbox: the same runner protocol through ``docker run -i``.

The image (``SANDBOX_DOCKER_IMAGE``) must hold a Python 3.11 and the application's own dependencies;
the smartworker package is mounted read-only from the host (the runner needs only the standard library
and ``smartworker.jobs``). The container has no network, a read-only root, a private /tmp, no
capabilities, and runs as ``nobody``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from smartworker.errors import SandboxUnavailableError
from smartworker.sandbox import workspace
from smartworker.sandbox.base import (
    SANDBOX_APP_DIR,
    SandboxBackend,
    SandboxLimits,
    SandboxOutcome,
    SandboxRequest,
)
from smartworker.sandbox.bwrap import package_dir
from smartworker.sandbox.process import interpret, kill_group, run_process

if TYPE_CHECKING:
    from smartworker.config import Settings

#: Where the smartworker package is mounted inside the container.
PACKAGE_MOUNT = "/opt/smartworker"
#: uid:gid of ``nobody`` in Debian-based images.
NOBODY = (65534, 65534)

CONTAINER_ENV: Mapping[str, str] = {
    "HOME": "/tmp",  # noqa: S108 - the container's private tmpfs
    "LANG": "C.UTF-8",
    "PYTHONPATH": PACKAGE_MOUNT,
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONNOUSERSITE": "1",
    "SMARTWORKER_SANDBOX": "1",
}


def build_command(docker: str, image: str, copy: Path, limits: SandboxLimits, *, name: str,
                  package: Path | None = None) -> list[str]:
    """The ``docker run`` argument vector that runs the runner on ``copy`` (mounted at ``/app``)."""
    package = package or package_dir()
    memory = f"{limits.memory_mb}m"
    argv = [
        docker, "run", "--rm", "-i",
        "--name", name,
        "--network", "none",
        "--read-only",
        "--memory", memory, "--memory-swap", memory,  # equal values: no swap on top
        "--pids-limit", str(limits.max_procs),
        "--cpus", "1",
        "--ulimit", f"cpu={limits.cpu_s}:{limits.cpu_s + 1}",
        "--ulimit", f"fsize={limits.file_mb * 2**20}",
        "--ulimit", "core=0",
        "--cap-drop", "ALL",
        "--security-opt", "no-new-privileges",
        "--user", f"{NOBODY[0]}:{NOBODY[1]}",
        "--tmpfs", f"/tmp:rw,nosuid,nodev,size={limits.tmp_mb}m",  # noqa: S108 - private
        "-v", f"{copy}:{SANDBOX_APP_DIR}:rw",
        "-v", f"{package / 'smartworker'}:{PACKAGE_MOUNT}/smartworker:ro",
        "-w", SANDBOX_APP_DIR,
    ]
    for key, value in CONTAINER_ENV.items():
        argv += ["-e", f"{key}={value}"]
    argv += [image, "python", "-B", "-s", "-P", "-m", "smartworker.sandbox.runner"]
    return argv


class DockerSandbox(SandboxBackend):
    """Runs each request in a fresh container on a temporary copy of the app tree."""

    name = "docker"

    def __init__(self, limits: SandboxLimits | None = None, *, concurrency: int = 2,
                 image: str = "python:3.11-slim", docker: str | None = None) -> None:
        super().__init__(limits, concurrency=concurrency)
        self.image = image
        self._docker = docker or shutil.which("docker") or "docker"

    @classmethod
    def from_settings(cls, settings: Settings) -> DockerSandbox:
        """The backend with the ``SANDBOX_*`` limits, concurrency and image."""
        return cls(SandboxLimits.from_settings(settings), concurrency=settings.sandbox_concurrency,
                   image=settings.sandbox_docker_image)

    def check(self) -> None:
        """Raise SandboxUnavailableError unless the docker CLI is installed and its engine answers."""
        if not shutil.which(self._docker):
            raise SandboxUnavailableError("docker not found on PATH: install Docker Engine, "
                                          "or set SANDBOX_BACKEND=bwrap")
        try:
            done = subprocess.run([self._docker, "version", "--format", "{{.Server.Version}}"],
                                  capture_output=True, text=True, timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SandboxUnavailableError(f"the docker engine does not answer ({exc})") from exc
        if done.returncode != 0:
            why = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise SandboxUnavailableError(f"the docker engine is not reachable ({why})")

    async def _run(self, request: SandboxRequest, limits: SandboxLimits) -> SandboxOutcome:
        started = time.perf_counter()
        # Root on the host, nobody in the container: hand the copy to nobody so the handler can write.
        owner = NOBODY if os.geteuid() == 0 else None
        copy = await asyncio.to_thread(workspace.prepare, request.app_root, request.changed_files,
                                       max_bytes=limits.copy_max_mb * 2**20, owner=owner)
        name = f"smartworker-sandbox-{uuid.uuid4().hex[:12]}"

        async def kill(proc: asyncio.subprocess.Process) -> None:
            # Killing the CLI does not stop the container: ask the engine, then end the CLI.
            with contextlib.suppress(OSError):
                killer = await asyncio.create_subprocess_exec(
                    self._docker, "kill", name, stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.DEVNULL)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(killer.wait(), 10)
            await kill_group(proc)

        try:
            argv = build_command(self._docker, self.image, copy, limits, name=name)
            stdin = json.dumps(request.payload(SANDBOX_APP_DIR)).encode()
            result = await run_process(argv, stdin, timeout_s=limits.timeout_s, kill=kill,
                                       start_new_session=True)
        finally:
            await asyncio.to_thread(workspace.remove, copy)
        outcome = interpret(result, limits=limits, inner_root=SANDBOX_APP_DIR, app_root=request.app_root)
        return replace(outcome, duration_s=time.perf_counter() - started)
