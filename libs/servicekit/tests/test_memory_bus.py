"""The in-memory bus delivers a published batch to each consumer group in batches, in order, as
a poll would on Kafka (the embedded default relies on it to consume in batches), with the bytes a
Kafka consumer would get and the ``type`` header."""

import asyncio
import json

import pytest

from servicekit.bus import Bus, Incoming, OutgoingMessage


async def test_memory_bus_delivers_each_topics_run_of_messages_as_one_batch_to_every_group():
    bus = Bus("memory://", namespace="t.")
    received: dict[str, list[tuple[str, list[int]]]] = {"notify": [], "affectation": []}
    types: list[str | None] = []

    def consumer(group: str):
        async def consume(messages: list[Incoming], topic: str) -> None:
            assert all(isinstance(m.body, bytes) for m in messages)
            types.extend(m.type for m in messages)
            received[group].append((topic, [json.loads(m.body)["n"] for m in messages]))
        return consume

    for group in received:
        bus.subscribe("prestaflow.import.events", group, consumer(group))
    bus.subscribe("prestaflow.planning.events", "notify", consumer("notify"))
    await bus.start()
    try:
        await bus.publish([OutgoingMessage("prestaflow.import.events", f"k{n}", json.dumps({"n": n}).encode(),
                                           {"type": "T"}) for n in (1, 2, 3)]
                          + [OutgoingMessage("prestaflow.planning.events", "k", {"n": 4}, {"type": "U"})])
    finally:
        await bus.stop()
    assert received["notify"] == [("prestaflow.import.events", [1, 2, 3]), ("prestaflow.planning.events", [4])]
    assert received["affectation"] == [("prestaflow.import.events", [1, 2, 3])]
    assert types == ["T"] * 6 + ["U"]


async def test_a_consumers_failure_reaches_the_publisher_once_every_group_has_consumed():
    """Groups consume a batch concurrently, as separate processes would; one group's failure does not
    stop another's, and reaches the publisher (the relay then leaves the rows unpublished)."""
    bus = Bus("memory://")
    consumed: list[int] = []

    async def failing(messages: list[Incoming], topic: str) -> None:
        raise RuntimeError("consumer down")

    async def working(messages: list[Incoming], topic: str) -> None:
        await asyncio.sleep(0.01)  # still running when the other group has already failed
        consumed.extend(json.loads(m.body)["n"] for m in messages)

    bus.subscribe("prestaflow.import.events", "planning", failing)
    bus.subscribe("prestaflow.import.events", "notify", working)
    await bus.start()
    with pytest.raises(RuntimeError, match="consumer down"):
        await bus.publish([OutgoingMessage("prestaflow.import.events", "k", b'{"n": 1}', {"type": "T"})])
    await bus.stop()
    assert consumed == [1]


async def test_memory_bus_delivers_at_most_batch_size_messages_at_a_time_and_stops_a_group_at_its_failure():
    """As Kafka polls return at most ``max_records``: a run longer than the batch size comes in several
    deliveries, in order. A group whose delivery fails gets none of the later ones (they would be
    consumed out of order); the others go on through theirs, and the publisher gets the error."""
    bus = Bus("memory://", batch_size=2)
    steady: list[list[int]] = []
    fragile: list[list[int]] = []

    async def steady_group(messages: list[Incoming], topic: str) -> None:
        steady.append([json.loads(m.body)["n"] for m in messages])

    async def fragile_group(messages: list[Incoming], topic: str) -> None:
        numbers = [json.loads(m.body)["n"] for m in messages]
        if 3 in numbers:
            raise RuntimeError("base indisponible")
        fragile.append(numbers)

    bus.subscribe("prestaflow.import.events", "notify", steady_group)
    bus.subscribe("prestaflow.import.events", "planning", fragile_group)
    await bus.start()
    messages = [OutgoingMessage("prestaflow.import.events", f"k{n}", json.dumps({"n": n}).encode(), {"type": "T"})
                for n in range(1, 6)]
    with pytest.raises(RuntimeError, match="base indisponible"):
        await bus.publish(messages)
    await bus.stop()
    assert steady == [[1, 2], [3, 4], [5]]
    assert fragile == [[1, 2]]


def numbered(*numbers: int) -> list[OutgoingMessage]:
    return [OutgoingMessage("prestaflow.import.events", "k", json.dumps({"n": n}).encode(), {"type": "T"})
            for n in numbers]


async def send_one_behind_the_other(bus: Bus):
    """Two batches, [1] then [2], the second sent before the first is acknowledged."""
    first = await bus.send(numbered(1))
    return first, await bus.send(numbered(2), after=first)


async def test_batches_sent_one_behind_the_other_reach_each_group_in_order_at_its_own_pace():
    """A publisher may send a batch before the previous one is acknowledged (the relay does, up to
    ``in_flight``): a quick group goes on to the second while a slow one still consumes the first,
    and neither ever takes them out of order."""
    bus = Bus("memory://")
    log: list[tuple[str, int]] = []
    first_taken = asyncio.Event()

    async def slow(messages: list[Incoming], topic: str) -> None:
        numbers = [json.loads(m.body)["n"] for m in messages]
        if numbers == [1]:
            first_taken.set()
            await asyncio.sleep(0.05)
        log.extend(("slow", n) for n in numbers)

    async def quick(messages: list[Incoming], topic: str) -> None:
        log.extend(("quick", json.loads(m.body)["n"]) for m in messages)

    bus.subscribe("prestaflow.import.events", "planning", slow)
    bus.subscribe("prestaflow.import.events", "notify", quick)
    await bus.start()
    first, second = await send_one_behind_the_other(bus)
    await second.acknowledged()
    await first.acknowledged()
    await bus.stop()
    assert first_taken.is_set()
    assert log == [("quick", 1), ("quick", 2), ("slow", 1), ("slow", 2)]


async def test_a_group_that_failed_a_batch_fails_the_ones_sent_behind_it_and_others_still_consume_them():
    bus = Bus("memory://")
    fragile: list[int] = []
    steady: list[int] = []
    down = True

    async def fragile_group(messages: list[Incoming], topic: str) -> None:
        numbers = [json.loads(m.body)["n"] for m in messages]
        if down and 1 in numbers:
            raise RuntimeError("base indisponible")
        fragile.extend(numbers)

    async def steady_group(messages: list[Incoming], topic: str) -> None:
        steady.extend(json.loads(m.body)["n"] for m in messages)

    bus.subscribe("prestaflow.import.events", "planning", fragile_group)
    bus.subscribe("prestaflow.import.events", "notify", steady_group)
    await bus.start()
    first, second = await send_one_behind_the_other(bus)
    for sending in (first, second):
        with pytest.raises(RuntimeError, match="base indisponible"):
            await sending.acknowledged()
    assert fragile == [] and steady == [1, 2]  # 2 went to the steady group, never past 1 in the other
    down = False
    # Sent again afresh, as the relay does from the outbox: the group takes both, in order.
    again = await bus.send(numbered(1, 2))
    await again.acknowledged()
    await bus.stop()
    assert fragile == [1, 2]
    assert steady == [1, 2, 1, 2]  # a real consumer's inbox skips the second time
