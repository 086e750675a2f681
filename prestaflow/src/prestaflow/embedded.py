"""Every service in one process: one bus, one HTTP app with each API under its own prefix."""

import asyncio
from collections.abc import Sequence

import httpx
from fastapi import FastAPI

from affectation.bootstrap import bootstrap as affectation
from billing.bootstrap import bootstrap as billing
from importer.bootstrap import bootstrap as importer
from notify.bootstrap import bootstrap as notify
from planning.bootstrap import bootstrap as planning
from servicekit.bus import Bus
from servicekit.clock import Clock
from servicekit.http import build_app
from servicekit.outbox import OutboxRelay
from servicekit.runtime import ServiceRuntime
from servicekit.settings import ServiceSettings

BOOTSTRAPS = (planning, importer, affectation, billing, notify)
SERVICE_NAMES = ("planning", "importer", "affectation", "billing", "notify")


class Embedded:
    def __init__(self, settings: ServiceSettings, *, background_relays: bool, clock: Clock | None = None):
        self.bus = Bus(settings.bus, idempotence=settings.kafka_idempotence, namespace=settings.topic_namespace,
                       partitions=settings.kafka_partitions, replication=settings.kafka_replication,
                       batch_size=settings.consumer_batch_size)
        self.runtimes: Sequence[ServiceRuntime] = [b(self.bus, settings, clock=clock) for b in BOOTSTRAPS]
        self.app: FastAPI = build_app(self.runtimes, self.bus, "Prestaflow", run_relays=background_relays)
        # Importer serves beneficiaries' keys from this same process.
        for runtime in self.runtimes:
            if runtime.key_source is not None and not settings.importer_url:
                runtime.key_source.transport = httpx.ASGITransport(app=self.app)

    async def settle(self, everything: bool = False) -> int:
        """Publish outboxes until none has anything left; with the in-memory bus, publishing runs the
        consumers, so afterwards every projection is up to date. Only relays woken by a commit are
        asked, unless ``everything`` (at start: a previous process may have left events behind).

        The relays publish at the same time, as each service's own relay does in production: while
        importer's events are consumed, planning's (those the first ones caused) can be too, and one
        consumer group's wait on PostgreSQL is another's time to compute."""
        relays = [runtime.relay for runtime in self.runtimes]
        publishing: set[OutboxRelay] = set()

        async def drain(relay: OutboxRelay, read_outbox: bool) -> int:
            published = 0
            while True:
                if read_outbox or relay.woken:
                    publishing.add(relay)
                    try:
                        published += await relay.publish_pending(read_outbox=read_outbox)
                    finally:
                        publishing.discard(relay)
                    read_outbox = False
                elif not publishing:
                    return published  # no relay at work: none can wake this one any more
                else:
                    await relay.woken_within(0.01)  # another relay's consumers may commit events here

        total = 0
        while True:
            outcomes = await asyncio.gather(*[drain(relay, everything) for relay in relays], return_exceptions=True)
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    raise outcome
            total += sum(outcomes)
            everything = False
            if not any(relay.woken for relay in relays):
                return total
