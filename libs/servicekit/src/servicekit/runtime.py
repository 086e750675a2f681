"""One service assembled: database, unit of work, outbox relay, consumers, HTTP API.

A service's ``bootstrap.py`` names its concrete parts and returns a :class:`ServiceRuntime`; the
standalone runner (``python -m <service>``) and the embedded runner (every service in one
process) both start it the same way.
"""

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query
from sqlalchemy import MetaData, Text, cast, select

from contracts import Event
from contracts.topics import BY_PRODUCER, dead_letter_topic
from servicekit.auth import right
from servicekit.bus import Bus
from servicekit.clock import Clock, FileClock, SystemClock
from servicekit.db import Database
from servicekit.digest import state_digest
from servicekit.dispatch import EventDispatcher, Handler, SqlDeadLetters
from servicekit.leader import Leadership
from servicekit.limits import DATABASE_INT_MAX
from servicekit.merges import MERGES, SqlMerges
from servicekit.outbox import OutboxRelay
from servicekit.settings import ServiceSettings
from servicekit.tables import KitTables
from servicekit.uow import SqlAlchemyUnitOfWork, UnitOfWork


@dataclass
class ServiceRuntime:
    name: str
    settings: ServiceSettings
    bus: Bus
    database: Database
    tables: KitTables
    clock: Clock
    uow_factory: Callable[[], UnitOfWork]
    relay: OutboxRelay
    dispatcher: EventDispatcher
    subscriptions: tuple[str, ...]
    router: APIRouter = field(default_factory=APIRouter)
    # Jobs the service runs on its own, every so many seconds (e.g. the GDPR purge), on one replica
    # at a time: the one holding the ``leadership`` lease (servicekit.leader).
    periodic: list[tuple[float, Callable[[], Awaitable[Any]]]] = field(default_factory=list)
    leadership: Leadership | None = None
    key_source: Any = None  # services that read sealed personal data (servicekit.keys)
    metadata: MetaData | None = None  # the service's tables: what its state digest covers (OPS-04)
    # Tables of ``metadata`` that are caches, not state, named by the bootstrap (besides the kit's own).
    not_state: frozenset[str] = frozenset()
    # Handlers of the service's own events that an audit replay applies to rebuild what the service's
    # commands decided (its own events that no event of the log caused).
    restorers: Mapping[type[Event], Handler] = field(default_factory=dict)
    # State tables no replay can rebuild by design, each with its reason (e.g. the keys of sealed personal
    # data, never in the log): out of the digest, and named with their reason wherever it is served. A key
    # ``table.column`` leaves out that column only (a personal value no event carries by design).
    unreplayable: Mapping[str, str] = field(default_factory=dict)
    directory: Any = None  # the referential's owner: people's rights (servicekit.auth.Directory)
    _relay_task: asyncio.Task | None = None
    _jobs: list[asyncio.Task] = field(default_factory=list)

    def subscribe(self) -> None:
        self.bus.declare(BY_PRODUCER[self.name], dead_letter_topic(self.name))
        for topic in self.subscriptions:
            self.bus.subscribe(topic, group=self.name, consume=self.dispatcher.consume)

    def start_relay(self) -> None:
        self._relay_task = asyncio.create_task(self.relay.run(), name=f"{self.name}-relay")
        self._jobs = [asyncio.create_task(_every(seconds, job, self.name, self.leadership), name=f"{self.name}-job")
                      for seconds, job in self.periodic]

    async def stop(self) -> None:
        for task in [self._relay_task, *self._jobs]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._relay_task, self._jobs = None, []
        if self.leadership is not None:
            await self.leadership.release()
        await self.database.dispose()


async def _every(seconds: float, job: Callable[[], Awaitable[Any]], service: str,
                 leadership: Leadership | None = None) -> None:
    while True:
        try:
            if leadership is not None and not await leadership.held():
                await asyncio.sleep(max(seconds, leadership.retry_seconds))  # another replica leads
                continue
            await job()
        except asyncio.CancelledError:
            raise
        except Exception:
            logging.getLogger("servicekit.runtime").exception("periodic job failed", extra={"service": service})
            await asyncio.sleep(max(seconds, 1.0))
            continue
        await asyncio.sleep(seconds)


def assemble(
    name: str,
    settings: ServiceSettings,
    bus: Bus,
    metadata: MetaData,
    tables: KitTables,
    migrations: Path,
    handlers: Mapping[type[Event], Handler],
    subscriptions: tuple[str, ...],
    uow_class: type[SqlAlchemyUnitOfWork],
    clock: Clock | None = None,
    serialized_events: bool = False,
) -> ServiceRuntime:
    """Build a service's runtime from its own parts; shared by every ``bootstrap.py``.
    ``serialized_events``: see ``EventDispatcher``."""
    clock = clock or (FileClock(str(settings.clock_file)) if settings.clock_file else SystemClock())
    database = Database(name, settings, migrations)
    relay = OutboxRelay(name, database.sessions, tables, bus, clock, settings.relay_batch_size,
                        settings.relay_poll_seconds)

    def uow_factory() -> UnitOfWork:
        return uow_class(database.sessions, tables, name, clock, on_commit=relay.hand_over,
                         structure=settings.structure)

    dead_letters = SqlDeadLetters(name, database.sessions, tables, bus, clock)
    dispatcher = EventDispatcher(name, handlers, uow_factory, dead_letters, settings.retry_attempts,
                                 settings.retry_backoff_seconds, serialized=serialized_events)
    return ServiceRuntime(name, settings, bus, database, tables, clock, uow_factory, relay, dispatcher,
                          subscriptions, leadership=Leadership(database), metadata=metadata)


async def runtime_digest(runtime: ServiceRuntime) -> dict[str, Any]:
    """The digest of the service's whole state (``servicekit.digest``) and the head of its event chain."""
    digest = await state_digest(runtime.database.engine, runtime.metadata,
                                runtime.not_state | frozenset(runtime.unreplayable))
    return {"service": runtime.name, **digest, "chain": await _chain_head(runtime),
            "excluded": dict(runtime.unreplayable)}


async def _chain_head(runtime: ServiceRuntime) -> dict[str, Any] | None:
    chain = runtime.tables.event_chain
    async with runtime.database.engine.connect() as conn:
        head = (await conn.execute(select(chain.c.sequence, chain.c.last_hash)
                                   .where(chain.c.producer == runtime.name))).first()
    return {"sequence": head.sequence, "last_hash": head.last_hash} if head else None


def admin_router(runtime: ServiceRuntime) -> APIRouter:
    """Operator endpoints every service has: its dead letters and their re-drive."""
    router = APIRouter(prefix="/admin", tags=["admin"])

    @router.get("/dead-letters", dependencies=[right("administration", "read")])
    async def list_dead_letters(all: bool = False) -> list[dict[str, Any]]:
        return await runtime.dispatcher.dead_letters.parked(include_redriven=all)

    @router.post("/dead-letters/redrive", dependencies=[right("administration", "write")])
    async def redrive_dead_letters() -> dict[str, Any]:
        return await runtime.dispatcher.redrive()

    @router.get("/digest", dependencies=[right("audit", "read")])
    async def state_digest_() -> dict[str, Any]:
        """The digest of the service's whole state, which an audit replay compares (OPS-04)."""
        return await runtime_digest(runtime)

    @router.post("/outbox/publish", dependencies=[right("administration", "write")])
    async def publish_outbox() -> dict[str, int]:
        return {"published": await runtime.relay.publish_pending(read_outbox=True)}

    if runtime.metadata is not None and MERGES in runtime.metadata.tables:
        @router.get("/merges", dependencies=[right("import", "read")])
        async def followed_merges() -> list[dict[str, Any]]:
            """BEN-03: each beneficiary merge this service followed, with the rows it re-pointed."""
            async with runtime.database.sessions() as session:
                return await SqlMerges(session, runtime.metadata.tables[MERGES]).listing()

    return router


def event_log_router(runtime: ServiceRuntime) -> APIRouter:
    """The service's emitted events, in order, from its outbox: what auditors replay."""
    router = APIRouter(prefix="/admin", tags=["admin"])

    @router.get("/events", dependencies=[right("audit", "read")])
    async def list_events(after: int = Query(0, ge=0, le=DATABASE_INT_MAX),
                          limit: int = Query(1000, ge=1, le=10_000)) -> list[dict[str, Any]]:
        outbox = runtime.tables.outbox
        async with runtime.database.sessions() as session:
            rows = (await session.execute(
                select(outbox.c.id, cast(outbox.c.envelope, Text).label("raw"), outbox.c.published_at)
                .where(outbox.c.id > after).order_by(outbox.c.id).limit(min(limit, 10_000)))).all()
        # ``raw``: the envelope's text as hashed into the chain and published (OPS-04).
        return [{"position": r.id, "published": r.published_at is not None, "envelope": json.loads(r.raw),
                 "raw": r.raw} for r in rows]

    @router.get("/chain", dependencies=[right("audit", "read")])
    async def chain_head() -> dict[str, Any] | None:
        """The head of the service's event chain: its last event's sequence and hash (OPS-04)."""
        return await _chain_head(runtime)

    return router
