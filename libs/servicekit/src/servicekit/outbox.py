"""The outbox relay: publishes committed, unpublished outbox rows in order, in batches."""

import asyncio
import logging

from sqlalchemy import ARRAY, Integer, any_, cast, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from servicekit import faults
from servicekit.bus import Bus, OutgoingMessage
from servicekit.clock import Clock
from servicekit.metrics import EVENTS_PUBLISHED
from servicekit.tables import KitTables

log = logging.getLogger("servicekit.outbox")


class OutboxRelay:
    def __init__(self, service: str, sessions: async_sessionmaker[AsyncSession], tables: KitTables,
                 bus: Bus, clock: Clock, batch_size: int = 500, poll_seconds: float = 0.5):
        self.service = service
        self._sessions = sessions
        self._outbox = tables.outbox
        self._bus = bus
        self._clock = clock
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()

    def wake(self) -> None:
        self._wake.set()

    @property
    def woken(self) -> bool:
        """A commit emitted events since the relay last looked."""
        return self._wake.is_set()

    async def publish_pending(self) -> int:
        """Publish every unpublished row; return how many were published.

        Rows are marked only after the broker acknowledged the batch: a crash in between
        republishes them, and consumers' inboxes absorb the duplicates. The rows are locked
        (``FOR UPDATE`` on PostgreSQL) so that two replicas never publish one batch out of order.
        """
        total = 0
        async with self._lock:
            self._wake.clear()
            while True:
                async with self._sessions() as session, session.begin():
                    rows = (await session.execute(
                        select(self._outbox.c.id, self._outbox.c.topic, self._outbox.c.key,
                               self._outbox.c.type, self._outbox.c.envelope)
                        .where(self._outbox.c.published_at.is_(None))
                        .order_by(self._outbox.c.id).limit(self.batch_size).with_for_update()
                    )).all()
                    if not rows:
                        return total
                    faults.point(f"{self.service}.relay.before_publish")
                    await self._bus.publish([
                        OutgoingMessage(r.topic, r.key, r.envelope, {"type": r.type}) for r in rows])
                    ids = [r.id for r in rows]
                    # One array parameter on PostgreSQL instead of a thousand bound ones.
                    published = (self._outbox.c.id == any_(cast(ids, ARRAY(Integer)))
                                 if session.get_bind().dialect.name == "postgresql" else self._outbox.c.id.in_(ids))
                    await session.execute(update(self._outbox).where(published).values(published_at=self._clock.now()))
                EVENTS_PUBLISHED.labels(self.service).inc(len(rows))
                log.info("outbox batch published", extra={"service": self.service, "count": len(rows)})
                total += len(rows)

    async def run(self) -> None:
        """Publish whenever a commit wakes the relay, and every ``poll_seconds`` anyway."""
        while True:
            try:
                await self.publish_pending()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay failed; retrying", extra={"service": self.service})
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
            except TimeoutError:
                pass
            self._wake.clear()
