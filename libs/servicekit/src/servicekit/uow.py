"""Async unit of work: one transaction, rolled back unless committed, carrying the outbox and inbox."""

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

from sqlalchemy import insert, select, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts import Envelope, Event
from contracts.envelope import envelope_json
from contracts.topics import BY_PRODUCER
from servicekit import faults
from servicekit.bus import OutgoingMessage
from servicekit.clock import Clock
from servicekit.ids import new_uuid
from servicekit.sql import JsonText, bulk_insert
from servicekit.tables import KitTables


class BatchRollback(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class Emitted:
    """What ``emit`` recorded, for the caller (tests, logs): the envelope's fields but its payload."""

    event_id: str
    type: str
    key: str
    producer: str
    occurred_at: datetime
    correlation_id: str | None
    causation_id: str | None


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
            event_id=new_uuid(), type=event.event_type, version=event.event_version,
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

    def emit(self, event: Event, key: str) -> "Emitted | Envelope":
        """Record ``event`` in the outbox, in this transaction."""
        raise NotImplementedError

    async def exclusive(self, name: str) -> None:
        """Hold the lock ``name`` until this transaction ends: units of work asking for the same name
        (in the same service) run one after the other."""

    async def claim(self, envelope: Envelope) -> bool:
        """Record ``envelope`` in the inbox, in this transaction; ``False`` when it is already there
        (a redelivery: skip it). Rolled back with everything else if the handler fails."""
        raise NotImplementedError

    async def claim_many(self, envelopes: Sequence[Envelope]) -> set[str]:
        """``claim`` for a batch: the ids (as text) of the events seen for the first time."""
        return {str(e.event_id) for e in envelopes if await self.claim(e)}

    holding = False

    def hold(self) -> None:
        """Batch mode: handlers' ``commit()`` only flushes, until ``release()`` commits everything.
        A handler's ``rollback()`` would undo the other events' work, so it raises instead (the
        dispatcher then consumes the batch one event at a time)."""
        self.holding = True

    async def release(self) -> None:
        self.holding = False
        await self.commit()

    def _refuse_partial_rollback(self) -> None:
        if self.holding:
            self.holding = False
            raise BatchRollback("a handler rolled back inside a batch")

    async def commit(self) -> None:
        raise NotImplementedError

    async def rollback(self) -> None:
        raise NotImplementedError


class SqlAlchemyUnitOfWork(UnitOfWork):
    session: AsyncSession

    def __init__(self, sessions: async_sessionmaker[AsyncSession], tables: KitTables, producer: str,
                 clock: Clock, on_commit: Callable[[list[OutgoingMessage]], None] = lambda committed: None):
        super().__init__(producer, clock)
        self._sessions = sessions
        self._tables = tables
        # Called after each commit that wrote outbox rows, with their messages in order: the relay
        # publishes them without reading them back (it still reads the outbox after a failure).
        self._on_commit = on_commit
        self._pending: list[dict[str, Any]] = []
        self._written: list[OutgoingMessage] = []

    async def _open(self) -> None:
        self.session = self._sessions()
        self._pending = []
        self._written = []

    async def _close(self) -> None:
        self.holding = False
        try:
            await self.rollback()
        finally:
            # A cancelled request must not leave the connection checked out.
            await asyncio.shield(self.session.close())

    def emit(self, event: Event, key: str) -> Emitted:
        emitted = Emitted(new_uuid(), event.event_type, key, self.producer, self.clock.now(), self.correlation_id,
                          self.causation_id)
        # Encoded once, here: the outbox row, the relay and the broker all carry this text.
        encoded = envelope_json(event, event_id=emitted.event_id, occurred_at=emitted.occurred_at,
                                producer=self.producer, key=key, correlation_id=self.correlation_id,
                                causation_id=self.causation_id)
        self._pending.append({
            "event_id": emitted.event_id, "topic": BY_PRODUCER[self.producer], "key": key, "type": event.event_type,
            "envelope": JsonText(encoded), "created_at": emitted.occurred_at,
        })
        return emitted

    async def exclusive(self, name: str) -> None:
        # A PostgreSQL advisory lock, released at commit or rollback, named within the service's schema.
        # SQLite needs none: BEGIN IMMEDIATE already makes writers take turns for the whole transaction.
        if self.session.get_bind().dialect.name == "postgresql":
            await self.session.execute(text("SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':' || :name))"),
                                       {"name": name})

    async def claim_many(self, envelopes: Sequence[Envelope]) -> set[str]:
        inbox, now = self._tables.inbox, self.clock.now()
        rows: dict[str, str] = {}
        for envelope in envelopes:
            rows.setdefault(str(envelope.event_id), envelope.type)
        if self.session.get_bind().dialect.name == "postgresql":
            # One statement whatever the batch size: arrays in, the ids actually inserted out.
            result = await self.session.execute(text(
                f"INSERT INTO {inbox.name} (event_id, type, processed_at) "
                "SELECT event_id, type, :at FROM unnest(CAST(:ids AS varchar[]), CAST(:types AS varchar[])) "
                "AS claimed(event_id, type) ON CONFLICT (event_id) DO NOTHING RETURNING event_id"),
                {"ids": list(rows), "types": list(rows.values()), "at": now})
            return set(result.scalars())
        # SQLite: the write lock is taken at BEGIN, so nothing can slip in between.
        ids, known = list(rows), set()
        for start in range(0, len(ids), 500):
            known.update((await self.session.execute(
                select(inbox.c.event_id).where(inbox.c.event_id.in_(ids[start:start + 500])))).scalars())
        fresh = [{"event_id": i, "type": t, "processed_at": now} for i, t in rows.items() if i not in known]
        if fresh:
            await self.session.execute(insert(inbox), fresh)
        return {row["event_id"] for row in fresh}

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
            await bulk_insert(self.session, self._tables.outbox, self._pending)
            self._written += [OutgoingMessage(r["topic"], r["key"], r["envelope"].encode(), {"type": r["type"]},
                                              r["event_id"]) for r in self._pending]
            self._pending = []

    async def commit(self) -> None:
        if self.holding:
            self.committed = True  # the outbox rows wait for ``release``: one COPY for the batch
            return
        await self.flush_kit_rows()
        await self.session.commit()
        self.committed = True
        written, self._written = self._written, []
        faults.point(f"{self.producer}.after_commit")
        if written:
            self._on_commit(written)

    async def rollback(self) -> None:
        self._refuse_partial_rollback()
        self._pending, self._written = [], []
        await self.session.rollback()
