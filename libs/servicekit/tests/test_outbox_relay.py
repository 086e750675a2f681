"""Outbox relay: publishes committed events in order, in batches, marks them only after the broker
acknowledged (X-02: nothing lost when the broker or the relay fails)."""

import json

from sqlalchemy import select

from servicekit.bus import Bus
from servicekit.outbox import OutboxRelay
from servicekit.testing import FakeBus

from kit_app import CLOCK, NotesUnitOfWork, kit, referential_changed


async def outbox_ids(sessions) -> list[str]:
    async with sessions() as s:
        return list((await s.execute(select(kit.outbox.c.event_id).order_by(kit.outbox.c.id))).scalars())


async def emit(sessions, n: int) -> list[str]:
    before = await outbox_ids(sessions)
    for i in range(n):
        async with NotesUnitOfWork(sessions, kit, "planning", CLOCK) as uow:
            uow.emit(referential_changed(i + 1))
            await uow.commit()
    return (await outbox_ids(sessions))[len(before):]


async def test_x02_relay_publishes_in_order_in_batches_and_marks_sent(sessions):
    ids = await emit(sessions, 5)
    bus = FakeBus()
    relay = OutboxRelay("planning", sessions, kit, bus, CLOCK, batch_size=2)
    assert await relay.publish_pending() == 5
    assert [len(b) for b in bus.batches] == [2, 2, 1]  # one broker wait per batch, not per event
    assert [m.decoded()["event_id"] for m in bus.messages] == ids
    assert {m.topic for m in bus.messages} == {"prestaflow.planning.events"}
    assert all(m.key == "bge" and m.headers == {"type": "ReferentialChanged"} for m in bus.messages)
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
    assert [m.decoded()["event_id"] for m in bus.messages] == ids


async def test_x02_relay_ignores_rolled_back_events(sessions):
    async with NotesUnitOfWork(sessions, kit, "planning", CLOCK) as uow:
        uow.emit(referential_changed())  # never committed
    bus = FakeBus()
    assert await OutboxRelay("planning", sessions, kit, bus, CLOCK).publish_pending() == 0
    assert bus.messages == []


async def commit_handing_over(sessions, relay: OutboxRelay, versions: list[int]) -> list[str]:
    """One transaction emitting one event per version, its rows handed to ``relay`` on commit."""
    before = await outbox_ids(sessions)
    async with NotesUnitOfWork(sessions, kit, "planning", CLOCK, on_commit=relay.hand_over) as uow:
        for v in versions:
            uow.emit(referential_changed(v))
        await uow.commit()
    return (await outbox_ids(sessions))[len(before):]


async def test_x02_handed_over_rows_are_published_from_memory_as_committed_and_marked(sessions):
    bus = FakeBus()
    relay = OutboxRelay("planning", sessions, kit, bus, CLOCK, batch_size=2)
    assert await relay.publish_pending() == 0  # the start-up read of the outbox: nothing left behind
    ids = await commit_handing_over(sessions, relay, [1, 2, 3])
    assert relay.woken
    async with sessions() as s:  # what the relay publishes is the stored envelope, byte for byte
        stored = [r.envelope for r in await s.execute(select(kit.outbox.c.envelope).order_by(kit.outbox.c.id))]
    assert await relay.publish_pending() == 3
    assert [len(b) for b in bus.batches] == [2, 1]
    assert [m.decoded() for m in bus.messages] == stored
    assert [m.decoded()["event_id"] for m in bus.messages] == ids
    assert all(m.headers == {"type": "ReferentialChanged"} for m in bus.messages)
    async with sessions() as s:
        assert all(r.published_at is not None for r in await s.execute(select(kit.outbox.c.published_at)))
    assert await relay.publish_pending(read_outbox=True) == 0


async def test_x02_a_row_another_relay_published_is_not_published_again_from_memory(sessions):
    bus, other = FakeBus(), FakeBus()
    relay = OutboxRelay("planning", sessions, kit, bus, CLOCK)
    await relay.publish_pending()
    ids = await commit_handing_over(sessions, relay, [1, 2])
    # A second replica reads the outbox first and publishes both rows.
    assert await OutboxRelay("planning", sessions, kit, other, CLOCK).publish_pending() == 2
    assert await relay.publish_pending() == 0
    assert bus.messages == [] and [m.decoded()["event_id"] for m in other.messages] == ids


async def test_x02_after_a_failed_publish_the_outbox_is_read_again_in_order_before_new_hand_overs(sessions):
    bus = FakeBus()
    relay = OutboxRelay("planning", sessions, kit, bus, CLOCK)
    await relay.publish_pending()
    first = await commit_handing_over(sessions, relay, [1, 2])
    bus.fail_next = 1
    try:
        await relay.publish_pending()
        raise AssertionError("the broker failure must surface")
    except ConnectionError:
        pass
    second = await commit_handing_over(sessions, relay, [3])
    assert await relay.publish_pending() == 3
    assert [m.decoded()["event_id"] for m in bus.messages] == first + second
    assert await relay.publish_pending(read_outbox=True) == 0


async def test_x02_rows_left_unpublished_by_a_previous_process_go_before_what_is_handed_over(sessions):
    left = await emit(sessions, 2)  # committed, never handed to this relay (the process that did died)
    bus = FakeBus()
    relay = OutboxRelay("planning", sessions, kit, bus, CLOCK)
    new = await commit_handing_over(sessions, relay, [7])
    assert await relay.publish_pending() == 3
    assert [m.decoded()["event_id"] for m in bus.messages] == left + new


async def test_woken_within_returns_as_soon_as_a_commit_hands_events_over(sessions):
    import asyncio

    relay = OutboxRelay("planning", sessions, kit, FakeBus(), CLOCK)
    assert await relay.publish_pending() == 0
    assert await relay.woken_within(0.01) is False  # nothing committed: the wait times out
    waiting = asyncio.create_task(relay.woken_within(30))
    await commit_handing_over(sessions, relay, [1])
    assert await asyncio.wait_for(waiting, 5) is True


async def test_x02_a_consumer_failure_does_not_reach_the_relay_and_the_consumer_gets_the_events_again(sessions):
    """On the in-memory bus as on Kafka, the relay's work ends at the broker: a consumer group that
    fails a poll gets it again, in order, while the relay has already marked the rows published."""
    bus = Bus("memory://", batch_size=2)
    fragile: list[int] = []
    steady: list[int] = []
    failures = [1]

    def versions(messages) -> list[int]:
        return [json.loads(m.body)["payload"]["version"] for m in messages]

    async def fragile_group(messages, topic: str) -> None:
        if failures and 3 in versions(messages):
            failures.pop()
            raise RuntimeError("base indisponible")
        fragile.extend(versions(messages))

    async def steady_group(messages, topic: str) -> None:
        steady.extend(versions(messages))

    bus.subscribe("prestaflow.planning.events", "affectation", fragile_group)
    bus.subscribe("prestaflow.planning.events", "notify", steady_group)
    await bus.start()
    bus._memory["prestaflow.planning.events"].groups["affectation"].redelivery_seconds = 0
    relay = OutboxRelay("planning", sessions, kit, bus, CLOCK, batch_size=2)
    assert await relay.publish_pending() == 0
    await commit_handing_over(sessions, relay, [1, 2, 3, 4, 5])
    assert await relay.publish_pending() == 5
    await bus.drained()
    await bus.stop()
    assert fragile == [1, 2, 3, 4, 5] and steady == [1, 2, 3, 4, 5]
    assert failures == []
