"""Async unit of work: one transaction, rolled back unless committed, carrying the outbox and inbox.

Handlers emit what changed; the unit of work turns it into events when it commits:

- ``emit(event)``: one whole event (a snapshot such as ``ReferentialChanged``);
- ``emit_items(EventType, items)``: items of a list event. Items of one type emitted one after the
  other go into one event, cut into chunks of at most ``MAX_ITEMS`` items and ``MAX_EVENT_BYTES``;
  each item is stamped with its aggregate's next version (kept in the service's
  ``aggregate_versions`` table). Emitting another type in between starts a new event, so the
  events keep the order in which the handler emitted.

Every event's partition key is the structure (``ServiceSettings.structure``).
"""

import asyncio
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Self

from sqlalchemy import insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts import Envelope, Event
from contracts.base import MAX_EVENT_BYTES, MAX_ITEMS, Item, ListEvent
from contracts.envelope import GENESIS, envelope_json, event_hash
from contracts.topics import BY_PRODUCER
from servicekit import faults
from servicekit import tracing
from servicekit.bus import OutgoingMessage
from servicekit.clock import Clock, FixedClock, InstantClock
from servicekit.ids import new_uuid
from servicekit.sql import JsonText, bulk_insert, chunks, one_of, update_rows
from servicekit.tables import KitTables

# What an event's JSON holds besides its items: the envelope and ``{"items":[...]}``.
ENVELOPE_ROOM = 1024
# Outbox rows written per statement: a 100,000-row import's 400 events of up to 512 KiB each are
# not copied into one statement's parameters at once.
OUTBOX_SLICE = 16
# Aggregate versions written per statement.
VERSIONS_SLICE = 10_000


@dataclass(frozen=True, slots=True)
class Emitted:
    """An event written to the outbox: its envelope's text and the fields callers look at."""

    event_id: str
    type: str
    key: str
    producer: str
    occurred_at: datetime
    correlation_id: str | None
    causation_id: str | None
    json: str
    version: int = 1
    actor: str | None = None
    payload_json: str = "{}"

    def chained(self, sequence: int, previous_hash: str) -> "Emitted":
        """The same event at ``sequence`` of its producer's chain, after the event hashed ``previous_hash``."""
        return replace(self, json=envelope_json(
            self.type, self.version, self.payload_json, event_id=self.event_id, occurred_at=self.occurred_at,
            producer=self.producer, key=self.key, correlation_id=self.correlation_id,
            causation_id=self.causation_id, actor=self.actor, sequence=sequence, previous_hash=previous_hash))


@dataclass
class _Staged:
    """What a handler emitted, in order: a whole event, or the items of one list event type, each
    kept as ``(aggregate, aggregate id, its JSON without the version)``: encoded when emitted, so
    that a list of 100,000 items holds strings until the commit, not 100,000 models."""

    event: Event | None = None
    event_type: type[ListEvent] | None = None
    items: list[tuple[str, str, str]] | None = None


def _encoded(item: Item) -> tuple[str, str, str]:
    return item.aggregate, item.aggregate_id, item.model_dump_json(exclude={"version"})


def _with_version(unversioned: str, version: int) -> str:
    """An item's JSON with its ``version`` first (where ``model_dump_json`` puts ``Item``'s field)."""
    rest = unversioned[1:]
    return f'{{"version":{version}{"," if rest != "}" else ""}{rest}'


# SEC-04: the authenticated person behind the HTTP request being served (set by servicekit.auth's
# ``right``); a unit of work opened for that request records them as its events' actor.
current_actor: ContextVar[str | None] = ContextVar("prestaflow_actor", default=None)


class UnitOfWork:
    """What handlers see. Subclasses add the service's repositories in ``_open``."""

    committed: bool = False

    def __init__(self, producer: str, clock: Clock, structure: str = "bge"):
        self.producer = producer
        self.clock = clock
        self._own_clock = clock
        self._instant = InstantClock(clock)  # the transaction's time: what it stamps, when its events occur
        self.structure = structure
        self.correlation_id: str | None = None
        self.causation_id: str | None = None
        self.actor: str | None = current_actor.get()  # SEC-04: the person whose command this is
        self._staged: list[_Staged] = []

    def caused_by(self, correlation_id: str | None, causation_id: str | None, actor: str | None = None) -> None:
        """Events emitted in this unit of work answer this command or event, of this user."""
        self.correlation_id, self.causation_id, self.actor = correlation_id, causation_id, actor

    def answering(self, envelope: Envelope) -> None:
        """Events emitted from now on answer this received event (and keep its user); what the handler
        stamps with ``uow.clock`` takes the event's time, so that replaying the log into a fresh
        database stamps the same (OPS-04). The events it emits occur at the transaction's own time."""
        self.caused_by(envelope.correlation_id, str(envelope.event_id), envelope.actor)
        self.clock = FixedClock(envelope.occurred_at)

    _depth = 0

    async def __aenter__(self) -> Self:
        # Re-entrant: the dispatcher opens the unit of work (the inbox row must share the handler's
        # transaction) and the handler still writes ``async with uow:`` like any command handler.
        self._depth += 1
        if self._depth == 1:
            self.committed = False
            self._staged = []
            self.clock = self._instant = InstantClock(self._own_clock)
            await self._open()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self._depth -= 1
        if self._depth == 0:
            await self._close()

    async def _open(self) -> None: ...

    async def _close(self) -> None: ...

    async def scrub(self) -> None:
        """After erasing personal data (X-04): make sure the storage keeps no copy of it (see SQLAlchemy's)."""

    def emit(self, event: Event) -> None:
        """Record a whole ``event`` in the outbox, in this transaction."""
        if isinstance(event, ListEvent):
            self.emit_items(type(event), event.items)
        else:
            self._staged.append(_Staged(event=event))

    def emit_items(self, event_type: type[ListEvent], items: Iterable[Item]) -> None:
        """Record items of ``event_type``: they join the items of that type emitted just before."""
        items = [_encoded(item) for item in items]
        if not items:
            return
        last = self._staged[-1] if self._staged else None
        if last is not None and last.event_type is event_type:
            last.items.extend(items)
        else:
            self._staged.append(_Staged(event_type=event_type, items=items))

    async def _aggregate_versions(self, keys: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """The current version of each ``(aggregate, id)`` known (new ones are absent)."""
        return {}

    async def _save_aggregate_versions(self, versions: dict[tuple[str, str], int], known: set[tuple[str, str]]) -> None:
        ...

    async def _staged_events(self) -> list[Emitted]:
        """The events emitted since the last commit, encoded, their items stamped with versions."""
        staged, self._staged = self._staged, []
        if not staged:
            return []
        keys = {(aggregate, aggregate_id) for entry in staged if entry.items
                for aggregate, aggregate_id, _ in entry.items}
        current = await self._aggregate_versions(keys) if keys else {}
        known = set(current)
        emitted: list[Emitted] = []
        staged.reverse()
        while staged:  # each entry let go once encoded: its items' JSON is then in the events' only
            entry = staged.pop()
            if entry.event is not None:
                emitted.append(self._encode(entry.event.event_type, entry.event.event_version,
                                            entry.event.model_dump_json()))
                continue
            encoded = []
            for aggregate, aggregate_id, unversioned in entry.items:
                key = (aggregate, aggregate_id)
                current[key] = version = current.get(key, 0) + 1
                encoded.append(_with_version(unversioned, version))
            entry.items = None
            for chunk in _chunked(encoded):
                emitted.append(self._encode(entry.event_type.event_type, entry.event_type.event_version,
                                            '{"items":[' + ",".join(chunk) + "]}"))
        if keys:
            await self._save_aggregate_versions({k: current[k] for k in keys}, known)
        return emitted

    def _encode(self, event_type: str, version: int, payload_json: str) -> Emitted:
        event_id, now = new_uuid(), self._instant.now()
        return Emitted(event_id, event_type, self.structure, self.producer, now, self.correlation_id,
                       self.causation_id,
                       envelope_json(event_type, version, payload_json, event_id=event_id, occurred_at=now,
                                     producer=self.producer, key=self.structure,
                                     correlation_id=self.correlation_id, causation_id=self.causation_id,
                                     actor=self.actor),
                       version, self.actor, payload_json)

    async def exclusive(self, name: str) -> None:
        """Hold the lock ``name`` until this transaction ends: units of work asking for the same name
        (in the same service) run one after the other."""

    async def claim(self, envelope: Envelope) -> bool:
        """Record ``envelope`` in the inbox, in this transaction; ``False`` when it is already there
        (a redelivery: skip it). Rolled back with everything else if the handler fails."""
        raise NotImplementedError

    async def commit(self) -> None:
        raise NotImplementedError

    async def rollback(self) -> None:
        raise NotImplementedError


def _chunked(encoded: list[str]) -> list[list[str]]:
    """Items' JSON cut into events of at most ``MAX_ITEMS`` items and ``MAX_EVENT_BYTES``."""
    chunks_: list[list[str]] = [[]]
    size = ENVELOPE_ROOM
    for item in encoded:
        length = len(item.encode()) + 1
        if chunks_[-1] and (len(chunks_[-1]) == MAX_ITEMS or size + length > MAX_EVENT_BYTES):
            chunks_.append([])
            size = ENVELOPE_ROOM
        chunks_[-1].append(item)
        size += length
    return chunks_


class SqlAlchemyUnitOfWork(UnitOfWork):
    session: AsyncSession

    def __init__(self, sessions: async_sessionmaker[AsyncSession], tables: KitTables, producer: str,
                 clock: Clock, on_commit: Callable[[list[OutgoingMessage]], None] = lambda committed: None,
                 structure: str = "bge"):
        super().__init__(producer, clock, structure)
        self._sessions = sessions
        self._tables = tables
        # Called after each commit that wrote outbox rows, with their messages in order: the relay
        # publishes them without reading them back (it still reads the outbox after a failure).
        self._on_commit = on_commit

    async def _open(self) -> None:
        self.session = self._sessions()

    async def _close(self) -> None:
        try:
            await self.rollback()
        finally:
            # A cancelled request must not leave the connection checked out.
            await asyncio.shield(self.session.close())

    async def scrub(self) -> None:
        """After personal data was erased and committed (X-04), on SQLite: write the log into the database
        and empty it (``wal_checkpoint(TRUNCATE)``), so that erased values stay neither in the write-ahead
        log nor, with ``secure_delete``, in the database's free space. Nothing to do on PostgreSQL."""
        engine = self._sessions.kw.get("bind")
        if engine is None or engine.dialect.name != "sqlite":
            return
        async with engine.connect() as conn:  # outside any transaction: a checkpoint cannot run in one
            raw = await conn.get_raw_connection()
            await raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def exclusive(self, name: str) -> None:
        # A PostgreSQL advisory lock, released at commit or rollback, named within the service's schema.
        # SQLite needs none: BEGIN IMMEDIATE already makes writers take turns for the whole transaction.
        if self.session.get_bind().dialect.name == "postgresql":
            await self.session.execute(text("SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':' || :name))"),
                                       {"name": name})

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

    async def _aggregate_versions(self, keys: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
        table, found = self._tables.aggregate_versions, {}
        by_kind: dict[str, list[str]] = {}
        for kind, aggregate_id in keys:
            by_kind.setdefault(kind, []).append(aggregate_id)
        for kind, ids in by_kind.items():
            for part in chunks(ids):
                rows = await self.session.execute(
                    table.select().where(table.c.aggregate == kind, one_of(self.session, table.c.aggregate_id, part)))
                found.update({(r.aggregate, r.aggregate_id): r.version for r in rows})
        return found

    async def _save_aggregate_versions(self, versions: dict[tuple[str, str], int], known: set[tuple[str, str]]) -> None:
        table, pairs = self._tables.aggregate_versions, list(versions.items())
        for start in range(0, len(pairs), VERSIONS_SLICE):  # a 100,000-row import: 200,000 rows, not at once
            rows = [{"aggregate": k[0], "aggregate_id": k[1], "version": v}
                    for k, v in pairs[start:start + VERSIONS_SLICE]]
            await update_rows(self.session, table, [r for r in rows if (r["aggregate"], r["aggregate_id"]) in known])
            await bulk_insert(self.session, table,
                              [r for r in rows if (r["aggregate"], r["aggregate_id"]) not in known])

    async def _chained(self, emitted: list[Emitted]) -> list[Emitted]:
        """``emitted`` linked to the service's hash chain (OPS-04): each envelope carries its sequence and
        the previous one's hash. Taken under a lock at commit, so that the chain's order is the order
        in which transactions commit, whatever the replicas; the outbox keeps each envelope's text as
        hashed, and the relay publishes it unchanged."""
        await self.exclusive("event-chain")
        table = self._tables.event_chain
        head = (await self.session.execute(
            select(table.c.sequence, table.c.last_hash).where(table.c.producer == self.producer))).first()
        sequence, last = (head.sequence, head.last_hash) if head else (0, GENESIS)
        chained = []
        for event in emitted:
            sequence += 1
            event = event.chained(sequence, last)
            last = event_hash(event.json)
            chained.append(event)
        values = {"sequence": sequence, "last_hash": last}
        if head:
            await self.session.execute(update(table).where(table.c.producer == self.producer).values(values))
        else:
            await self.session.execute(insert(table).values(producer=self.producer, **values))
        return chained

    async def commit(self) -> None:
        emitted = await self._staged_events()
        if emitted:
            emitted = await self._chained(emitted)
            topic = BY_PRODUCER[self.producer]
            for start in range(0, len(emitted), OUTBOX_SLICE):  # not one statement holding every envelope
                await bulk_insert(self.session, self._tables.outbox, [
                    {"event_id": e.event_id, "topic": topic, "key": e.key, "type": e.type,
                     "envelope": JsonText(e.json), "created_at": e.occurred_at}
                    for e in emitted[start:start + OUTBOX_SLICE]])
        faults.point(f"{self.producer}.before_commit")
        await self.session.commit()
        self.committed = True
        faults.point(f"{self.producer}.after_commit")
        if emitted:
            # Each envelope's text let go as its bytes are made: a large commit never holds both.
            emitted.reverse()
            messages = []
            while emitted:
                e = emitted.pop()
                messages.append(OutgoingMessage(topic, e.key, e.json.encode(), tracing.with_context({"type": e.type}),
                                                e.event_id))
            self._on_commit(messages)

    async def rollback(self) -> None:
        self._staged = []
        await self.session.rollback()
