"""A static review of a proposed change: does it fix the failure, or only hide it?

A model may wrap the failing line in ``try``/``except`` and return or assign a constant
(``amount_cents = 0``, ``return {"error": str(e)}``). The job then completes, so a sandbox rerun
calls it fixed, but the data is still wrong. :func:`hidden_error` finds such handlers before the
sandbox runs, so the reason can be fed back to the model. Which of these checks veto and which only
inform is decided in reasoning/gates.py; the cases that shaped them are in docs/benchmarks.md.

The same holds for a codec told to drop what it cannot read (:func:`lossy_codec`), a step the
code no longer takes (:func:`dropped_call`), the failing line skipped for this data
(:func:`skipped_line`) and an input the docstring names that no code reads (:func:`ignored_input`).

It is deliberately narrow: a handler that calls anything (``raw.decode("latin-1")``) or reads data
(``payment["amount_received"]``) is a real fallback and passes; only handlers that catch the failure
and do nothing with the data are reported.
"""

from __future__ import annotations

import ast
import builtins
import codecs
import re
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

from smartworker.metrics import gate
from smartworker.reasoning import syntax
from smartworker.sandbox.shape import leaves

#: Stdlib exceptions that tracebacks name by their qualified path, mapped to their nearest builtin
#: base, so that ``except ValueError`` is seen to catch a ``json.decoder.JSONDecodeError``.
_STDLIB_BASES: dict[str, str] = {
    "JSONDecodeError": "ValueError",
    "InvalidOperation": "ArithmeticError",
    "DivisionByZero": "ZeroDivisionError",
}

#: Catching these catches (nearly) anything, whatever the failure's type.
_CATCH_ALL = frozenset({"Exception", "BaseException"})

#: Receivers whose method calls only report: ``log.warning(...)``, ``self.logger.error(...)``.
_LOGGERS = frozenset({"log", "logger", "logging", "_log", "_logger"})

#: Builtins that turn constant-like arguments into a constant (``str(e)``, ``float("nan")``, ``dict()``).
_CONVERTERS = frozenset({"str", "repr", "int", "float", "bool", "type", "dict", "list", "tuple", "set", "frozenset"})

_Scoped = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
_Node = TypeVar("_Node", bound=ast.AST)


@gate("hidden_error")
def hidden_error(originals: Mapping[str, str], changed: Mapping[str, str], failure_type: str) -> str | None:
    """Why the change hides the failure instead of fixing it (one line), or None when it does not.

    ``originals`` and ``changed`` map relative paths to source; a changed path missing from
    ``originals`` is a new file. Only new ``except`` handlers in ``.py`` files that catch
    ``failure_type`` and then only pass, log, or return/assign a constant are reported.
    """
    failure = _last_part(failure_type)
    for path, before, after in _python_changes(originals, changed):
        tries = {id(h): node for node in ast.walk(after) if isinstance(node, ast.Try | ast.TryStar)
                 for h in node.handlers}
        for where, handler in _new_handlers(before, after):
            if _catches(handler.type, failure) and _inert(handler) and not _branch(tries.get(id(handler)), handler):
                caught = "except:" if handler.type is None else f"except {_one_line(ast.unparse(handler.type))}"
                place = f"in {where}" if where else "at module level"
                return (f"it hides the {failure or 'error'}: a new `{caught}` {place} ({path}) "
                        f"{_action(handler)} instead of handling the data; fix the cause")
    return None


@gate("dropped_call")
def dropped_call(originals: Mapping[str, str], changed: Mapping[str, str]) -> str | None:
    """Which step the code took the change no longer takes (one line), or None when it drops none.

    A method that a function called and no longer calls at all is such a step: sometimes work left
    out (padded text once ``.strip()`` goes), as often the point of the fix (a removed API swapped
    for its successor, ``sort()`` for ``sorted()``). So it only informs (reasoning/gates.py).
    Calls on loggers are not counted, and a function the change removes is not compared.
    """
    for path, before, after in _python_changes(originals, changed):
        if path not in originals:
            continue
        now = dict(_functions(after))
        for name, function in _functions(before):
            if name not in now:
                continue
            # By name, not count: a fix may hoist two `.strip()` calls into one (shipping_label's does).
            kept = _method_calls(now[name])
            for method in _method_calls(function):
                if method not in kept:
                    return (f"it drops `.{method}()` from {name} ({path}): keep every step the code "
                            f"took and change only what fails")
    return None


#: Codec error handlers that turn what cannot be decoded or encoded into something else, or nothing.
_LOSSY_HANDLERS = frozenset({"ignore", "replace", "backslashreplace", "surrogateescape", "namereplace",
                             "xmlcharrefreplace"})
#: Failures such a handler silences.
_CODEC_FAILURES = frozenset({"UnicodeError", "UnicodeDecodeError", "UnicodeEncodeError", "UnicodeTranslateError"})


@gate("lossy_codec")
def lossy_codec(originals: Mapping[str, str], changed: Mapping[str, str], failure_type: str) -> str | None:
    """Why the change silences a codec failure instead of fixing it (one line), or None.

    ``raw.decode("utf-8", errors="ignore")`` stops a UnicodeDecodeError the way ``except: pass``
    would: the job completes and the bytes that did not decode are gone ("Zo Martin" for "Zoë
    Martin"), and ``errors="replace"`` is the same habit. So a new call with a lossy ``errors``
    handler (a keyword, or the second argument of ``.decode``/``.encode``) is reported when the
    failure was a Unicode error.
    """
    failure = _last_part(failure_type)
    if failure not in _CODEC_FAILURES:
        return None
    for path, before, after in _python_changes(originals, changed):
        for where, call in _added(_lossy_calls(before), _lossy_calls(after), lambda _, node: ast.dump(node)):
            place = f"in {where}" if where else "at module level"
            return (f"it hides the {failure}: `{_one_line(ast.unparse(call))}` {place} ({path}) drops or "
                    "replaces the characters it cannot read; read the text in its real encoding instead")
    return None


def _lossy_calls(tree: ast.AST) -> Iterator[tuple[str, ast.Call]]:
    """Calls in ``tree`` given a lossy codec error handler, with the dotted name of the def around them."""
    for scope, node in _scoped(tree):
        if not isinstance(node, ast.Call):
            continue
        handlers = [k.value for k in node.keywords if k.arg == "errors"]
        if isinstance(node.func, ast.Attribute) and node.func.attr in ("decode", "encode") and len(node.args) >= 2:
            handlers.append(node.args[1])
        lossy = any(isinstance(h, ast.Constant) and h.value in _LOSSY_HANDLERS for h in handlers)
        if lossy and not _reads_every_byte(node):
            yield ".".join(scope), node


def _reads_every_byte(call: ast.Call) -> bool:
    """``.decode("latin-1", ...)``: every byte is a character there, so the handler never acts."""
    if not (isinstance(call.func, ast.Attribute) and call.func.attr == "decode"):
        return False
    named = [k.value for k in call.keywords if k.arg == "encoding"]
    encoding = call.args[0] if call.args else (named[0] if named else None)
    if not (isinstance(encoding, ast.Constant) and isinstance(encoding.value, str)):
        return False
    try:
        return codecs.lookup(encoding.value).name == "iso8859-1"
    except LookupError:
        return False


@gate("ignored_input")
def ignored_input(files: Mapping[str, str], data: Any) -> str | None:
    """Which input the changed code leaves out although its own docstring names it (one line), or None.

    A key the job's data holds, named in backquotes by a docstring in the code, that no code reads
    (no string constant, attribute, parameter or keyword of that name). It may be a declared charset
    a fix ignores, or a key documented as accepted and deliberately ignored, so it only informs
    (reasoning/gates.py). ``files`` are the application files the failure went through, with the
    change laid over them.
    """
    trees = [tree for path, text in sorted(files.items())
             if path.endswith(".py") and (tree := _parse(text)) is not None]
    held = {part for path, _, _ in leaves(data) for part in path if isinstance(part, str)}
    read: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                read.add(node.value)
            elif isinstance(node, ast.Attribute):
                read.add(node.attr)
            elif isinstance(node, ast.arg | ast.keyword) and node.arg:
                read.add(node.arg)
    for tree in trees:
        for name, function in _functions(tree):
            for key in re.findall(r"`+([A-Za-z_]\w*)`+", ast.get_docstring(function) or ""):
                if key in held and key not in read:
                    return (f"the docstring of {name} names `{key}`, which this job's data holds, and no code "
                            f"reads it: use `{key}` as the docstring says")
    return None


#: Statements whose only work is an effect: skipping one loses that effect without any error.
_EFFECTS = (ast.AugAssign, ast.Assign, ast.AnnAssign, ast.Expr)


@gate("skipped_line")
def skipped_line(originals: Mapping[str, str], changed: Mapping[str, str], failing_code: str) -> str | None:
    """Why the change skips the failing line instead of making it work (one line), or None.

    ``if score != 100: buckets[score // 10] += 1`` lets the job complete while a score is silently
    left out of its histogram, and nothing in the result says so. The failing line, unchanged, now
    under a new ``if`` with no ``else``, or after a new ``if ...: continue``, is such a skip. Only
    effect statements (an assignment, ``+=``, a call such as ``rows.append(...)``) are checked: a
    skipped ``return`` or condition is another path, which the sandbox judges.
    """
    try:
        wanted = syntax.parse(failing_code.strip()).body
    except (SyntaxError, ValueError):
        return None  # a compound statement's header (``for x in y:``): not a statement on its own
    if len(wanted) != 1 or not isinstance(wanted[0], _EFFECTS):
        return None
    target = ast.dump(wanted[0])
    line = _one_line(failing_code)
    for path, before, after in _python_changes(originals, changed):
        known_ifs = Counter(ast.dump(node) for node in ast.walk(before) if isinstance(node, ast.If))
        for owner, body, index in _statement_places(after, target):
            if (isinstance(owner, ast.If) and owner.body is body and not owner.orelse
                    and known_ifs[ast.dump(owner)] == 0):
                how = f"runs the failing line `{line}` only when `{_one_line(ast.unparse(owner.test))}`"
            else:
                skip = next((s for s in body[:index] if isinstance(s, ast.If) and not s.orelse
                             and known_ifs[ast.dump(s)] == 0 and len(s.body) == 1
                             and isinstance(s.body[0], ast.Continue)), None)
                if skip is None:
                    continue
                how = f"skips the failing line `{line}` when `{_one_line(ast.unparse(skip.test))}`"
            return (f"it {how} ({path}), so this job leaves out what that line does; "
                    "make the line work for this data instead")
    return None


def _statement_places(tree: ast.AST, dumped: str) -> Iterator[tuple[ast.AST, list[ast.stmt], int]]:
    """(the node owning the body, the body, the index) of every statement in ``tree`` equal to ``dumped``."""
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            body = getattr(node, field, None)
            if isinstance(body, list):
                for index, stmt in enumerate(body):
                    if isinstance(stmt, ast.stmt) and ast.dump(stmt) == dumped:
                        yield node, body, index


def _functions(tree: ast.AST) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Every def in ``tree`` with its dotted name (``Class.method``, ``outer.inner``)."""
    for scope, node in _scoped(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield ".".join((*scope, node.name)), node


def _method_calls(function: ast.AST) -> set[str]:
    """The method names called in ``function`` (calls on loggers left out)."""
    return {node.func.attr for node in ast.walk(function)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and not _reports(node.func)}


# -- finding new handlers ---------------------------------------------------------------------------


def _python_changes(originals: Mapping[str, str], changed: Mapping[str, str]
                    ) -> Iterator[tuple[str, ast.Module, ast.Module]]:
    """Each changed ``.py`` path with its tree before (empty for a new file) and after."""
    for path in sorted(changed):
        if not path.endswith(".py"):
            continue
        before, after = _parse(originals.get(path, "")), _parse(changed[path])
        if before is None or after is None:
            continue  # not Python we can read: the syntax check rejects it, not this review
        yield path, before, after


def _parse(source: str) -> ast.Module | None:
    try:
        return syntax.parse(source)
    except (SyntaxError, ValueError, RecursionError):  # ValueError: null bytes in the source
        return None


def _scoped(node: ast.AST, scope: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], ast.AST]]:
    """Every node under ``node`` with the names of the defs and classes around it."""
    for child in ast.iter_child_nodes(node):
        yield scope, child
        yield from _scoped(child, (*scope, child.name) if isinstance(child, _Scoped) else scope)


def _handlers(tree: ast.AST) -> Iterator[tuple[str, ast.ExceptHandler]]:
    """Every except handler in ``tree`` with the dotted name of the def or class around it."""
    for scope, node in _scoped(tree):
        if isinstance(node, ast.ExceptHandler):
            yield ".".join(scope), node


def _key(where: str, handler: ast.ExceptHandler) -> tuple[str, str, bool]:
    """A handler by its place and body, not the types it catches: a handler of the code's own that
    now also catches the failure keeps the fallback its author chose (``except (TypeError,
    ValueError)`` for ``except ValueError``), so it is not new. Widened to catch everything, it is."""
    # ast.dump leaves out line and column numbers, so a handler that only moved is not new.
    body = ast.dump(ast.Module(body=handler.body, type_ignores=[]))
    return where, f"{handler.name}:{body}", _catches_all(handler.type)


def _catches_all(caught: ast.expr | None) -> bool:
    if caught is None:
        return True
    if isinstance(caught, ast.Tuple):
        return any(_catches_all(element) for element in caught.elts)
    name = caught.id if isinstance(caught, ast.Name) else caught.attr if isinstance(caught, ast.Attribute) else ""
    return name in _CATCH_ALL


def _new_handlers(before: ast.Module, after: ast.Module) -> Iterator[tuple[str, ast.ExceptHandler]]:
    """Handlers in ``after`` beyond those already in ``before`` (same place, same text)."""
    return _added(_handlers(before), _handlers(after), _key)


def _added(before: Iterable[tuple[str, _Node]], after: Iterable[tuple[str, _Node]],
           key: Callable[[str, _Node], Hashable]) -> Iterator[tuple[str, _Node]]:
    """The (place, node) pairs of ``after`` beyond those ``before`` already had, matched by ``key``:
    what a change added, counted, so a second copy of an existing node is still new."""
    existing = Counter(key(where, node) for where, node in before)
    for where, node in after:
        found = key(where, node)
        if existing[found] > 0:
            existing[found] -= 1
        else:
            yield where, node


# -- does it catch the failure? --------------------------------------------------------------------


def _last_part(name: str) -> str:
    return name.strip().rpartition(".")[2]


def _builtin_exception(name: str) -> type[BaseException] | None:
    found = getattr(builtins, _STDLIB_BASES.get(name, name), None)
    return found if isinstance(found, type) and issubclass(found, BaseException) else None


def _catches(caught: ast.expr | None, failure: str) -> bool:
    """Whether ``except <caught>`` catches an exception named ``failure`` (a bare name)."""
    if caught is None:
        return True
    if isinstance(caught, ast.Tuple):
        return any(_catches(element, failure) for element in caught.elts)
    if isinstance(caught, ast.Name):
        name = caught.id
    elif isinstance(caught, ast.Attribute):
        name = caught.attr
    else:
        return False  # computed at run time: we cannot tell, so we do not accuse
    if name in _CATCH_ALL or (failure and name == failure):
        return True
    caught_type = getattr(builtins, name, None)
    failure_type = _builtin_exception(failure)
    return (isinstance(caught_type, type) and issubclass(caught_type, BaseException)
            and failure_type is not None and issubclass(failure_type, caught_type))


# -- does it do anything? --------------------------------------------------------------------------


def _branch(node: ast.Try | ast.TryStar | None, handler: ast.ExceptHandler) -> bool:
    """Whether the try is a test that chooses between two settings: its body and the handler assign
    constants to the same names (``encoding = "gsm"`` / ``except UnicodeEncodeError: encoding =
    "ucs2"``), and no value the try body computes is thrown away by the handler."""
    if node is None:
        return False

    def constants(body: list[ast.stmt]) -> set[str] | None:
        names: set[str] = set()
        for stmt in body:
            if isinstance(stmt, ast.Assign) and _constant_like(stmt.value, set()):
                for target in stmt.targets:
                    elements = target.elts if isinstance(target, ast.Tuple) else [target]
                    if not all(isinstance(e, ast.Name) for e in elements):
                        return None
                    names |= {e.id for e in elements if isinstance(e, ast.Name)}
            elif not isinstance(stmt, ast.Expr):  # an expression statement is the test; anything else is work
                return None
        return names

    tried, chosen = constants(node.body), constants(handler.body)
    return bool(tried) and tried == chosen


def _inert(handler: ast.ExceptHandler) -> bool:
    """The body neither re-raises nor does real work: it passes, logs, or returns/assigns a constant."""
    if any(isinstance(node, ast.Raise) for stmt in handler.body for node in ast.walk(stmt)):
        return False
    bound = {handler.name} if handler.name else set()
    return all(_inert_statement(stmt, bound) for stmt in handler.body)


def _inert_statement(stmt: ast.stmt, bound: set[str]) -> bool:
    if isinstance(stmt, ast.Pass | ast.Continue | ast.Break):
        return True
    if isinstance(stmt, ast.Return):
        return stmt.value is None or _constant_like(stmt.value, bound)
    if isinstance(stmt, ast.Assign | ast.AugAssign):
        return _constant_like(stmt.value, bound)
    if isinstance(stmt, ast.AnnAssign):
        return stmt.value is None or _constant_like(stmt.value, bound)
    if isinstance(stmt, ast.Expr):
        value = stmt.value
        return isinstance(value, ast.Constant) or (isinstance(value, ast.Call) and _reports(value.func))
    return False


def _reports(func: ast.expr) -> bool:
    """A call that only prints or logs: ``print``, ``log.*``, ``logging.*``, ``warnings.warn``."""
    if isinstance(func, ast.Name):
        return func.id == "print"
    if not isinstance(func, ast.Attribute):
        return False
    receiver = func.value
    receiver_name = (receiver.id if isinstance(receiver, ast.Name)
                     else receiver.attr if isinstance(receiver, ast.Attribute) else "")
    if receiver_name.lower() in _LOGGERS:
        return True
    return receiver_name in {"warnings", "traceback"} and func.attr in {"warn", "print_exc", "print_exception"}


def _constant_like(node: ast.expr, bound: set[str]) -> bool:
    """A value that carries nothing from the data: literals, the caught error, and text made of them."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Name):
        return node.id in bound or node.id in {"None", "True", "False"}
    if isinstance(node, ast.Attribute):  # e.args, type(e).__name__
        return _constant_like(node.value, bound)
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, ast.USub | ast.UAdd) and isinstance(node.operand, ast.Constant)
    if isinstance(node, ast.JoinedStr):
        return all(_constant_like(value, bound) for value in node.values)
    if isinstance(node, ast.FormattedValue):
        return _constant_like(node.value, bound)
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        return all(_constant_like(element, bound) for element in node.elts)
    if isinstance(node, ast.Dict):
        keys_ok = all(key is None or _constant_like(key, bound) for key in node.keys)
        return keys_ok and all(_constant_like(value, bound) for value in node.values)
    if isinstance(node, ast.Call):
        return (isinstance(node.func, ast.Name) and node.func.id in _CONVERTERS and not node.keywords
                and all(_constant_like(arg, bound) for arg in node.args))
    return False


# -- the message -----------------------------------------------------------------------------------


def _action(handler: ast.ExceptHandler) -> str:
    if any(isinstance(stmt, ast.Return) and stmt.value is not None for stmt in handler.body):
        return "returns a constant"
    if any(isinstance(stmt, ast.Assign | ast.AugAssign | ast.AnnAssign) for stmt in handler.body):
        return "assigns a constant"
    return "swallows the error"


def _one_line(text: str) -> str:
    return " ".join(text.split())
