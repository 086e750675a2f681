"""The consumer side: envelope in, inbox check, handler, retries, dead letter.

Handlers are plain ``async def verb_noun(event, uow)`` functions that commit through the unit of
work. The dispatcher records the event id in the inbox inside the same transaction, so a
redelivered event is acknowledged and skipped. A handler that keeps failing is parked in the
service's ``dead_letters`` table and on its dead-letter topic, then acknowledged: the partition
is not blocked, and ``redrive`` runs it again once the cause is fixed.
"""

import asyncio
import json
import logging
import traceback
from collections import Counter
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import ValidationError
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts import Envelope, Event, parse_event
from contracts.registry import UnknownEvent, read_envelope
from contracts.topics import dead_letter_topic
from servicekit import faults
from servicekit.bus import Bus, Incoming, OutgoingMessage
from servicekit.clock import Clock
from servicekit.metrics import EVENTS_CONSUMED
from servicekit.tables import KitTables
from servicekit.uow import UnitOfWork

log = logging.getLogger("servicekit.dispatch")

Handler = Callable[[Any, Any], Awaitable[None]]


@dataclass(frozen=True)
class Received:
    """A claimed event with the envelope it came in: what a batch handler gets, one per event."""

    envelope: Envelope
    event: Any


# ``async def verb_nouns(received: list[Received], uow)``: the same effects, in the same order, as the
# event's one-event handler called once per item; the dispatcher's transaction is open and stays
# open (``uow.commit()`` inside a batch only flushes). Before emitting for an item, the handler
# calls ``uow.answering(item.envelope)`` so each event keeps its own causation.
BatchHandler = Callable[[list[Received], Any], Awaitable[None]]


def repeats(received: Sequence[Received], *keys: Callable[[Any], Hashable]) -> bool:
    """Whether two items of a batch share a value of one of ``keys`` (functions of the event): then
    they depend on each other's rows, and a batch handler takes them ``one_at_a_time``."""
    for key in keys:
        seen: set = set()
        for item in received:
            value = key(item.event)
            if value in seen:
                return True
            seen.add(value)
    return False


async def one_at_a_time(received: Sequence[Received], handler: Handler, uow: Any) -> None:
    """Each item through the one-event handler, in order, as the dispatcher would."""
    for item in received:
        uow.answering(item.envelope)
        await handler(item.event, uow)


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
    """Consumes a service's events.

    ``serialized``: each event transaction first takes the service's ``events`` lock
    (``UnitOfWork.exclusive``), so that no two run at once, across subscriptions and replicas. For a
    service whose handlers of two topics read what the other writes (notify: an appointment from
    importer, its action from planning): in two concurrent transactions neither sees the other's
    rows, and the link between them was lost."""

    def __init__(self, service: str, handlers: Mapping[type[Event], Handler],
                 uow_factory: Callable[[], UnitOfWork], dead_letters: DeadLetters, attempts: int = 3,
                 backoff_seconds: float = 0.2, batch_handlers: Mapping[type[Event], BatchHandler] | None = None,
                 serialized: bool = False):
        self.service = service
        self.serialized = serialized
        self.handlers = {model.event_type: handler for model, handler in handlers.items()}
        self.batch_handlers = {model.event_type: handler for model, handler in (batch_handlers or {}).items()}
        self.uow_factory = uow_factory
        self.dead_letters = dead_letters
        self.attempts = attempts
        self.backoff_seconds = backoff_seconds

    async def consume(self, messages: Sequence[Incoming | bytes | dict[str, Any]], topic: str = "") -> None:
        """A polled batch: one transaction and one inbox claim for all of it, batch handlers where the
        service has them. If anything in it fails, the batch is rolled back and its events go one at
        a time through the path that retries and parks (``__call__``), so one bad event costs the
        batch its speed, never its other events."""
        wanted = []
        for message in messages:
            shared = isinstance(message, Incoming)
            body, kind = (message.body, message.type) if shared else (message, None)
            if self._not_ours(body, kind):
                continue
            if shared and message.envelope is not None:
                envelope = message.envelope  # read by another consumer group of this process
            else:
                envelope = await self._envelope(body, topic, kind)
                if shared:
                    message.envelope = envelope
            if envelope is not None and envelope.type in self.handlers:
                wanted.append((body, envelope))
        if len(wanted) == 1:
            await self.one(wanted[0][0], wanted[0][1], topic)
        elif wanted:
            try:
                await self.handle_batch([envelope for _, envelope in wanted])
            except Exception as exc:  # noqa: BLE001 - every event gets its own retries and dead letter
                log.warning("batch failed, consumed one event at a time",
                            extra={"service": self.service, "count": len(wanted), "error": type(exc).__name__})
                for body, envelope in wanted:
                    await self.one(body, envelope, topic)

    async def __call__(self, body: bytes | dict[str, Any], topic: str = "") -> None:
        if self._not_ours(body, None):
            return
        envelope = await self._envelope(body, topic)
        if envelope is not None and envelope.type in self.handlers:
            await self.one(body, envelope, topic)

    def _not_ours(self, body: Any, kind: str | None) -> bool:
        """Another service's event: skipped before any parsing (most of a topic, for most consumers).
        The type comes from the message's header, or from a body already decoded."""
        if kind is None and isinstance(body, dict):
            kind = body.get("type")
        return isinstance(kind, str) and kind not in self.handlers

    async def _envelope(self, body: bytes | dict[str, Any], topic: str, kind: str | None = None) -> Envelope | None:
        """The validated envelope, or None once parked as a dead letter."""
        try:
            if isinstance(body, bytes | str):
                return read_envelope(body, kind)
            return Envelope.model_validate(body)
        except ValidationError as exc:
            await self.dead_letters.park(body, topic, f"enveloppe invalide : {exc}", attempts=1)
            return None

    async def one(self, body: bytes | dict[str, Any], envelope: Envelope, topic: str) -> None:
        handler = self.handlers[envelope.type]
        error = ""
        for attempt in range(1, self.attempts + 1):
            try:
                outcome = await self.handle(envelope, handler)
                EVENTS_CONSUMED.labels(self.service, envelope.type, outcome).inc()
                return
            except (UnknownEvent, ValidationError) as exc:
                error = f"{type(exc).__name__}: {exc}"
                break  # a malformed payload will not heal by retrying
            except Exception as exc:  # noqa: BLE001 - every failure is retried, then parked
                error = "".join(traceback.format_exception_only(exc)).strip()
                log.warning("handler failed", extra={"service": self.service, "type": envelope.type,
                                                     "event_id": str(envelope.event_id), "attempt": attempt})
                if attempt < self.attempts:
                    await asyncio.sleep(self.backoff_seconds * 2 ** (attempt - 1))
        EVENTS_CONSUMED.labels(self.service, envelope.type, "dead_letter").inc()
        await self.dead_letters.park(body, topic, error, attempts=attempt)

    async def handle_batch(self, envelopes: Sequence[Envelope]) -> None:
        """Several events in one transaction; raises (everything rolled back) if any of them fails."""
        received = [Received(e, parse_event(e)) for e in envelopes]
        async with self.uow_factory() as uow:
            uow.hold()
            if self.serialized:
                await uow.exclusive("events")
            claimed = await uow.claim_many(envelopes)
            fresh, seen = [], set()
            for item in received:
                event_id = str(item.envelope.event_id)
                if event_id in claimed and event_id not in seen:
                    seen.add(event_id)
                    fresh.append(item)
            for layer in _layers_by_key(fresh):
                for event_type, items in _by_type(layer).items():
                    batch_handler = self.batch_handlers.get(event_type)
                    if batch_handler is not None and len(items) > 1:
                        faults.point(f"{self.service}.handle.{event_type}")
                        await batch_handler(items, uow)
                        continue
                    for item in items:
                        faults.point(f"{self.service}.handle.{event_type}")
                        uow.answering(item.envelope)
                        await self.handlers[event_type](item.event, uow)
            await uow.release()
        for event_type, count in Counter(e.type for e in envelopes).items():
            processed = sum(1 for item in fresh if item.envelope.type == event_type)
            EVENTS_CONSUMED.labels(self.service, event_type, "processed").inc(processed)
            if count > processed:
                EVENTS_CONSUMED.labels(self.service, event_type, "duplicate").inc(count - processed)

    async def handle(self, envelope: Envelope, handler: Handler) -> str:
        event = parse_event(envelope)
        async with self.uow_factory() as uow:
            if self.serialized:
                await uow.exclusive("events")
            if not await uow.claim(envelope):
                return "duplicate"
            uow.caused_by(envelope.correlation_id, str(envelope.event_id))
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


def _layers_by_key(items: list[Received]) -> list[list[Received]]:
    """Split a batch into layers where each key appears at most once, keeping each key's order.

    The bus only orders events of one key (one partition), so events of different keys may be
    handled in any order; layering lets a batch handler take, say, every ``BeneficiaryRegistered``
    of an import at once although the importer emitted them between other events."""
    layers: list[list[Received]] = []
    depth: dict[str, int] = {}
    for item in items:
        level = depth[item.envelope.key] = depth.get(item.envelope.key, -1) + 1
        if level == len(layers):
            layers.append([])
        layers[level].append(item)
    return layers


def _by_type(layer: list[Received]) -> dict[str, list[Received]]:
    grouped: dict[str, list[Received]] = {}
    for item in layer:
        grouped.setdefault(item.envelope.type, []).append(item)
    return grouped
