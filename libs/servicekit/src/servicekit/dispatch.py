"""The consumer side: envelope in, inbox check, handler, retries, dead letter.

Handlers are plain ``async def verb_noun(event, uow)`` functions that commit through the unit of
work. The dispatcher records the event id in the inbox inside the same transaction, so a
redelivered event is acknowledged and skipped. A handler that keeps failing is parked in the
service's ``dead_letters`` table and on its dead-letter topic, then acknowledged: the partition
is not blocked, and ``redrive`` runs it again once the cause is fixed. A message that is not an
event of ours (bad JSON, unknown type or version, too many items, too large) is parked at once.
"""

import asyncio
import json
import logging
import time
import traceback
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

from pydantic import ValidationError
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts import Envelope, Event, parse_event
from contracts.base import MAX_EVENT_BYTES
from contracts.registry import UnknownEvent, is_known, read_envelope
from contracts.topics import dead_letter_topic
from servicekit import faults
from servicekit.bus import Bus, Incoming, OutgoingMessage
from servicekit.clock import Clock
from servicekit import tracing
from servicekit.metrics import EVENTS_CONSUMED, HANDLER_ERRORS, HANDLER_SECONDS
from servicekit.tables import KitTables
from servicekit.uow import ENVELOPE_ROOM, UnitOfWork

log = logging.getLogger("servicekit.dispatch")

# ``async def verb_noun(event, uow)``: one function per event type, over the event's items.
Handler = Callable[[Any, Any], Awaitable[None]]


def as_dict(body: bytes | str | dict[str, Any]) -> dict[str, Any]:
    """A message's value as a JSON object, for a dead letter (kept as text if it is not one)."""
    if isinstance(body, dict):
        return body
    text = body.decode(errors="replace") if isinstance(body, bytes) else body
    try:
        decoded = json.loads(text)
    except ValueError:
        return {"raw": text}
    return decoded if isinstance(decoded, dict) else {"raw": text}


class DeadLetters(Protocol):
    async def park(self, body: bytes | dict[str, Any], topic: str, error: str, attempts: int) -> None: ...

    async def parked(self, include_redriven: bool = False) -> list[dict[str, Any]]: ...

    async def mark_redriven(self, letter_id: int) -> None: ...


class SqlDeadLetters:
    """Parked events in the service's own ``dead_letters`` table, also copied to its dead-letter topic."""

    def __init__(self, service: str, sessions: async_sessionmaker[AsyncSession], tables: KitTables,
                 bus: Bus | None, clock: Clock):
        self.service = service
        self._sessions = sessions
        self._table = tables.dead_letters
        self._bus = bus
        self._clock = clock

    async def park(self, body: bytes | dict[str, Any], topic: str, error: str, attempts: int) -> None:
        body = as_dict(body)
        event_id, event_type = str(body.get("event_id", "?")), str(body.get("type", "?"))
        async with self._sessions() as session, session.begin():
            await session.execute(insert(self._table).values(
                event_id=event_id, topic=topic, type=event_type, envelope=body, error=error,
                attempts=attempts, parked_at=self._clock.now()))
        log.error("event parked as dead letter", extra={"service": self.service, "event_id": event_id,
                                                         "type": event_type})
        if self._bus is not None:
            await self._bus.publish([OutgoingMessage(
                dead_letter_topic(self.service), str(body.get("key", event_id)),
                {"envelope": body, "error": error, "service": self.service}, {"type": event_type})])

    async def parked(self, include_redriven: bool = False) -> list[dict[str, Any]]:
        query = select(self._table).order_by(self._table.c.id)
        if not include_redriven:
            query = query.where(self._table.c.redriven_at.is_(None))
        async with self._sessions() as session:
            rows = (await session.execute(query)).mappings().all()
        return [{"id": r["id"], "event_id": r["event_id"], "type": r["type"], "error": r["error"],
                 "attempts": r["attempts"], "parked_at": r["parked_at"].isoformat(), "envelope": r["envelope"],
                 "redriven_at": r["redriven_at"].isoformat() if r["redriven_at"] else None} for r in rows]

    async def mark_redriven(self, letter_id: int) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(update(self._table).where(self._table.c.id == letter_id)
                                  .values(redriven_at=self._clock.now()))


class EventDispatcher:
    """Consumes a service's events, each in a transaction of its own with its inbox row.

    ``serialized``: each event transaction first takes the service's ``events`` lock
    (``UnitOfWork.exclusive``), so that no two run at once, across subscriptions and replicas. For a
    service whose handlers of two topics read what the other writes (notify: an appointment from
    importer, its action from planning): in two concurrent transactions neither sees the other's
    rows, and the link between them was lost."""

    def __init__(self, service: str, handlers: Mapping[type[Event], Handler],
                 uow_factory: Callable[[], UnitOfWork], dead_letters: DeadLetters, attempts: int = 3,
                 backoff_seconds: float = 0.2, serialized: bool = False):
        self.service = service
        self.serialized = serialized
        self.handlers = {model.event_type: handler for model, handler in handlers.items()}
        self.uow_factory = uow_factory
        self.dead_letters = dead_letters
        self.attempts = attempts
        self.backoff_seconds = backoff_seconds

    async def consume(self, messages: Sequence[Incoming | bytes | dict[str, Any]], topic: str = "") -> None:
        """A polled batch, in order. Each event commits on its own: a list event already carries up
        to a thousand items, and a failing event is retried and parked without holding the others."""
        for message in messages:
            if isinstance(message, Incoming):
                await self(message.body, topic, message.type, message.trace)
            else:
                await self(message, topic)

    async def __call__(self, body: bytes | dict[str, Any], topic: str = "", kind: str | None = None,
                       trace: dict[str, str] | None = None) -> None:
        # Another service's event is skipped before any parsing (most of a topic, for most
        # consumers). The type comes from the message's header, or from a body already decoded.
        if kind is None and isinstance(body, dict):
            kind = body.get("type")
        if isinstance(kind, str) and kind not in self.handlers:
            if not is_known(kind):  # no service publishes it: a type nobody can read is parked, not lost
                await self._park(body, topic, f"UnknownEvent: {kind}")
            return
        if isinstance(body, bytes | str) and len(body) > MAX_EVENT_BYTES + ENVELOPE_ROOM:
            await self._park(body, topic, f"événement trop grand : {len(body)} octets, au plus {MAX_EVENT_BYTES}")
            return
        envelope = await self._envelope(body, topic, kind)
        if envelope is not None and envelope.type in self.handlers:
            with tracing.consuming(self.service, envelope.type, topic, trace):
                await self.one(body, envelope, topic)
        elif envelope is not None and not is_known(envelope.type):
            await self._park(body, topic, f"UnknownEvent: {envelope.type}")

    async def _envelope(self, body: bytes | dict[str, Any], topic: str, kind: str | None = None) -> Envelope | None:
        """The validated envelope, or None once parked as a dead letter."""
        try:
            if isinstance(body, bytes | str):
                return read_envelope(body, kind)
            return Envelope.model_validate(body)
        except ValidationError as exc:
            await self._park(body, topic, f"enveloppe invalide : {exc}")
            return None

    async def _park(self, body: bytes | dict[str, Any], topic: str, error: str, attempts: int = 1,
                    event_type: str = "?") -> None:
        EVENTS_CONSUMED.labels(self.service, event_type, "dead_letter").inc()
        await self.dead_letters.park(body, topic, error, attempts=attempts)

    async def one(self, body: bytes | dict[str, Any], envelope: Envelope, topic: str) -> None:
        handler = self.handlers[envelope.type]
        error = ""
        for attempt in range(1, self.attempts + 1):
            started = time.perf_counter()
            try:
                outcome = await self.handle(envelope, handler)
                HANDLER_SECONDS.labels(self.service, envelope.type).observe(time.perf_counter() - started)
                EVENTS_CONSUMED.labels(self.service, envelope.type, outcome).inc()
                return
            except (UnknownEvent, ValidationError) as exc:
                HANDLER_ERRORS.labels(self.service, envelope.type).inc()
                error = f"{type(exc).__name__}: {exc}"
                break  # a malformed payload will not heal by retrying
            except Exception as exc:  # noqa: BLE001 - every failure is retried, then parked
                HANDLER_ERRORS.labels(self.service, envelope.type).inc()
                error = "".join(traceback.format_exception_only(exc)).strip()
                log.warning("handler failed", extra={"service": self.service, "type": envelope.type,
                                                     "event_id": str(envelope.event_id), "attempt": attempt})
                if attempt < self.attempts:
                    await asyncio.sleep(self.backoff_seconds * 2 ** (attempt - 1))
        await self._park(body, topic, error, attempts=attempt, event_type=envelope.type)

    async def handle(self, envelope: Envelope, handler: Handler) -> str:
        event = parse_event(envelope)
        async with self.uow_factory() as uow:
            if self.serialized:
                await uow.exclusive("events")
            if not await uow.claim(envelope):
                return "duplicate"
            uow.answering(envelope)
            faults.point(f"{self.service}.handle.{envelope.type}")
            await handler(event, uow)
            if not uow.committed:
                await uow.commit()  # nothing to change: still remember the event was seen
        return "processed"

    async def redrive(self) -> dict[str, list[Any]]:
        """Run every parked event again; those that now succeed are marked re-driven."""
        done, failed = [], []
        for letter in await self.dead_letters.parked():
            try:
                envelope = Envelope.model_validate(letter["envelope"])
                await self.handle(envelope, self.handlers[envelope.type])
            except Exception as exc:  # noqa: BLE001 - reported to the operator, the letter stays parked
                failed.append({"id": letter["id"], "error": str(exc)})
                continue
            await self.dead_letters.mark_redriven(letter["id"])
            done.append(letter["id"])
        return {"redriven": done, "failed": failed}

