"""What runs inside the sandbox: one job from stdin, one JSON answer on the protocol channel.

Protocol (the same for every backend)::

    stdin   one JSON object: {"app_root", "app_module", "handler", "data",
                              "job": {"id", "name", "queue", "attempt"}, "hazard_testing", "env"}
    stdout  one JSON object, then exit 0:
              {"status": "ok", "result": <JSON>}
              {"status": "error", "phase": "load"|"handler"|"result",
               "exc_type", "exc_module", "message", "traceback",
               "values": {name: repr}}   (handler phase: names on the failing line; for an
                                         IndexError also "len(x)" and computed indexes)
    stderr  free text: our diagnostics and everything the handler prints

The protocol channel is the process's original stdout, duplicated before any user code runs; fd 1 is
then pointed at stderr. Redirecting at the descriptor (not only ``sys.stdout``) also catches prints from
C extensions and child processes, and a duplicate of stdout works unchanged under ``docker run -i``, which
passes no descriptors beyond 0, 1 and 2 (so an extra fd 3 would not). Any exit status other than 0, or
anything but one JSON object on the channel, means the run crashed.

Only the standard library and ``smartworker.jobs`` are imported here: the runner must start fast and
work in a container image that has nothing but the application's own dependencies.

Warm sessions (``python -m smartworker.sandbox.runner --serve``) keep that protocol per run, but start
once: the runner imports what every run needs, says ``{"ready": true}`` on the channel, then reads one
JSON line per run on stdin (``{"id", "request", "limits"}``), forks a fresh child for each (its own
process group, rlimits, stdin, answer pipe and stderr pipe, and no other descriptor) and writes one
line per finished run on the channel: ``{"id", "exit_code", "timed_out", "answer", "overflow",
"stderr", "duration_s"}`` (``answer`` and ``stderr`` base64). Exit codes follow bwrap's convention
(128 + N for signal N), so the host interprets a warm run exactly like a cold one.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import json
import linecache
import os
import re
import reprlib
import sys
import time
import traceback
import types
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


#: Values shown per failing line, and how long each repr may get: a small model reads slowly.
MAX_VALUES = 8
_REPR = reprlib.Repr()  # keyword arguments arrived only in 3.12
_REPR.maxlevel, _REPR.maxdict, _REPR.maxlist, _REPR.maxtuple, _REPR.maxset = 3, 8, 8, 8, 8
_REPR.maxstring, _REPR.maxother = 80, 120
#: Index and length lines an IndexError may add on top (one subscript gives two).
MAX_INDEX_VALUES = 4
#: What a name on the failing line may be bound to and still be worth showing: data, not code.
_CODE_TYPES = (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.MethodType, type)


def _parse_line(code_line: str) -> ast.AST | None:
    """One source line as a tree; None for a line that does not parse alone (a multi-line call's head)."""
    text = code_line.strip().rstrip(":\\")
    # As written; as the head of a compound statement (if/for/with); as an expression; a right-hand side.
    for candidate in (text, f"{text}: pass", f"({text})", text.split("=", 1)[-1]):
        try:
            return ast.parse(candidate)
        except SyntaxError:
            continue
    return None


def _line_names(code_line: str) -> list[str]:
    """Names loaded on one source line, in order of appearance, without repeats."""
    tree = _parse_line(code_line)
    if tree is None:
        # Identifiers, best effort.
        return list(dict.fromkeys(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", code_line)))
    names = [n for n in ast.walk(tree) if isinstance(n, ast.Name)]
    names.sort(key=lambda n: n.col_offset)
    return list(dict.fromkeys(n.id for n in names))


class _Unknown(Exception):
    """An expression :func:`_evaluate` will not or cannot compute."""


_ARITHMETIC: dict[type[ast.operator], Any] = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
    ast.FloorDiv: lambda a, b: a // b, ast.Mod: lambda a, b: a % b, ast.Div: lambda a, b: a / b,
}


def _lookup(name: str, frame: types.FrameType) -> Any:
    """What ``name`` is bound to in ``frame`` (a local, else a global); _Unknown when neither."""
    for scope in (frame.f_locals, frame.f_globals):
        if name in scope:
            return scope[name]
    raise _Unknown(name)


def _evaluate(node: ast.AST, frame: types.FrameType) -> Any:
    """The value of a side-effect-free expression in ``frame``: names, constants, arithmetic on
    ints and floats, ``len()`` and subscripts of built-in containers. Anything else raises _Unknown,
    because evaluating it could run user code a second time (a property, a ``__getitem__``)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, str)):
        return node.value
    if isinstance(node, ast.Name):
        return _lookup(node.id, frame)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        operand = _evaluate(node.operand, frame)
        if type(operand) is int:
            return -operand
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
        left, right = _evaluate(node.left, frame), _evaluate(node.right, frame)
        if type(left) in (int, float) and type(right) in (int, float):
            try:
                return _ARITHMETIC[type(node.op)](left, right)
            except ArithmeticError as exc:
                raise _Unknown(ast.unparse(node)) from exc
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len"
            and len(node.args) == 1 and not node.keywords):
        value = _evaluate(node.args[0], frame)
        if type(value) in (list, tuple, str, bytes, dict):
            return len(value)
    if isinstance(node, ast.Subscript) and not isinstance(node.slice, ast.Slice):
        container, key = _evaluate(node.value, frame), _evaluate(node.slice, frame)
        if type(container) in (list, tuple, dict, str) and type(key) in (int, str):
            try:
                return container[key]
            except (LookupError, TypeError) as exc:
                raise _Unknown(ast.unparse(node)) from exc
    raise _Unknown(ast.unparse(node))


def _index_values(code_line: str, frame: types.FrameType) -> dict[str, str]:
    """For an IndexError: each computed index on the line and the length of what it indexed.

    Python's message ("list index out of range") names neither, and a list's repr is cut short
    (``[0, 0, 0, 0, 0, 0, 0, 0, ...]``), so without them the model cannot see that ``score // 10``
    is 10 on a list of 10.
    """
    tree = _parse_line(code_line)
    if tree is None:
        return {}
    found: dict[str, str] = {}
    subscripts = [n for n in ast.walk(tree) if isinstance(n, ast.Subscript) and not isinstance(n.slice, ast.Slice)]
    for node in sorted(subscripts, key=lambda n: n.col_offset):
        try:
            container = _evaluate(node.value, frame)
        except _Unknown:
            continue
        if type(container) not in (list, tuple, str):
            continue
        if not isinstance(node.slice, (ast.Name, ast.Constant)):
            with contextlib.suppress(_Unknown):
                found[ast.unparse(node.slice)] = repr(_evaluate(node.slice, frame))
        found[f"len({ast.unparse(node.value)})"] = repr(len(container))
    return found


def failing_values(exc: BaseException, app_root: str) -> dict[str, str]:
    """``repr`` of the data each name on the innermost application line held when ``exc`` was raised.

    The traceback says where and what; these say with which values (``campaign = {'visits': 0}``),
    which is what a small model needs to see the cause. Code objects (modules, functions, classes)
    are left out, and every repr is short. An IndexError adds its computed indexes and lengths
    (:func:`_index_values`).
    """
    frame, lineno = None, 0
    tb = exc.__traceback__
    prefix = app_root.rstrip("/") + "/"
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.startswith(prefix):
            frame, lineno = tb.tb_frame, tb.tb_lineno
        tb = tb.tb_next
    if frame is None:
        return {}
    line = linecache.getline(frame.f_code.co_filename, lineno)
    values: dict[str, str] = {}
    for name in _line_names(line):
        try:
            value = _lookup(name, frame)
        except _Unknown:
            continue
        if isinstance(value, _CODE_TYPES):
            continue
        try:
            values[name] = _REPR.repr(value)
        except Exception:  # a broken __repr__ in user code
            values[name] = f"<unprintable {type(value).__name__}>"
        if len(values) >= MAX_VALUES:
            break
    if isinstance(exc, IndexError):
        values.update(list(_index_values(line, frame).items())[:MAX_INDEX_VALUES])
    return values


def run_request(request: dict[str, Any]) -> dict[str, Any]:
    """Import the app from the copy, call the handler on the data, and describe what happened."""
    from smartworker.jobs import JobInfo, load_app, set_current_job

    os.environ.update({str(k): str(v) for k, v in (request.get("env") or {}).items()})
    if hasattr(time, "tzset"):
        time.tzset()  # a TZ in the request's env must reach localtime(), which read it at start-up
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
        try:
            outcome["values"] = failing_values(exc, str(root))
        except Exception:  # the values are an aid; the answer must still go out
            outcome["values"] = {}
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


def protocol_channel() -> TextIO:
    """The protocol channel: a duplicate of fd 1, which then points at stderr (see the module doc)."""
    channel: TextIO = os.fdopen(os.dup(1), "w", encoding="utf-8")  # dup()'d fds are not inherited
    os.dup2(2, 1)
    return channel


def answer(request: dict[str, Any], channel: TextIO) -> None:
    """Run one request and write its answer line on ``channel``."""
    line = encode(run_request(request))
    sys.stdout.flush()
    channel.write(line + "\n")
    channel.flush()


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m smartworker.sandbox.runner [--serve] [--tag TAG]``.

    ``--tag`` only marks the command line, so a backend can find its own processes.
    """
    args = sys.argv[1:] if argv is None else argv
    if "--serve" in args:
        from smartworker.sandbox.fork_server import serve

        return serve(protocol_channel())
    channel = protocol_channel()
    try:
        request = json.loads(sys.stdin.buffer.read())
    except ValueError as exc:
        print(f"smartworker runner: unreadable request: {exc}", file=sys.stderr)
        return 2
    answer(request, channel)
    return 0


if __name__ == "__main__":
    sys.exit(main())
