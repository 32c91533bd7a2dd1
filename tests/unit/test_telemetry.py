"""Reading a job's trace context as Node BullMQ stores it, whoever wrote the options."""

from __future__ import annotations

import json
from typing import Any

import pytest
from opentelemetry import trace

from smartworker import telemetry

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
SPAN_ID = "b7ad6b7169203331"
CARRIER = json.dumps({"traceparent": f"00-{TRACE_ID}-{SPAN_ID}-01"})


def span_of(opts: Any) -> tuple[str, str] | None:
    ctx = telemetry.context_of(opts)
    if ctx is None:
        return None
    span = trace.get_current_span(ctx).get_span_context()
    return format(span.trace_id, "032x"), format(span.span_id, "016x")


@pytest.mark.parametrize("opts", [
    {"tm": CARRIER, "attempts": 3},  # as stored in Redis (Python bullmq reads the raw key)
    {"telemetry": {"metadata": CARRIER}},  # as Node BullMQ decodes it
])
def test_the_context_a_producer_stored_is_read(opts: dict[str, Any]) -> None:
    assert span_of(opts) == (TRACE_ID, SPAN_ID)


@pytest.mark.parametrize("opts", [
    None, "opts", {}, {"tm": None}, {"tm": 7}, {"tm": "not json"}, {"tm": "[1, 2]"}, {"tm": "{}"},
    {"tm": json.dumps({"traceparent": "00-zz-yy-01"})},
    {"tm": json.dumps({"traceparent": f"00-{'0' * 32}-{SPAN_ID}-01"})},  # the all-zero (invalid) trace id
    {"telemetry": "metadata"},
])
def test_options_without_a_usable_context_have_none(opts: Any) -> None:
    assert span_of(opts) is None


def test_options_are_left_alone_while_tracing_is_off() -> None:
    assert not telemetry.enabled()
    opts = {"attempts": 2}
    assert telemetry.with_context(opts) is opts
