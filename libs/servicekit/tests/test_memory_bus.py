"""What only the in-memory bus needs proving (the semantics it shares with Kafka are in
``test_transport_conformance.py``): consumers get the bytes and ``type`` header a Kafka consumer would,
in polls of at most ``batch_size``, a key's messages stay in one partition, and ``drained()`` waits
until every group has consumed everything."""

import asyncio
import json

from servicekit.bus import Bus, Incoming, OutgoingMessage


def message(topic: str, key: str, n: int) -> OutgoingMessage:
    return OutgoingMessage(topic, key, json.dumps({"n": n}).encode(), {"type": "T"})


async def test_consumers_get_the_published_bytes_and_type_header_in_polls_of_at_most_batch_size():
    bus = Bus("memory://", namespace="t.", batch_size=2)
    polls: list[list[int]] = []
    seen: list[tuple[str, str | None, bool]] = []

    async def consume(messages: list[Incoming], topic: str) -> None:
        seen.extend((topic, m.type, isinstance(m.body, bytes)) for m in messages)
        polls.append([json.loads(m.body)["n"] for m in messages])

    bus.subscribe("prestaflow.import.events", "notify", consume)
    await bus.start()
    try:
        await bus.publish([message("prestaflow.import.events", "bge", n) for n in range(5)])
        await bus.drained()
    finally:
        await bus.stop()
    assert [n for poll in polls for n in poll] == [0, 1, 2, 3, 4]
    assert max(len(poll) for poll in polls) <= 2
    assert set(seen) == {("prestaflow.import.events", "T", True)}  # the topic without the namespace


async def test_a_keys_messages_share_one_partition_and_keep_their_order():
    bus = Bus("memory://", partitions=3)
    got: list[tuple[str, int]] = []

    async def consume(messages: list[Incoming], topic: str) -> None:
        got.extend((json.loads(m.body)["k"], json.loads(m.body)["n"]) for m in messages)

    bus.subscribe("t", "g", consume)
    await bus.start()
    try:
        await bus.publish([OutgoingMessage("t", key, json.dumps({"k": key, "n": n}).encode(), {})
                           for n in range(20) for key in ("a", "b", "c", "d")])
        await bus.drained()
    finally:
        await bus.stop()
    partitions = bus._memory["t"].partitions
    for key in "abcd":
        holding = [i for i, log in enumerate(partitions) if any(json.loads(m.body)["k"] == key for m in log)]
        assert len(holding) == 1
        assert [n for k, n in got if k == key] == list(range(20))


async def test_drained_waits_for_a_slow_group_and_a_group_subscribed_after_start_reads_from_the_beginning():
    bus = Bus("memory://")
    slow: list[int] = []
    late: list[int] = []

    async def slow_group(messages: list[Incoming], topic: str) -> None:
        await asyncio.sleep(0.05)
        slow.extend(json.loads(m.body)["n"] for m in messages)

    async def late_group(messages: list[Incoming], topic: str) -> None:
        late.extend(json.loads(m.body)["n"] for m in messages)

    bus.subscribe("t", "slow", slow_group)
    await bus.start()
    try:
        await bus.publish([message("t", "bge", 1)])
        await bus.publish([message("t", "bge", 2)])
        await bus.drained()
        assert slow == [1, 2]
        bus.subscribe("t", "late", late_group)  # a new consumer group starts at the earliest offset
        await bus.drained()
        assert late == [1, 2]
    finally:
        await bus.stop()
