"""``syntax.parse`` survives a finalizer that parses Python while the tree is being built (what pytest's
unraisable hook does on 3.11 when it formats a traceback), which makes ``ast.parse`` raise SystemError."""

from __future__ import annotations

import ast
import gc
from collections.abc import Callable

import pytest

from smartworker.reasoning import syntax

SOURCE = "\n".join(f"def f{i}(x):\n    return [y for y in x if y > {i}]" for i in range(300))


class _ParsesWhenCollected:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it

    def __del__(self) -> None:
        ast.parse("a = (1 + 2) * 3")


def _parse_while_collecting(fn: Callable[[str], ast.Module]) -> ast.Module | str:
    """``fn(SOURCE)`` with fifty parsing finalizers waiting for the collector, which runs on every
    allocation; the SystemError's text if it raises one."""
    for _ in range(50):
        _ParsesWhenCollected()
    old = gc.get_threshold()
    gc.set_threshold(1)
    try:
        return fn(SOURCE)
    except SystemError as exc:
        return str(exc)
    finally:
        gc.set_threshold(*old)
        gc.collect()


def test_a_finalizer_that_parses_does_not_break_a_parse() -> None:
    tree = _parse_while_collecting(syntax.parse)
    assert isinstance(tree, ast.Module), tree
    assert ast.dump(tree) == ast.dump(ast.parse(SOURCE))
    assert gc.isenabled()


def test_the_stdlib_parse_alone_is_what_breaks_here() -> None:
    """The condition the module exists for; a Python that fixed it makes this an expected failure."""
    got = _parse_while_collecting(ast.parse)
    if isinstance(got, ast.Module):
        pytest.xfail("this Python builds ASTs with per-call state")
    assert "recursion depth mismatch" in got


def test_bad_source_raises_what_ast_parse_raises() -> None:
    with pytest.raises(SyntaxError):
        syntax.parse("def (")
    assert gc.isenabled()
