"""Outbox relay: publishes committed events in order, in batches, marks them only after the broker
acknowledged (X-02: nothing lost when the broker or the relay fails)."""

from sqlalchemy import select

from servicekit.outbox import OutboxRelay
from servicekit.testing import FakeBus

from kit_app import CLOCK, NotesUnitOfWork, kit, referential_changed


async def emit(sessions, n: int) -> list[str]:
    ids = []
    for i in range(n):
        async with NotesUnitOfWork(sessions, kit, "planning", CLOCK) as uow:
            ids.append(str(uow.emit(referential_changed(i + 1), key="referential").event_id))
            await uow.commit()
    return ids


async def test_x02_relay_publishes_in_order_in_batches_and_marks_sent(sessions):
    ids = await emit(sessions, 5)
    bus = FakeBus()
    relay = OutboxRelay("planning", sessions, kit, bus, CLOCK, batch_size=2)
    assert await relay.publish_pending() == 5
    assert [len(b) for b in bus.batches] == [2, 2, 1]  # one broker wait per batch, not per event
    assert [m.body["event_id"] for m in bus.messages] == ids
    assert {m.topic for m in bus.messages} == {"prestaflow.planning.events"}
    assert all(m.key == "referential" and m.headers == {"type": "ReferentialChanged"} for m in bus.messages)
    assert await relay.publish_pending() == 0
    async with sessions() as s:
        assert all(r.published_at is not None for r in await s.execute(select(kit.outbox.c.published_at)))


async def test_x02_broker_failure_leaves_events_unpublished_and_they_go_next_time(sessions):
    ids = await emit(sessions, 3)
    bus = FakeBus()
    bus.fail_next = 1
    relay = OutboxRelay("planning", sessions, kit, bus, CLOCK, batch_size=10)
    try:
        await relay.publish_pending()
        raise AssertionError("the broker failure must surface")
    except ConnectionError:
        pass
    async with sessions() as s:
        assert all(r.published_at is None for r in await s.execute(select(kit.outbox.c.published_at)))
    assert await relay.publish_pending() == 3
    assert [m.body["event_id"] for m in bus.messages] == ids


async def test_x02_relay_ignores_rolled_back_events(sessions):
    async with NotesUnitOfWork(sessions, kit, "planning", CLOCK) as uow:
        uow.emit(referential_changed(), key="referential")  # never committed
    bus = FakeBus()
    assert await OutboxRelay("planning", sessions, kit, bus, CLOCK).publish_pending() == 0
    assert bus.messages == []
