"""Async unit of work: one transaction, rolled back unless committed, carrying the outbox and inbox."""

import asyncio
import uuid
from collections.abc import Callable
from typing import Any, Self

from sqlalchemy import insert
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts import Envelope, Event
from contracts.topics import BY_PRODUCER
from servicekit import faults
from servicekit.clock import Clock
from servicekit.tables import KitTables


class UnitOfWork:
    """What handlers see. Subclasses add the service's repositories in ``_open``."""

    committed: bool = False

    def __init__(self, producer: str, clock: Clock):
        self.producer = producer
        self.clock = clock
        self.correlation_id: str | None = None
        self.causation_id: str | None = None

    def caused_by(self, correlation_id: str | None, causation_id: str | None) -> None:
        """Events emitted in this unit of work answer this command or event."""
        self.correlation_id, self.causation_id = correlation_id, causation_id

    def answering(self, envelope: Envelope) -> None:
        """Events emitted from now on answer this received event (batch handlers call it per event)."""
        self.caused_by(envelope.correlation_id, str(envelope.event_id))

    def envelope(self, event: Event, key: str) -> Envelope:
        return Envelope(
            event_id=uuid.uuid4(), type=event.event_type, version=event.event_version,
            occurred_at=self.clock.now(), producer=self.producer, key=key,
            correlation_id=self.correlation_id, causation_id=self.causation_id,
            payload=event.model_dump(mode="json"),
        )

    _depth = 0

    async def __aenter__(self) -> Self:
        # Re-entrant: the dispatcher opens the unit of work (the inbox row must share the handler's
        # transaction) and the handler still writes ``async with uow:`` like any command handler.
        self._depth += 1
        if self._depth == 1:
            self.committed = False
            await self._open()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self._depth -= 1
        if self._depth == 0:
            await self._close()

    async def _open(self) -> None: ...

    async def _close(self) -> None: ...

    def emit(self, event: Event, key: str) -> Envelope:
        """Record ``event`` in the outbox, in this transaction."""
        raise NotImplementedError

    async def claim(self, envelope: Envelope) -> bool:
        """Record ``envelope`` in the inbox, in this transaction; ``False`` when it is already there
        (a redelivery: skip it). Rolled back with everything else if the handler fails."""
        raise NotImplementedError

    async def commit(self) -> None:
        raise NotImplementedError

    async def rollback(self) -> None:
        raise NotImplementedError


class SqlAlchemyUnitOfWork(UnitOfWork):
    session: AsyncSession

    def __init__(self, sessions: async_sessionmaker[AsyncSession], tables: KitTables, producer: str,
                 clock: Clock, on_commit: Callable[[], None] = lambda: None):
        super().__init__(producer, clock)
        self._sessions = sessions
        self._tables = tables
        self._on_commit = on_commit
        self._pending: list[dict[str, Any]] = []
        self._emitted = False

    async def _open(self) -> None:
        self.session = self._sessions()
        self._pending = []
        self._emitted = False

    async def _close(self) -> None:
        try:
            await self.rollback()
        finally:
            # A cancelled request must not leave the connection checked out.
            await asyncio.shield(self.session.close())

    def emit(self, event: Event, key: str) -> Envelope:
        envelope = self.envelope(event, key)
        self._pending.append({
            "event_id": str(envelope.event_id), "topic": BY_PRODUCER[self.producer], "key": key,
            "type": envelope.type, "envelope": envelope.model_dump(mode="json"),
            "created_at": envelope.occurred_at,
        })
        return envelope

    async def claim(self, envelope: Envelope) -> bool:
        # One statement instead of a lookup then an insert. On PostgreSQL a second consumer of the
        # same event (a rebalance) waits on the first one's uncommitted row, then finds it.
        dialect = self.session.get_bind().dialect.name
        insert_ = postgresql_insert if dialect == "postgresql" else sqlite_insert
        claimed = await self.session.execute(
            insert_(self._tables.inbox).values(event_id=str(envelope.event_id), type=envelope.type,
                                               processed_at=self.clock.now())
            .on_conflict_do_nothing(index_elements=["event_id"]))
        return claimed.rowcount == 1

    async def flush_kit_rows(self) -> None:
        if self._pending:
            await self.session.execute(insert(self._tables.outbox), self._pending)
            self._emitted = True
            self._pending = []

    async def commit(self) -> None:
        await self.flush_kit_rows()
        await self.session.commit()
        self.committed = True
        faults.point(f"{self.producer}.after_commit")
        if self._emitted:
            self._on_commit()
            self._emitted = False

    async def rollback(self) -> None:
        self._pending = []
        await self.session.rollback()
