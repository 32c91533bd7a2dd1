"""A real OTLP/HTTP trace receiver: decodes the protobuf ``ExportTraceServiceRequest`` an exporter
POSTs to ``/v1/traces`` and keeps every span it carried, flattened for assertions."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan
from tests.fakes import serving

#: OTLP's span kinds by number, as the SDKs name them.
KINDS = {ProtoSpan.SPAN_KIND_INTERNAL: "INTERNAL", ProtoSpan.SPAN_KIND_SERVER: "SERVER",
         ProtoSpan.SPAN_KIND_CLIENT: "CLIENT", ProtoSpan.SPAN_KIND_PRODUCER: "PRODUCER",
         ProtoSpan.SPAN_KIND_CONSUMER: "CONSUMER"}


@dataclass(frozen=True)
class ReceivedSpan:
    """One span as it arrived."""

    name: str
    kind: str
    trace_id: str  #: 32 hex digits
    span_id: str  #: 16 hex digits
    parent_span_id: str  #: "" for a root span
    attributes: dict[str, Any]
    service: str
    error: bool  #: status code ERROR


@dataclass
class Receiver:
    """The spans received so far, and the receiver's URL (the OTLP endpoint base)."""

    spans: list[ReceivedSpan] = field(default_factory=list)
    url: str = ""

    def named(self, name: str) -> list[ReceivedSpan]:
        """Spans with this exact name, in arrival order."""
        return [s for s in self.spans if s.name == name]

    def in_trace(self, trace_id: str) -> list[ReceivedSpan]:
        """Spans of one trace."""
        return [s for s in self.spans if s.trace_id == trace_id]


def _value(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    if which == "array_value":
        return [_value(v) for v in value.array_value.values]
    return getattr(value, which) if which else None


def app(receiver: Receiver) -> FastAPI:
    """The receiver's HTTP app."""
    api = FastAPI()

    @api.post("/v1/traces")
    async def traces(request: Request) -> Response:
        body = await request.body()
        if request.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        export = ExportTraceServiceRequest()
        export.ParseFromString(body)
        for resource_spans in export.resource_spans:
            resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    receiver.spans.append(ReceivedSpan(
                        name=span.name, kind=KINDS.get(span.kind, str(span.kind)), trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(), parent_span_id=span.parent_span_id.hex(),
                        attributes={a.key: _value(a.value) for a in span.attributes},
                        service=str(resource.get("service.name", "")), error=span.status.code == 2))
        return Response(ExportTraceServiceResponse().SerializeToString(), media_type="application/x-protobuf")

    return api


@contextmanager
def running() -> Iterator[Receiver]:
    """A receiver served on a free loopback port for the length of a ``with`` block."""
    receiver = Receiver()
    with serving.running(app(receiver)) as url:
        receiver.url = url
        yield receiver
