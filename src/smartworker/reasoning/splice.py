"""Laying a partial Python block over the original module.

A small model often returns one function "as the complete file". A Python block that omits some of
the module's top-level definitions is a partial edit: it is spliced into the original by name
(:func:`splice_function`, :func:`merge_python`), and the imports it uses but never made are added
(:func:`add_missing_imports`).
"""

from __future__ import annotations

import ast
import sys

from smartworker.errors import ProposalRejectedError
from smartworker.reasoning import syntax


def python_error(text: str) -> str | None:
    """Why ``text`` is not valid Python (one line), or None."""
    try:
        syntax.parse(text)
    except SyntaxError as exc:
        return f"line {exc.lineno}: {exc.msg}"
    except (ValueError, RecursionError, MemoryError) as exc:
        return str(exc) or type(exc).__name__
    return None

_Def = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
_DEF_TYPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _span(node: ast.stmt) -> tuple[int, int]:
    """1-based first and last line of a statement, decorators included."""
    start = node.lineno
    if isinstance(node, _DEF_TYPES) and node.decorator_list:
        start = min(start, *(d.lineno for d in node.decorator_list))
    return start, node.end_lineno or node.lineno


def _assigned_name(node: ast.stmt) -> str | None:
    """The name a simple top-level assignment binds (``X = ...``, ``X: T = ...``), else None."""
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
        return node.targets[0].id
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return node.target.id
    return None


def _named(body: list[ast.stmt]) -> dict[str, ast.stmt]:
    """Top-level definitions and simple assignments by name (the last one wins, as in Python)."""
    out: dict[str, ast.stmt] = {}
    for node in body:
        if isinstance(node, _DEF_TYPES):
            out[node.name] = node
        else:
            name = _assigned_name(node)
            if name is not None:
                out[name] = node
    return out


def _imports(body: list[ast.stmt]) -> set[tuple[str, str, str | None]]:
    """What the top-level import statements of a module bind, as :func:`_import_keys`."""
    return {key for node in body if isinstance(node, ast.Import | ast.ImportFrom) for key in _import_keys(node)}


def _import_keys(node: ast.Import | ast.ImportFrom) -> set[tuple[str, str, str | None]]:
    if isinstance(node, ast.Import):
        return {("", a.name, a.asname) for a in node.names}
    module = "." * node.level + (node.module or "")
    return {(module, a.name, a.asname) for a in node.names}


def _segment(lines: list[str], node: ast.stmt) -> str:
    start, end = _span(node)
    return "".join(lines[start - 1 : end])


def _reindent(text: str, from_col: int, to_col: int) -> str:
    """Move a block from one indentation to another; lines indented less (strings) stay."""
    if from_col == to_col:
        return text
    out = []
    for line in text.splitlines(keepends=True):
        if line.strip() and line[:from_col].strip() == "":
            line = " " * to_col + line[from_col:]
        out.append(line)
    return "".join(out)


def _find(body: list[ast.stmt], parts: list[str]) -> _Def | None:
    """The last definition at ``parts`` ("Class", "method") inside ``body``."""
    found: _Def | None = None
    for node in body:
        if isinstance(node, _DEF_TYPES) and node.name == parts[0]:
            found = node
    if found is None or len(parts) == 1:
        return found
    return _find(found.body, parts[1:]) if isinstance(found, ast.ClassDef) else None


def _parse_fragment(source: str) -> tuple[ast.Module, str]:
    try:
        return syntax.parse(source), source
    except SyntaxError:
        dedented = _dedent(source)
        try:
            return syntax.parse(dedented), dedented
        except SyntaxError as exc:
            raise ProposalRejectedError(f"the new code is not valid Python (line {exc.lineno}: {exc.msg})") from None


def _dedent(source: str) -> str:
    lines = [ln for ln in source.splitlines() if ln.strip()]
    if not lines:
        return source
    col = min(len(ln) - len(ln.lstrip()) for ln in lines)
    return _reindent(source, col, 0)


def _ensure_newline(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def splice_function(original_source: str, new_function_source: str, name: str) -> str:
    """Replace the top-level function or class ``name`` of a module by its new definition.

    ``name`` may be ``Class.method``. ``new_function_source`` may hold more than the definition
    (imports, other functions); only ``name`` is taken, decorators included, re-indented to the
    original's level. A top-level name the module lacks is appended to it; a method whose class is
    missing raises ProposalRejectedError, as does a result that is not valid Python.
    """
    parts = name.split(".")
    new_tree, new_text = _parse_fragment(new_function_source)
    node = _find(new_tree.body, parts) or _find(new_tree.body, parts[-1:])
    if node is None:
        raise ProposalRejectedError(f"the new code does not define {name}")
    new_lines = new_text.splitlines(keepends=True)
    segment = _ensure_newline(_segment(new_lines, node))
    try:
        tree = syntax.parse(original_source)
    except SyntaxError as exc:
        raise ProposalRejectedError(
            f"the original module is not valid Python (line {exc.lineno}); cannot splice") from None
    lines = original_source.splitlines(keepends=True)
    if lines:
        lines[-1] = _ensure_newline(lines[-1])
    target = _find(tree.body, parts)
    if target is not None:
        start, end = _span(target)
        segment = _reindent(segment, node.col_offset, target.col_offset)
        lines[start - 1 : end] = [segment]
    elif len(parts) == 1:
        body = "".join(lines).rstrip("\n")
        result = (body + "\n\n\n" if body else "") + _reindent(segment, node.col_offset, 0)
        lines = [result]
    else:
        owner = _find(tree.body, parts[:-1])
        if not isinstance(owner, ast.ClassDef):
            raise ProposalRejectedError(f"cannot add {name}: no class {'.'.join(parts[:-1])} in the module")
        end = owner.end_lineno or owner.lineno
        indent = owner.body[0].col_offset if owner.body else owner.col_offset + 4
        lines[end:end] = ["\n", _reindent(segment, node.col_offset, indent)]
    result = "".join(lines)
    error = python_error(result)
    if error:
        raise ProposalRejectedError(f"splicing {name} gives invalid Python ({error})")
    return result


def _insert_lines(source: str, after_line: int, text: str) -> str:
    lines = source.splitlines(keepends=True)
    if lines:
        lines[-1] = _ensure_newline(lines[-1])
    lines[after_line:after_line] = [_ensure_newline(text)]
    return "".join(lines)


def _import_anchor(tree: ast.Module, future: bool) -> int:
    """The line after which a new import goes: after the imports, or the docstring."""
    body = tree.body
    anchor = 0
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        anchor = body[0].end_lineno or 0
    for node in body:
        is_future = isinstance(node, ast.ImportFrom) and node.module == "__future__"
        # a __future__ import must stay first, so it goes after the other __future__ imports only
        if is_future or (isinstance(node, ast.Import | ast.ImportFrom) and not future):
            anchor = node.end_lineno or anchor
    return anchor


def _bound_names(tree: ast.Module) -> set[str]:
    """Every name the module binds anywhere: imports, definitions, assignments, parameters."""
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            bound |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        elif isinstance(node, _DEF_TYPES):
            bound.add(node.name)
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            bound |= set(node.names)
    return bound


def _unimported_modules(tree: ast.Module) -> set[str]:
    """Standard-library modules the code uses as ``module.attr`` but never imports or binds."""
    used = {node.value.id for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            and isinstance(node.value.ctx, ast.Load)}
    # datetime is left out: ``datetime.now()`` means the class, which ``import datetime`` is not.
    return {name for name in used if name in sys.stdlib_module_names and name != "datetime"} - _bound_names(tree)


def add_missing_imports(original: str | None, new: str) -> tuple[str, list[str]]:
    """``new`` with an ``import`` added for each standard-library module it uses without importing
    it, where the original did not already do so; and notes on what was added.

    The local model writes ``json.loads(options)`` into a module that never imported json, and the
    sandbox then reports a NameError instead of judging the fix (FixBench, session 10). The name
    was unbound, so the import changes nothing but that error.
    """
    try:
        tree = syntax.parse(new)
        before = _unimported_modules(syntax.parse(original)) if original is not None else set()
    except SyntaxError:
        return new, []
    missing = sorted(_unimported_modules(tree) - before)
    if not missing:
        return new, []
    text = "".join(f"import {name}\n" for name in missing)
    return _insert_lines(new, _import_anchor(tree, future=False), text), [f"added import: {name}" for name in missing]


def merge_python(original: str, block: str) -> tuple[str, list[str]]:
    """The module a Python block means, and notes on what was spliced.

    A block that keeps every top-level function, class, named assignment and import of the original
    is a whole file and replaces it. One that omits some would delete them, so it is taken as a
    partial edit: each definition and named assignment in it replaces the original's by name (new
    ones are added), imports it adds are inserted, and everything else of the original stays. (A
    module's only function returned alone, without its imports, is a partial reply: taken whole, it
    would lose the imports its decorator and body need.)
    """
    try:
        orig_tree = syntax.parse(original)
    except SyntaxError:
        return block, ["the original does not parse; replaced whole"]
    block_tree = syntax.parse(block)
    orig_named = _named(orig_tree.body)
    block_named = _named(block_tree.body)
    missing = sorted(set(orig_named) - set(block_named))
    dropped = _imports(orig_tree.body) - _imports(block_tree.body)
    if not orig_named or not (missing or dropped):
        return block, []

    notes = [f"partial reply (omits {', '.join(missing) or 'imports'}); spliced by name"]
    block_lines = block.splitlines(keepends=True)
    result = original
    for node in block_tree.body:
        if isinstance(node, _DEF_TYPES):
            existed = _find(syntax.parse(result).body, [node.name]) is not None
            result = splice_function(result, _segment(block_lines, node), node.name)
            notes.append(f"{'replaced' if existed else 'added'} {node.name}")
            continue
        name = _assigned_name(node)
        if name is not None:
            tree = syntax.parse(result)
            current = _named(tree.body).get(name)
            text = _ensure_newline(_segment(block_lines, node))
            if current is not None and not isinstance(current, _DEF_TYPES):
                start, end = _span(current)
                lines = result.splitlines(keepends=True)
                lines[start - 1 : end] = [text]
                result = "".join(lines)
                notes.append(f"replaced {name}")
            elif current is None:
                first_def = next((n for n in tree.body if isinstance(n, _DEF_TYPES)), None)
                where = (_span(first_def)[0] - 1) if first_def else len(result.splitlines())
                result = _insert_lines(result, where, text + ("\n" if first_def else ""))
                notes.append(f"added {name}")
        elif not isinstance(node, ast.Import | ast.ImportFrom):
            notes.append(f"ignored a top-level {type(node).__name__} statement of the partial reply")

    for node in block_tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            tree = syntax.parse(result)
            have: set[tuple[str, str, str | None]] = set()
            for existing in tree.body:
                if isinstance(existing, ast.Import | ast.ImportFrom):
                    have |= _import_keys(existing)
            if _import_keys(node) <= have:
                continue
            future = isinstance(node, ast.ImportFrom) and node.module == "__future__"
            result = _insert_lines(result, _import_anchor(tree, future), _segment(block_lines, node))
            notes.append(f"added import: {ast.unparse(node)}")
    return result, notes
