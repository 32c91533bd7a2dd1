"""A failed job's traceback as BullMQ stores it, formatted once per distinct stack.

BullMQ keeps ``traceback.format_exc()`` with every failure. Since Python 3.11 formatting a frame
parses its source line to place the ``^^^`` markers, which made formatting the most expensive step
of a failed job in the worker (more than its Redis call). A storm fails the same way again and
again: the frames' text depends only on the code objects and the instruction each frame stopped
at, so it is kept by that key and only the last line (type and message, which change) is formatted
each time. Chained exceptions (a cause or context) are formatted in full, as before.
"""

from __future__ import annotations

import traceback
from collections import OrderedDict
from types import CodeType, TracebackType
from typing import Any

#: Distinct stacks kept (a few kB each).
ENTRIES = 256

_frames: OrderedDict[tuple[tuple[CodeType, int], ...], str] = OrderedDict()


def _key(tb: TracebackType | None) -> tuple[tuple[CodeType, int], ...]:
    key = []
    while tb is not None:
        key.append((tb.tb_frame.f_code, tb.tb_lasti))
        tb = tb.tb_next
    return tuple(key)


def format_failure(exc: BaseException) -> str:
    """What ``traceback.format_exception(exc)`` joins to, the frames reused from an earlier equal stack."""
    if exc.__cause__ is not None or (exc.__context__ is not None and not exc.__suppress_context__) \
            or isinstance(exc, BaseExceptionGroup) or exc.__traceback__ is None:
        return "".join(traceback.format_exception(exc))
    key = _key(exc.__traceback__)
    frames = _frames.get(key)
    if frames is None:
        frames = "".join(traceback.TracebackException.from_exception(exc).stack.format())
        _frames[key] = frames
        while len(_frames) > ENTRIES:
            _frames.popitem(last=False)
    else:
        _frames.move_to_end(key)
    return "Traceback (most recent call last):\n" + frames + "".join(traceback.format_exception_only(exc))


def record_stacktrace(job: Any, exc: BaseException) -> None:
    """bullmq's ``Job.updateStacktrace`` (3.4.4) for ``exc``, with ``format_failure`` for the text."""
    job.stacktrace.append(format_failure(exc))
    limit = job.opts.get("stackTraceLimit")
    if limit == 0:
        job.stacktrace = []
    elif limit:
        job.stacktrace = job.stacktrace[-limit:]
