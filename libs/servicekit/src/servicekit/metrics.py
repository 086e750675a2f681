"""Prometheus metrics shared by every service (label ``service``), served at ``/metrics`` (OPS-02).

Counters and histograms move as the work is done; the gauges of state kept elsewhere (consumer lag,
outbox backlog and age, dead letters parked) are read when Prometheus scrapes (``refresh``).
deploy/base/monitoring/ alerts on them and draws them.
"""

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import func, select

if TYPE_CHECKING:
    from servicekit.bus import Bus
    from servicekit.runtime import ServiceRuntime

log = logging.getLogger("servicekit.metrics")

EVENTS_PUBLISHED = Counter("prestaflow_events_published", "Events published from the outbox", ["service"])
EVENTS_CONSUMED = Counter("prestaflow_events_consumed", "Events consumed, by outcome",
                          ["service", "type", "outcome"])
HANDLER_SECONDS = Histogram("prestaflow_handler_duration_seconds", "Time to handle one event (its transaction), "
                            "by event type", ["service", "type"],
                            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
HANDLER_ERRORS = Counter("prestaflow_handler_errors", "Failed attempts to handle an event (each retry counts)",
                         ["service", "type"])
HTTP_SECONDS = Histogram("prestaflow_http_request_duration_seconds", "HTTP requests served, by route template",
                         ["service", "method", "route", "status"],
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120))
CONSUMER_LAG = Gauge("prestaflow_consumer_lag", "Messages of the partition the service's consumer group has not "
                     "committed yet", ["service", "topic", "partition"])
OUTBOX_BACKLOG = Gauge("prestaflow_outbox_backlog", "Outbox rows not published yet", ["service"])
OUTBOX_OLDEST = Gauge("prestaflow_outbox_oldest_unpublished_seconds", "Age of the oldest unpublished outbox row "
                      "(0 when none)", ["service"])
DEAD_LETTERS = Gauge("prestaflow_dead_letters_parked", "Events parked as dead letters, not re-driven", ["service"])


async def refresh(runtimes: Sequence["ServiceRuntime"], bus: "Bus") -> None:
    """Read the gauges' values: each service's outbox and dead letters, the bus's consumer lag. What
    cannot be read now (database or broker down) keeps its last value: /metrics still answers, and
    the readiness probe and the other alerts say what is down."""
    names = {r.name for r in runtimes}
    for runtime in runtimes:
        try:
            await _refresh_tables(runtime)
        except Exception:  # noqa: BLE001 - see above
            log.warning("metrics: the service's tables could not be read", extra={"service": runtime.name})
    try:
        lags = await bus.consumer_lag()
    except Exception:  # noqa: BLE001 - see above
        log.warning("metrics: consumer lag could not be read")
        return
    CONSUMER_LAG.clear()  # partitions a rebalance took away are not this process's any more
    for group, topic, partition, lag in lags:
        if group in names:
            CONSUMER_LAG.labels(group, topic, str(partition)).set(lag)


async def _refresh_tables(runtime: "ServiceRuntime") -> None:
    outbox, letters = runtime.tables.outbox, runtime.tables.dead_letters
    async with runtime.database.sessions() as session:
        backlog, oldest = (await session.execute(
            select(func.count(), func.min(outbox.c.created_at)).where(outbox.c.published_at.is_(None)))).one()
        parked = (await session.execute(
            select(func.count()).select_from(letters).where(letters.c.redriven_at.is_(None)))).scalar_one()
    OUTBOX_BACKLOG.labels(runtime.name).set(backlog)
    if oldest is not None and oldest.tzinfo is None:  # SQLite gives naive UTC times back
        oldest = oldest.replace(tzinfo=runtime.clock.now().tzinfo)
    OUTBOX_OLDEST.labels(runtime.name).set(
        max((runtime.clock.now() - oldest).total_seconds(), 0.0) if oldest is not None else 0.0)
    DEAD_LETTERS.labels(runtime.name).set(parked)
