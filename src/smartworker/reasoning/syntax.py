"""Parsing Python source for the repair loop's checks, safe from CPython 3.11's shared AST state.

On 3.11 ``ast.parse`` keeps the depth of the tree it is building in per-interpreter state, not per
call (CPython gh-106905). When the garbage collector runs in the middle of a build and a finalizer it
calls parses Python too (the traceback module does, to place its carets, whenever an unraisable
warning is reported; a handler thread may as well), the outer parse fails with ``SystemError: AST
constructor recursion depth mismatch`` although its source is fine. Parsing with the collector paused
keeps finalizers out of the build; a retry covers anything else that parsed at the same moment.
"""

from __future__ import annotations

import ast
import gc

_ATTEMPTS = 3


def parse(source: str) -> ast.Module:
    """``ast.parse(source)``; raises what it raises (SyntaxError, ValueError, ...) for bad source."""
    for attempt in range(1, _ATTEMPTS + 1):
        paused = gc.isenabled()
        gc.disable()
        try:
            return ast.parse(source)
        except SystemError as exc:
            if "recursion depth mismatch" not in str(exc) or attempt == _ATTEMPTS:
                raise
        finally:
            if paused:
                gc.enable()
    raise AssertionError("unreachable: the last attempt returns or raises")
