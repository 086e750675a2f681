"""The in-memory bus delivers a published batch to each consumer group as one batch, in order, as
a poll would on Kafka (the embedded default relies on it to consume in batches)."""

from servicekit.bus import Bus, OutgoingMessage


async def test_memory_bus_delivers_each_topics_run_of_messages_as_one_batch_to_every_group():
    bus = Bus("memory://", namespace="t.")
    received: dict[str, list[tuple[str, list[int]]]] = {"notify": [], "affectation": []}

    def consumer(group: str):
        async def consume(bodies: list[dict], topic: str) -> None:
            received[group].append((topic, [b["n"] for b in bodies]))
        return consume

    for group in received:
        bus.subscribe("prestaflow.import.events", group, consumer(group))
    bus.subscribe("prestaflow.planning.events", "notify", consumer("notify"))
    await bus.start()
    try:
        await bus.publish([OutgoingMessage("prestaflow.import.events", f"k{n}", {"n": n}, {"type": "T"})
                           for n in (1, 2, 3)]
                          + [OutgoingMessage("prestaflow.planning.events", "k", {"n": 4}, {"type": "T"})])
    finally:
        await bus.stop()
    assert received["notify"] == [("prestaflow.import.events", [1, 2, 3]), ("prestaflow.planning.events", [4])]
    assert received["affectation"] == [("prestaflow.import.events", [1, 2, 3])]
