"""Batch consumption (X-02): one transaction and one inbox claim per polled batch, batch handlers
where a service has them, and the same outcome as one event at a time: redeliveries and duplicates
skipped, a failing event retried then parked alone, each key's order kept."""

import json

from sqlalchemy import func, select

from contracts.planning import ReferentialChanged, SiteRef
from servicekit.bus import Incoming
from servicekit.dispatch import EventDispatcher, Received
from servicekit.testing import FakeDeadLetters, FakeUnitOfWork

from kit_app import CLOCK, NotesUnitOfWork, kit, notes

TOPIC = "prestaflow.planning.events"


def site(code: str) -> SiteRef:
    return SiteRef(code=code, name=code, antenne="LILLE", address="1 rue", remote=False,
                   france_travail_addresses=())


def changed(version: int, sites: tuple[str, ...] = ()) -> ReferentialChanged:
    return ReferentialChanged(version=version, structure=None, antennes=(), sites=tuple(site(s) for s in sites),
                              advisors=(), ods=(), resources=())


def body(event: ReferentialChanged, key: str) -> dict:
    return NotesUnitOfWork(None, kit, "planning", CLOCK).envelope(event, key).model_dump(mode="json")


class Calls:
    def __init__(self):
        self.single: list[int] = []
        self.batches: list[list[int]] = []
        self.failing: set[int] = set()
        self.rolling_back: set[int] = set()


def build(sessions, calls: Calls, with_batch_handler: bool = True):
    async def record(event: ReferentialChanged, uow) -> None:
        async with uow:
            if event.version in calls.failing:
                raise RuntimeError(f"version {event.version} refused")
            if event.version in calls.rolling_back:
                await uow.rollback()
                return
            calls.single.append(event.version)
            await uow.add_note(f"v{event.version}")
            uow.emit(changed(event.version), key=f"copy-{event.version}")
            await uow.commit()

    async def record_many(received: list[Received], uow) -> None:
        async with uow:
            calls.batches.append([r.event.version for r in received])
            for item in received:
                if item.event.version in calls.failing:
                    raise RuntimeError(f"version {item.event.version} refused")
                await uow.add_note(f"v{item.event.version}")
                uow.answering(item.envelope)
                uow.emit(changed(item.event.version), key=f"copy-{item.event.version}")
            await uow.commit()

    dead = FakeDeadLetters()
    dispatcher = EventDispatcher(
        "importer", {ReferentialChanged: record}, lambda: NotesUnitOfWork(sessions, kit, "importer", CLOCK), dead,
        attempts=2, backoff_seconds=0, batch_handlers={ReferentialChanged: record_many} if with_batch_handler else {})
    return dispatcher, dead


async def notes_written(sessions) -> list[str]:
    async with sessions() as session:
        return list((await session.execute(select(notes.c.text).order_by(notes.c.id))).scalars())


async def outbox(sessions) -> list[dict]:
    async with sessions() as session:
        return [r.envelope for r in await session.execute(select(kit.outbox.c.envelope).order_by(kit.outbox.c.id))]


async def inbox_count(sessions) -> int:
    async with sessions() as session:
        return (await session.execute(select(func.count()).select_from(kit.inbox))).scalar()


async def test_x02_a_batch_is_one_call_of_the_batch_handler_and_each_event_keeps_its_causation(sessions):
    calls = Calls()
    dispatcher, dead = build(sessions, calls)
    bodies = [body(changed(v), key=f"k{v}") for v in (1, 2, 3)]
    await dispatcher.consume(bodies, TOPIC)
    assert calls.batches == [[1, 2, 3]] and calls.single == []
    assert await notes_written(sessions) == ["v1", "v2", "v3"]
    emitted = await outbox(sessions)
    assert [e["causation_id"] for e in emitted] == [b["event_id"] for b in bodies]
    assert await inbox_count(sessions) == 3 and dead.letters == []


async def test_x02_redelivered_batch_and_duplicates_inside_a_batch_are_applied_once(sessions):
    calls = Calls()
    dispatcher, _ = build(sessions, calls)
    first = [body(changed(v), key=f"k{v}") for v in (1, 2)]
    await dispatcher.consume(first, TOPIC)
    again = [first[1], body(changed(3), key="k3"), first[0], body(changed(4), key="k4")]
    again.insert(2, again[1])  # the same message twice in one poll
    await dispatcher.consume(again, TOPIC)
    assert await notes_written(sessions) == ["v1", "v2", "v3", "v4"]
    assert calls.batches == [[1, 2], [3, 4]]
    assert await inbox_count(sessions) == 4 and len(await outbox(sessions)) == 4


async def test_x02_one_failing_event_rolls_the_batch_back_then_only_it_is_parked(sessions):
    calls = Calls()
    calls.failing = {2}
    dispatcher, dead = build(sessions, calls)
    bodies = [body(changed(v), key=f"k{v}") for v in (1, 2, 3)]
    await dispatcher.consume(bodies, TOPIC)
    # The batch attempt wrote nothing; one at a time, 1 and 3 were applied and 2 was retried, then parked.
    assert await notes_written(sessions) == ["v1", "v3"]
    assert calls.single == [1, 3]
    [letter] = dead.letters
    assert letter["envelope"] == bodies[1] and letter["attempts"] == 2 and "version 2 refused" in letter["error"]
    assert await inbox_count(sessions) == 2 and len(await outbox(sessions)) == 2


async def test_x02_a_handler_rolling_back_inside_a_batch_cannot_undo_the_other_events(sessions):
    calls = Calls()
    calls.rolling_back = {2}
    dispatcher, dead = build(sessions, calls, with_batch_handler=False)
    await dispatcher.consume([body(changed(v), key=f"k{v}") for v in (1, 2, 3)], TOPIC)
    assert await notes_written(sessions) == ["v1", "v3"]
    assert calls.single == [1, 1, 3]  # the batch attempt (rolled back), then one at a time
    # As when consumed alone: the handler's rollback also undid its inbox row.
    assert dead.letters == [] and await inbox_count(sessions) == 2


async def test_x02_events_are_layered_by_key_so_each_keys_order_is_kept():
    """Interleaved keys: the batch handler gets the first event of every key, then the second ones."""
    from servicekit.dispatch import _by_type, _layers_by_key
    from contracts import Envelope

    def item(version: int, key: str) -> Received:
        envelope = Envelope.model_validate(body(changed(version), key))
        return Received(envelope, envelope)

    batch = [item(1, "a"), item(2, "a"), item(3, "b"), item(4, "c"), item(5, "b"), item(6, "a")]
    layers = _layers_by_key(batch)
    versions = [[i.event.payload["version"] for i in layer] for layer in layers]
    assert versions == [[1, 3, 4], [2, 5], [6]]
    assert list(_by_type(layers[0])) == ["ReferentialChanged"]


async def test_x02_other_services_events_are_skipped_without_validation(sessions):
    calls = Calls()
    dispatcher, dead = build(sessions, calls)
    foreign = body(changed(1), key="k1") | {"type": "CatalogueChanged", "payload": {"not": "checked"}}
    await dispatcher.consume([foreign, body(changed(2), key="k2"), {"no": "envelope"}], TOPIC)
    assert await notes_written(sessions) == ["v2"] and calls.single == [2]  # a batch of one goes the single way
    [letter] = dead.letters
    assert "enveloppe invalide" in letter["error"]


async def test_x02_messages_as_the_bus_delivers_them_with_the_type_header_and_shared_between_groups():
    """What the buses hand over: the envelope's JSON bytes and its type header. On the in-memory bus
    every consumer group gets the same messages; the envelope read by the first is reused by the next."""
    seen: dict[str, list] = {"importer": [], "billing": []}
    dead = FakeDeadLetters()

    def dispatcher_of(service: str) -> EventDispatcher:
        async def record(event: ReferentialChanged, uow) -> None:
            async with uow:
                seen[service].append(event)
                await uow.commit()
        return EventDispatcher(service, {ReferentialChanged: record}, lambda: FakeUnitOfWork(service, CLOCK), dead)

    bodies = [body(changed(v), key=f"k{v}") for v in (1, 2)]
    messages = [Incoming(json.dumps(b).encode(), b["type"]) for b in bodies]
    messages.append(Incoming(b"not even JSON", "ActionPlanned"))  # never parsed: its header says it is not ours
    await dispatcher_of("importer").consume(messages, TOPIC)
    await dispatcher_of("billing").consume(messages, TOPIC)
    assert [e.version for e in seen["importer"]] == [1, 2] and dead.letters == []
    assert all(a is b for a, b in zip(seen["importer"], seen["billing"], strict=True))
    assert [m.envelope.event_id for m in messages[:2]] == [b["event_id"] for b in bodies]
