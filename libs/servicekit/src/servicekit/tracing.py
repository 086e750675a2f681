"""OpenTelemetry traces across HTTP and Kafka (OPS-03).

A request's span (``http.py``) or a consumed event's span (``dispatch.py``) is the current context
while its unit of work commits; the commit puts that context (W3C ``traceparent``) in the headers
of every message it hands to the relay, which publishes them as they are: the consumer of each
event continues the trace of the command that wrote it. Rows the relay reads back from the outbox
after a crash or a failed publish carry no context (the outbox stores none): their consumers start
new traces.

Without an SDK configured every call here is a no-op. ``configure`` installs one exporting OTLP
over HTTP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (deploy/base/configmap.yaml).
"""

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind

tracer = trace.get_tracer("prestaflow.servicekit")


def with_context(headers: dict[str, str]) -> dict[str, str]:
    """``headers`` plus the current trace context, if a span is being recorded."""
    if trace.get_current_span().get_span_context().is_valid:
        propagate.inject(headers)
    return headers


def context_headers(headers: Mapping[str, str]) -> dict[str, str] | None:
    """The trace-context headers among a message's headers (None when it has none)."""
    found = {k: v for k, v in headers.items() if k in ("traceparent", "tracestate")}
    return found or None


@contextmanager
def consuming(service: str, event_type: str, topic: str, carrier: Mapping[str, str] | None) -> Iterator[Span]:
    """The span of one consumed event, child of the span that published it (if it came with one)."""
    parent = propagate.extract(carrier) if carrier else None
    with tracer.start_as_current_span(f"{service} handle {event_type}", context=parent,
                                      kind=SpanKind.CONSUMER,
                                      attributes={"prestaflow.service": service, "prestaflow.event_type": event_type,
                                                  "messaging.system": "kafka",
                                                  "messaging.destination.name": topic}) as span:
        yield span


@contextmanager
def serving(method: str, headers: Mapping[str, str]) -> Iterator[Span]:
    """The span of one HTTP request: FastAPI's own when it traces requests (0.16x and later do, once a
    tracer provider is set), else one of ours, child of the caller's if it sent a ``traceparent``."""
    current = trace.get_current_span()
    if current.get_span_context().is_valid:
        yield current
        return
    parent = propagate.extract(headers) if "traceparent" in headers else None
    with tracer.start_as_current_span(method, context=parent, kind=SpanKind.SERVER,
                                      attributes={"http.request.method": method}) as span:
        yield span


def configure(service: str) -> None:
    """Export this process's spans over OTLP/HTTP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` names a collector."""
    if not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
