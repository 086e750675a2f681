"""The outbox relay: publishes committed, unpublished outbox rows in order, in batches."""

import asyncio
import logging
from collections import deque

from sqlalchemy import Text, cast, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from servicekit import faults
from servicekit.bus import Bus, OutgoingMessage
from servicekit.clock import Clock
from servicekit.metrics import EVENTS_PUBLISHED
from servicekit.sql import one_of
from servicekit.tables import KitTables

log = logging.getLogger("servicekit.outbox")


class OutboxRelay:
    """Publishes what commits hand over, and whatever the outbox still holds unpublished.

    A commit hands its outbox rows' messages to the relay (``hand_over``): the relay publishes them
    from memory and marks their rows, never reading an envelope back. The outbox itself is read
    when the relay starts, after any failure and at each quiet poll: rows a crash or a failed publish
    left behind go then, before anything handed over since (a key's events stay in order).
    """

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
        self._handed: deque[OutgoingMessage] = deque()
        self._read_outbox = True  # at start: a previous process may have left rows unpublished

    def hand_over(self, committed: list[OutgoingMessage]) -> None:
        """A commit's outbox rows, as messages, in the order they were written."""
        self._handed.extend(committed)
        self._wake.set()

    @property
    def woken(self) -> bool:
        """A commit emitted events since the relay last looked."""
        return self._wake.is_set()

    async def woken_within(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for a commit to hand events over; whether one did."""
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        except TimeoutError:
            return False
        return True

    async def publish_pending(self, read_outbox: bool = False) -> int:
        """Publish what commits handed over (first, with ``read_outbox`` or when the relay has
        reason to, every unpublished row of the outbox); return how many were published.

        Rows are marked in the transaction that publishes them, committed only after the broker
        acknowledged the batch: a crash in between republishes them, and consumers' inboxes absorb
        the duplicates. The rows are locked (``FOR UPDATE``, or the ``UPDATE`` itself) so that two
        replicas never publish one batch out of order, nor one row twice.
        """
        async with self._lock:
            self._wake.clear()
            try:
                total = await self._publish_unpublished_rows() if read_outbox or self._read_outbox else 0
                self._read_outbox = False
                return total + await self._publish_handed_over()
            except BaseException:
                self._read_outbox = True  # what failed is still in the outbox: read it next time
                self._handed.clear()
                raise

    async def _publish_unpublished_rows(self) -> int:
        total = 0
        while True:
            async with self._sessions() as session, session.begin():
                rows = (await session.execute(
                    select(self._outbox.c.id, self._outbox.c.event_id, self._outbox.c.topic, self._outbox.c.key,
                           self._outbox.c.type, cast(self._outbox.c.envelope, Text).label("envelope"))
                    .where(self._outbox.c.published_at.is_(None))
                    .order_by(self._outbox.c.id).limit(self.batch_size).with_for_update()
                )).all()
                if not rows:
                    return total
                messages = [OutgoingMessage(r.topic, r.key, r.envelope.encode(), {"type": r.type}, r.event_id)
                            for r in rows]
                await self._publish(messages)
                published = one_of(session, self._outbox.c.id, [r.id for r in rows])
                await session.execute(update(self._outbox).where(published).values(published_at=self._clock.now()))
            total += len(rows)

    async def _publish_handed_over(self) -> int:
        """Marks one batch, publishes it, and commits the marks once the broker acknowledged it; then
        the next. One batch at a time: a later batch acknowledged before an earlier one failed would
        put the structure's events out of order."""
        total = 0
        while self._handed:
            batch = [self._handed.popleft() for _ in range(min(self.batch_size, len(self._handed)))]
            async with self._sessions() as session, session.begin():
                chosen = one_of(session, self._outbox.c.event_id, [m.event_id for m in batch])
                # Marks and locks the rows still unpublished: another replica's relay may have taken some.
                marked = set((await session.execute(
                    update(self._outbox).where(chosen, self._outbox.c.published_at.is_(None))
                    .values(published_at=self._clock.now()).returning(self._outbox.c.event_id))).scalars())
                messages = [m for m in batch if m.event_id in marked]
                if messages:
                    await self._publish(messages)
            total += len(messages)
        return total

    async def _publish(self, messages: list[OutgoingMessage]) -> None:
        faults.point(f"{self.service}.relay.before_publish")
        await self._bus.publish(messages)
        self._published(messages)

    def _published(self, messages: list[OutgoingMessage]) -> None:
        EVENTS_PUBLISHED.labels(self.service).inc(len(messages))
        log.info("outbox batch published", extra={"service": self.service, "count": len(messages)})

    async def run(self) -> None:
        """Publish whenever a commit wakes the relay, and read the outbox every ``poll_seconds`` anyway."""
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
                self._read_outbox = True
            self._wake.clear()
