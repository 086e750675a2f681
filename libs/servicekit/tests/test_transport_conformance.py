"""Transport conformance: the same tests on ``memory://`` and on a real Kafka-protocol broker.

ARCHITECTURE.md (*Transports*) promises that ``memory://`` keeps Kafka's semantics, no more and no
less: order per partition key, independent consumer groups, at-least-once delivery with offsets
committed after ``consume`` returned, a consumer's failure retried on the consumer's side and never
raised to the publisher. Each test below runs once per transport; the Kafka variant uses the
``kafka_broker`` fixture (Tansu on loopback unless a Kafka cluster is named) and is marked
``system`` like the other tests that need the broker.

Waiting: on memory ``bus.drained()`` says every group has consumed everything published so far;
on Kafka nothing says so, so the tests poll for what they expect. Timeouts are failure bounds only,
never assertions about durations. To show that nothing *more* was delivered on Kafka, a test
publishes a marker behind the messages on the same key: once the marker is consumed, everything
before it on the partition has been.
"""

import asyncio
import json
import random
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import pytest

from contracts.base import MAX_EVENT_BYTES, MAX_ITEMS
from contracts.planning import ActionCancelled
from servicekit.bus import Bus, Incoming, OutgoingMessage, read_topics
from servicekit.dispatch import EventDispatcher
from servicekit.testing import FakeDeadLetters, FakeUnitOfWork

from kit_app import CLOCK

TIMEOUT = 60.0  # a bound for a broken transport to fail the test, never a measure


@dataclass
class Transport:
    kind: str
    url: str
    idempotence: bool
    namespace: str
    buses: list[Bus] = field(default_factory=list)

    @property
    def memory(self) -> bool:
        return self.kind == "memory"

    def bus(self, batch_size: int = 500) -> Bus:
        bus = Bus(self.url, idempotence=self.idempotence, namespace=self.namespace, batch_size=batch_size)
        self.buses.append(bus)
        return bus

    async def settled(self, bus: Bus, condition: Callable[[], bool], what: str) -> None:
        """Every group consumed what was published (memory: ``drained``), and ``condition`` holds."""
        if self.memory:
            await asyncio.wait_for(bus.drained(), TIMEOUT)
            assert condition(), what
        else:
            await eventually(condition, what)


@pytest.fixture(params=["memory", pytest.param("kafka", marks=pytest.mark.system)])
async def transport(request) -> Iterator[Transport]:
    run = uuid.uuid4().hex[:8]
    if request.param == "memory":
        made = Transport("memory", "memory://", True, f"c{run}.")
    else:
        broker = request.getfixturevalue("kafka_broker")
        made = Transport("kafka", broker.url, broker.idempotence, f"{broker.namespace}c{run}.")
    yield made
    for bus in made.buses:
        await asyncio.wait_for(bus.stop(), TIMEOUT)


@pytest.fixture
def topic(request) -> str:
    return f"conformance.{request.node.originalname}.{uuid.uuid4().hex[:8]}"


async def eventually(condition: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            pytest.fail(f"still waiting after {timeout}s for {what}")
        await asyncio.sleep(0.02)


def message(topic: str, key: str, n: int) -> OutgoingMessage:
    return OutgoingMessage(topic, key, json.dumps({"key": key, "n": n}).encode(), {"type": "Numbered"})


def numbered(topic: str, numbers: Sequence[int], key: str = "k") -> list[OutgoingMessage]:
    return [message(topic, key, n) for n in numbers]


class Recorder:
    """A consumer recording each delivery (the ``(key, n)`` of its messages); ``fail`` decides, per
    delivery, whether ``consume`` raises instead of returning (the offsets then stay put)."""

    def __init__(self, fail: Callable[[list[tuple[str, int]]], bool] = lambda delivery: False):
        self.deliveries: list[list[tuple[str, int]]] = []
        self.failed: list[bool] = []
        self.fail = fail

    async def __call__(self, messages: list[Incoming], topic: str) -> None:
        assert all(isinstance(m.body, bytes) and m.type == "Numbered" for m in messages)
        delivery = [(d["key"], d["n"]) for d in map(json.loads, (m.body for m in messages))]
        self.deliveries.append(delivery)
        failing = self.fail(delivery)
        self.failed.append(failing)
        if failing:
            raise RuntimeError("base indisponible")

    @property
    def consumed(self) -> list[tuple[str, int]]:
        """What was consumed successfully (its offsets committed), in order."""
        return [m for delivery, failed in zip(self.deliveries, self.failed, strict=True) if not failed
                for m in delivery]

    def numbers(self, key: str = "k") -> list[int]:
        return [n for k, n in self.consumed if k == key]

    def delivered(self, key: str = "k") -> list[int]:
        return [n for delivery in self.deliveries for k, n in delivery if k == key]


# 1. Order per key -----------------------------------------------------------------------------

async def test_messages_of_one_key_are_consumed_in_publish_order_over_several_batches(transport, topic):
    bus = transport.bus(batch_size=7)
    recorder = Recorder()
    bus.subscribe(topic, "conformance", recorder)
    await bus.start()
    keys = [f"structure-{i}" for i in range(6)]
    shuffle = random.Random(15)
    published: dict[str, list[int]] = {key: [] for key in keys}
    n = 0
    for _batch in range(3):  # several publishes, keys interleaved within each
        batch = []
        for _ in range(20):
            key = shuffle.choice(keys)
            batch.append(message(topic, key, n))
            published[key].append(n)
            n += 1
        await bus.publish(batch)

    await transport.settled(bus, lambda: len(recorder.consumed) >= n, f"{n} messages consumed")
    assert {key: recorder.numbers(key) for key in keys} == published
    assert sorted(n for _, n in recorder.consumed) == list(range(n))  # each once: nothing failed
    assert all(1 <= len(d) <= 7 for d in recorder.deliveries)  # polls of at most batch_size messages


# 2. Independent consumer groups ---------------------------------------------------------------

async def test_two_groups_each_get_every_message_and_a_slow_group_does_not_hold_the_other(transport, topic):
    bus = transport.bus(batch_size=4)
    gate, slow_started = asyncio.Event(), asyncio.Event()
    slow, quick = Recorder(), Recorder()

    async def slow_consume(messages: list[Incoming], topic: str) -> None:
        slow_started.set()
        await gate.wait()  # stuck (a long transaction, a lock) until the test lets it go
        await slow(messages, topic)

    bus.subscribe(topic, "slow", slow_consume)
    bus.subscribe(topic, "quick", quick)
    await bus.start()
    try:
        await bus.publish(numbered(topic, range(0, 10)))
        await eventually(lambda: quick.numbers() == list(range(10)) and slow_started.is_set(),
                         "the quick group through the first batch while the slow one holds its first poll")
        await bus.publish(numbered(topic, range(10, 20)))  # the quick group goes on, at its own pace
        await eventually(lambda: quick.numbers() == list(range(20)), "the quick group through the second batch")
        assert slow.deliveries == []
    finally:
        gate.set()
    await transport.settled(bus, lambda: slow.numbers() == list(range(20)), "the slow group through both")
    assert quick.numbers() == list(range(20))


# 3. At-least-once ------------------------------------------------------------------------------

async def test_a_failed_delivery_is_delivered_again_and_nothing_behind_it_is_consumed_first(transport, topic):
    bus = transport.bus(batch_size=4)
    failures = [2]  # the first two deliveries holding message 5 fail (a database down for a while)

    def fail(delivery: list[tuple[str, int]]) -> bool:
        if ("k", 5) in delivery and failures[0]:
            failures[0] -= 1
            return True
        return False

    recorder = Recorder(fail)
    bus.subscribe(topic, "conformance", recorder)
    await bus.start()
    await bus.publish(numbered(topic, range(12)))
    await transport.settled(bus, lambda: len(recorder.consumed) >= 12, "every message consumed")

    assert recorder.numbers() == list(range(12))  # committed exactly once each, in order
    assert recorder.failed.count(True) == 2
    for i, failed in enumerate(recorder.failed):
        if failed:
            again = recorder.deliveries[i + 1]
            # Redelivered from the failed poll's first message: nothing behind it went first, and
            # what the failed poll held before message 5 comes again too (at least once).
            assert again[0] == recorder.deliveries[i][0]
            assert all(m in [m for d in recorder.deliveries[i + 1:] for m in d] for m in recorder.deliveries[i])


# 4. A consumer's failure never reaches the publisher ------------------------------------------

async def test_publish_returns_normally_when_every_consumer_fails(transport, topic):
    bus = transport.bus(batch_size=10)
    planning, notify = Recorder(lambda d: True), Recorder(lambda d: True)
    bus.subscribe(topic, "planning", planning)
    bus.subscribe(topic, "notify", notify)
    await bus.start()

    await bus.publish(numbered(topic, range(3)))  # returns: the log is the acknowledgement
    await eventually(lambda: len(planning.deliveries) >= 2 and len(notify.deliveries) >= 2,
                     "each group failing, then getting its poll again")
    await bus.publish(numbered(topic, range(3, 6)))  # still returns while every group keeps failing
    await eventually(lambda: len(planning.deliveries) >= 4 and len(notify.deliveries) >= 4, "more retries")
    for recorder in (planning, notify):
        assert recorder.consumed == []
        assert all(d[0] == ("k", 0) for d in recorder.deliveries)  # never past the failing message


# 5. Offsets committed after consume: a restarted consumer resumes from them ------------------

class StoppingConsumer:
    """Consumes polls until it has consumed ``stop_after`` messages, then holds the next poll
    without returning until ``crash``: it then raises, as a process dying mid-poll would leave it
    (never committed), and keeps failing that poll until the bus is stopped.

    Raising rather than being cancelled by ``stop``: on Kafka, stopping under a handler that never
    returns waits for FastStream's graceful timeout, then leaves the group uncleanly, and the next
    member waits for the session to expire. The offsets are the same either way."""

    def __init__(self, stop_after: int):
        self.stop_after = stop_after
        self.committed: list[int] = []  # the numbers of the polls that returned
        self.held: list[int] = []
        self.holding = asyncio.Event()
        self.crash = asyncio.Event()

    async def __call__(self, messages: list[Incoming], topic: str) -> None:
        numbers = [json.loads(m.body)["n"] for m in messages]
        if len(self.committed) >= self.stop_after:
            self.held = self.held or numbers
            self.holding.set()
            await self.crash.wait()
            raise RuntimeError("process gone")
        self.committed += numbers

    async def stop(self, bus: Bus) -> None:
        self.crash.set()
        await asyncio.wait_for(bus.stop(), TIMEOUT)
        self.stop_after = 10**9  # a restarted consumer consumes again


async def test_a_consumer_restarted_in_its_group_resumes_from_the_committed_offsets(transport, topic):
    bus = transport.bus(batch_size=3)
    first = StoppingConsumer(stop_after=5)
    bus.subscribe(topic, "conformance", first)
    await bus.start()
    await bus.publish(numbered(topic, range(12)))
    await eventually(first.holding.is_set, "the consumer holding the poll after its first five messages")
    await first.stop(bus)
    committed = len(first.committed)
    assert first.committed == list(range(committed)) and committed >= 5
    assert first.held[0] == committed  # the held poll was never committed

    if transport.memory:
        # The in-memory log lives in the Bus object: a new Bus (or process) starts from an empty
        # log, so the only comparable restart is the same Bus started again, its groups keeping
        # their offsets. The first consumer is still the group's (a memory subscription cannot be
        # withdrawn): it now records what it gets after the restart.
        resumed_from = len(first.committed)
        await bus.start()
        await transport.settled(bus, lambda: len(first.committed) >= 12, "the group through the rest")
        assert first.committed[resumed_from:] == list(range(committed, 12))
    else:
        after = Recorder()
        again = transport.bus(batch_size=3)
        again.subscribe(topic, "conformance", after)
        await again.start()
        await transport.settled(again, lambda: after.numbers()[-1:] == [11], "the new consumer through the rest")
        # From the committed offset: the committed messages not again, the held poll again.
        assert after.numbers() == list(range(committed, 12))


async def test_a_new_subscription_in_a_group_shares_the_groups_committed_offsets(transport, topic):
    """A group id names one set of committed offsets: a consumer that joins the group (a restarted
    service subscribing again) takes over from them, and the group as a whole consumes each message
    past them once. On Kafka: a new Bus in the same group. In memory the comparable is a second
    ``subscribe`` with the same group on the same Bus (as ``build_app``'s lifespan does each time it
    starts)."""
    bus = transport.bus(batch_size=3)
    first = StoppingConsumer(stop_after=5)
    bus.subscribe(topic, "conformance", first)
    await bus.start()
    await bus.publish(numbered(topic, range(12)))
    await eventually(first.holding.is_set, "the consumer holding the poll after its first five messages")
    await first.stop(bus)
    committed = len(first.committed)

    joined = Recorder()
    if transport.memory:
        bus.subscribe(topic, "conformance", joined)
        await bus.start()
        await bus.publish(numbered(topic, [12]))  # the marker: everything before it is consumed then
        await asyncio.wait_for(bus.drained(), TIMEOUT)
    else:
        again = transport.bus(batch_size=3)
        again.subscribe(topic, "conformance", joined)
        await again.start()
        await again.publish(numbered(topic, [12]))
        await eventually(lambda: 12 in joined.numbers(), "the marker consumed by the group")
    by_group = sorted(first.committed[committed:] + joined.numbers())
    assert by_group == list(range(committed, 13))


# 4b. What Kafka refuses at publish ------------------------------------------------------------

KAFKA_MAX_REQUEST_BYTES = 1024 * 1024  # aiokafka's default max_request_size, which Bus keeps


async def test_a_message_over_the_producers_request_limit_is_refused_at_publish(transport, topic):
    """No more than Kafka: a message Kafka's producer refuses must not be accepted in memory, or a
    test on memory:// passes what fails in production."""
    bus = transport.bus()
    recorder = Recorder()
    bus.subscribe(topic, "conformance", recorder)
    await bus.start()
    body = json.dumps({"key": "k", "n": 0, "padding": "x" * KAFKA_MAX_REQUEST_BYTES}).encode()
    with pytest.raises(Exception, match="(?i)too ?large|size"):
        await bus.publish([OutgoingMessage(topic, "k", body, {"type": "Numbered"})])
    await bus.publish(numbered(topic, [1]))  # the marker: the refused message never reached the log
    await transport.settled(bus, lambda: recorder.numbers() == [1], "the marker alone consumed")


# 6. The real dispatcher as the consumer: malformed messages are parked, the partition goes on --

def envelope(n: int, *, version: int = 2, items: list[dict] | None = None) -> dict:
    return {"event_id": str(uuid.uuid4()), "type": "ActionCancelled", "version": version,
            "occurred_at": "2025-01-04T09:00:00+00:00", "producer": "planning", "key": "bge",
            "payload": {"items": items if items is not None else [{"action_id": f"a{n}", "version": 1}]}}


def raw(topic: str, body: bytes, kind: str = "ActionCancelled") -> OutgoingMessage:
    return OutgoingMessage(topic, "bge", body, {"type": kind})


async def test_malformed_messages_are_dead_lettered_with_their_reason_and_the_partition_goes_on(transport, topic):
    bus = transport.bus(batch_size=4)
    handled: list[str] = []

    async def forget_actions(event: ActionCancelled, uow) -> None:
        handled.extend(item.action_id for item in event.items)

    uow = FakeUnitOfWork(producer="notify", clock=CLOCK)
    dead = FakeDeadLetters()
    dispatcher = EventDispatcher("notify", {ActionCancelled: forget_actions}, lambda: uow, dead, backoff_seconds=0)
    bus.subscribe(topic, "notify", dispatcher.consume)
    await bus.start()

    def good(n: int) -> OutgoingMessage:
        return raw(topic, json.dumps(envelope(n)).encode())

    too_many = envelope(0, items=[{"action_id": f"x{i}", "version": 1} for i in range(MAX_ITEMS + 1)])
    too_large = envelope(0, items=[{"action_id": "x", "reason": "é" * (MAX_EVENT_BYTES // 2 + 4096), "version": 1}])
    malformed = [
        raw(topic, b'{"event_id": "not even JSON'),
        raw(topic, json.dumps(envelope(0, version=3)).encode()),
        raw(topic, json.dumps(too_many).encode()),
        raw(topic, json.dumps(too_large, ensure_ascii=False).encode()),
        raw(topic, json.dumps(envelope(0) | {"type": "ActionTeleported"}).encode(), kind="ActionTeleported"),
    ]
    # One partition (one key): each malformed message sits between good ones, over two publishes
    # (the last one of a type no service publishes: a consumer cannot tell it is not for it).
    await bus.publish([good(1), malformed[0], good(2), malformed[1], good(3)])
    await bus.publish([malformed[2], good(4), malformed[3], good(5), malformed[4], good(6)])

    await transport.settled(bus, lambda: handled[-1:] == ["a6"], "the last good event handled")
    assert handled == ["a1", "a2", "a3", "a4", "a5", "a6"]
    assert len(uow.processed) == 6
    reasons = [letter["error"] for letter in dead.letters]
    assert len(reasons) == 5, reasons
    assert reasons[0].startswith("enveloppe invalide") and "json" in reasons[0].lower()
    assert reasons[1] == "UnknownEvent: ActionCancelled v3"
    assert reasons[2].startswith("ValidationError") and str(MAX_ITEMS) in reasons[2]
    assert reasons[3].startswith("événement trop grand")
    assert reasons[4] == "UnknownEvent: ActionTeleported"  # a type no service publishes
    assert [letter["attempts"] for letter in dead.letters] == [1] * 5  # parked at once, never retried
    assert dead.letters[1]["envelope"]["version"] == 3 and len(dead.letters[2]["envelope"]["payload"]["items"]) == 1001
    assert {letter["topic"] for letter in dead.letters} == {topic}


# OPS-02/03: trace context in the headers, consumer lag ---------------------------------------

async def test_ops03_trace_context_travels_in_headers_and_ops02_lag_is_counted_per_partition(transport, topic):
    """A message's ``traceparent`` header reaches the consumer as published (memory and Kafka), and
    the bus reports its group's lag per partition: all consumed, 0 behind on each."""
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    bus = transport.bus()
    seen: list[Incoming] = []

    async def consume(messages: list[Incoming], _topic: str) -> None:
        seen.extend(messages)

    bus.subscribe(topic, "conformance", consume)
    await bus.start()
    await bus.publish([OutgoingMessage(topic, "k", b"{}", {"type": "Numbered", "traceparent": traceparent}),
                       OutgoingMessage(topic, "k", b"{}", {"type": "Numbered"})])
    await transport.settled(bus, lambda: len(seen) == 2, "2 messages consumed")
    assert [m.trace for m in seen] == [{"traceparent": traceparent}, None]
    assert [m.type for m in seen] == ["Numbered", "Numbered"]

    async def lag() -> dict[int, int]:
        return {p: n for group, t, p, n in await bus.consumer_lag() if group == "conformance" and t == topic}
    for _ in range(200):  # Kafka: the commit after consume lands a moment later
        if (lags := await lag()) and not any(lags.values()):
            break
        await asyncio.sleep(0.05)
    assert lags and set(lags.values()) == {0}, lags


@pytest.mark.system
async def test_ops04_read_topics_reads_a_batch_published_last_in_full(kafka_broker, topic):
    """OPS-04: the audit reads a topic to its end, the events of the last batch included (one
    transaction's events are published together; Tansu's end offset counts that batch as one)."""
    bus = Bus(kafka_broker.url, idempotence=kafka_broker.idempotence, namespace=kafka_broker.namespace)
    bus.declare(topic)
    await bus.start()
    try:
        await bus.publish(numbered(topic, range(0, 1)))
        await bus.publish(numbered(topic, range(1, 6)))  # one batch, last in the topic
    finally:
        await asyncio.wait_for(bus.stop(), TIMEOUT)
    read = await read_topics(kafka_broker.bootstrap, [kafka_broker.namespace + topic])
    assert [json.loads(value)["n"] for _, _, value in read[kafka_broker.namespace + topic]] == list(range(6))
