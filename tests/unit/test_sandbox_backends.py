"""Backend selection and the command lines the backends build (no sandbox is started)."""

from __future__ import annotations

from pathlib import Path

from smartworker.config import Settings
from smartworker.sandbox import SandboxLimits, create_sandbox
from smartworker.sandbox.bwrap import BwrapSandbox
from smartworker.sandbox.bwrap import build_command as bwrap_command
from smartworker.sandbox.docker import DockerSandbox
from smartworker.sandbox.docker import build_command as docker_command

LIMITS = SandboxLimits(timeout_s=5, memory_mb=256, cpu_s=3, max_procs=16, file_mb=8, tmp_mb=32)


def pairs(argv: list[str], flag: str) -> list[str]:
    return [argv[i + 1] for i, arg in enumerate(argv) if arg == flag]


def test_create_sandbox_picks_the_configured_backend() -> None:
    bwrap = create_sandbox(Settings(sandbox_backend="bwrap", sandbox_memory_mb=128), check=False)
    assert isinstance(bwrap, BwrapSandbox)
    assert bwrap.limits.memory_mb == 128
    docker = create_sandbox(Settings(sandbox_backend="docker", sandbox_docker_image="img:1"), check=False)
    assert isinstance(docker, DockerSandbox)
    assert docker.image == "img:1"


def test_bwrap_command_isolates() -> None:
    argv = bwrap_command("/usr/bin/bwrap", Path("/tmp/copy"), LIMITS, python="/usr/bin/python3")
    for flag in ("--unshare-all", "--die-with-parent", "--new-session", "--clearenv"):
        assert flag in argv
    assert argv[argv.index("--cap-drop") + 1] == "ALL"
    binds = pairs(argv, "--ro-bind")
    assert "/etc" not in binds
    assert not any(b.startswith("/etc/shadow") or b == "/root" for b in binds)
    assert argv[argv.index("--bind") + 1: argv.index("--bind") + 3] == ["/tmp/copy", "/app"]
    assert argv[argv.index("--size") + 1: argv.index("--size") + 4] == [str(32 * 2**20), "--tmpfs", "/tmp"]
    assert argv.index("--remount-ro") > argv.index("--bind")
    env = {argv[i + 1]: argv[i + 2] for i, arg in enumerate(argv) if arg == "--setenv"}
    assert env["HOME"] == "/tmp"
    assert "PYTHONPATH" in env
    assert argv[-7:] == ["--", "/usr/bin/python3", "-B", "-s", "-P", "-m", "smartworker.sandbox.runner"]


def test_docker_command_isolates() -> None:
    argv = docker_command("docker", "python:3.11-slim", Path("/tmp/copy"), LIMITS, name="sbx",
                          package=Path("/src"))
    assert argv[:4] == ["docker", "run", "--rm", "-i"]
    assert argv[argv.index("--network") + 1] == "none"
    assert "--read-only" in argv
    assert argv[argv.index("--memory") + 1] == "256m"
    assert argv[argv.index("--memory-swap") + 1] == "256m"
    assert argv[argv.index("--pids-limit") + 1] == "16"
    assert argv[argv.index("--user") + 1] == "65534:65534"
    assert argv[argv.index("--cap-drop") + 1] == "ALL"
    assert pairs(argv, "--ulimit") == ["cpu=3:4", f"fsize={8 * 2**20}", "core=0"]
    assert pairs(argv, "-v") == ["/tmp/copy:/app:rw", "/src/smartworker:/opt/smartworker/smartworker:ro"]
    assert "PYTHONPATH=/opt/smartworker" in pairs(argv, "-e")
    image_at = argv.index("python:3.11-slim")
    assert argv[image_at + 1:] == ["python", "-B", "-s", "-P", "-m", "smartworker.sandbox.runner"]


def test_docker_unavailable_is_reported() -> None:
    backend = DockerSandbox(docker="/nonexistent/docker")
    assert not backend.is_available()
