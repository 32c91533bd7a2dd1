"""What runs inside the sandbox: one job from stdin, one JSON answer on the protocol channel.

Protocol (the same for every backend)::

    stdin   one JSON object: {"app_root", "app_module", "handler", "data",
                              "job": {"id", "name", "queue", "attempt"}, "hazard_testing", "env"}
    stdout  one JSON object, then exit 0:
              {"status": "ok", "result": <JSON>}
              {"status": "error", "phase": "load"|"handler"|"result",
               "exc_type", "exc_module", "message", "traceback"}
    stderr  free text: our diagnostics and everything the handler prints

The protocol channel is the process's original stdout, duplicated before any user code runs; fd 1 is
then pointed at stderr. Redirecting at the descriptor (not only ``sys.stdout``) also catches prints from
C extensions and child processes, and a duplicate of stdout works unchanged under ``docker run -i``, which
passes no descriptors beyond 0, 1 and 2 (so an extra fd 3 would not). Any exit status other than 0, or
anything but one JSON object on the channel, means the run crashed.

Only the standard library and ``smartworker.jobs`` are imported here: the runner must start fast and
work in a container image that has nothing but the application's own dependencies.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any, TextIO


def _text(value: object) -> str:
    # A hostile or broken __str__ must not stop us from answering.
    try:
        return str(value)
    except Exception:  # anything user code raises
        return f"<unprintable {type(value).__name__}>"


def _error(phase: str, exc: BaseException) -> dict[str, Any]:
    try:
        formatted = "".join(traceback.format_exception(exc))
    except Exception:  # same reason as _text
        formatted = f"{type(exc).__name__}: <traceback unavailable>\n"
    return {
        "status": "error",
        "phase": phase,
        "exc_type": type(exc).__name__,
        "exc_module": type(exc).__module__,
        "message": _text(exc),
        "traceback": formatted,
    }


def run_request(request: dict[str, Any]) -> dict[str, Any]:
    """Import the app from the copy, call the handler on the data, and describe what happened."""
    from smartworker.jobs import JobInfo, load_app, set_current_job

    os.environ.update({str(k): str(v) for k, v in (request.get("env") or {}).items()})
    root = Path(request["app_root"])
    # The copy must win over anything else named like the app module (load_app adds it only if absent).
    sys.path[:] = [str(root)] + [p for p in sys.path if p != str(root)]
    try:
        registry = load_app(request["app_module"], root)
        handler = registry.get(request["handler"], hazard_testing=bool(request.get("hazard_testing")))
    except Exception as exc:  # a broken candidate must still get an answer
        # HandlerLoadError wraps the real cause (a SyntaxError in the candidate, say); report that.
        return _error("load", exc.__cause__ or exc)

    job = request.get("job") or {}
    set_current_job(JobInfo(id=str(job.get("id", "sandbox")), name=str(job.get("name", request["handler"])),
                            queue=str(job.get("queue", "sandbox")), attempt=int(job.get("attempt", 1))))
    pid = os.getpid()
    try:
        # Handler.__call__ is what the worker awaits: sync handlers run in a thread there too.
        result = asyncio.run(handler(request.get("data") or {}))
    except BaseException as exc:  # SystemExit from a handler is a failure too
        outcome = _error("handler", exc)
    else:
        outcome = {"status": "ok", "result": result}
    if os.getpid() != pid:
        # A process the handler forked came back here: only the original answers.
        os._exit(0)
    return outcome


def encode(outcome: dict[str, Any]) -> str:
    """The answer as one JSON line; a result JSON cannot carry becomes an error of phase "result"."""
    try:
        return json.dumps(outcome, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        wrapped = TypeError(f"handler result is not JSON-serialisable: {_text(exc)}")
        return json.dumps(_error("result", wrapped), allow_nan=False)


def main() -> int:
    """Entry point of ``python -m smartworker.sandbox.runner``."""
    channel: TextIO = os.fdopen(os.dup(1), "w", encoding="utf-8")  # dup()'d fds are not inherited
    os.dup2(2, 1)
    try:
        request = json.loads(sys.stdin.buffer.read())
    except ValueError as exc:
        print(f"smartworker runner: unreadable request: {exc}", file=sys.stderr)
        return 2
    line = encode(run_request(request))
    sys.stdout.flush()
    channel.write(line + "\n")
    channel.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
