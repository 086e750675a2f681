"""OPS-03: one import's trace, exported in memory, reaches every service its events cause work
in: the HTTP request to importer, then planning, affectation and notify handling importer's event,
each span the child of the one whose commit published the event (context in the message headers,
kept by the relay)."""

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from prestaflow.import_cli import upload

from cluster import SAMPLES


@pytest.fixture(scope="module")
def spans() -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):  # the process's first: install it
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


async def test_ops03_one_imports_trace_reaches_planning_affectation_and_notify(pg_api, spans):
    spans.clear()
    report = await upload(pg_api, SAMPLES / "liste_inscrits_J-10.csv", "ACR2025-L12", False, None, "ops")
    assert report["counts"]["created"] == 6
    await pg_api.embedded.settle(everything=True)

    finished = spans.get_finished_spans()
    request = next(s for s in finished if s.kind == SpanKind.SERVER and s.name == "POST /importer/imports")
    in_trace = [s for s in finished if s.context.trace_id == request.context.trace_id]
    handled = [s for s in in_trace if s.kind == SpanKind.CONSUMER]
    ids = {s.context.span_id for s in in_trace}
    # Each handling span's parent is a span of this trace (the import's request, or a handler whose
    # commit published the event it handles): one causal chain, no orphan.
    assert handled and all(s.parent is not None and s.parent.span_id in ids for s in handled)
    for service in ("planning", "affectation", "notify"):
        assert any(s.attributes["prestaflow.service"] == service
                   and s.attributes["messaging.destination.name"] == "prestaflow.import.events" for s in handled), \
            f"{service} did not handle importer's event in the import's trace"
    # Then further: what planning published in consequence reached affectation and notify, same trace.
    assert any(s.attributes["messaging.destination.name"] == "prestaflow.planning.events" for s in handled)
    # Another import is another trace.
    spans.clear()
    await upload(pg_api, SAMPLES / "liste_inscrits_J-2.csv", "ACR2025-L12", False, None, "ops")
    await pg_api.embedded.settle(everything=True)
    second = next(s for s in spans.get_finished_spans() if s.name == "POST /importer/imports")
    assert second.context.trace_id != request.context.trace_id
