"""The in-memory bus delivers a published batch to each consumer group as one batch, in order, as
a poll would on Kafka (the embedded default relies on it to consume in batches), with the bytes a
Kafka consumer would get and the ``type`` header."""

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


async def test_a_consumers_failure_reaches_the_publisher_as_a_broker_refusal_would():
    bus = Bus("memory://")

    async def failing(messages: list[Incoming], topic: str) -> None:
        raise RuntimeError("consumer down")

    bus.subscribe("prestaflow.import.events", "planning", failing)
    await bus.start()
    with pytest.raises(RuntimeError, match="consumer down"):
        await bus.publish([OutgoingMessage("prestaflow.import.events", "k", b"{}", {"type": "T"})])
    await bus.stop()
