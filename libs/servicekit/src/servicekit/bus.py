"""The message bus, chosen by ``PRESTAFLOW_BUS``; the only module that imports FastStream.

Every message's value is an envelope's JSON as the outbox holds it (bytes, encoded once, by
pydantic, when the event was emitted) with its event type in the ``type`` header, so a consumer
skips other services' events without parsing them.

- ``kafka://host:9092,...``: FastStream + aiokafka, a consumer group per service reading batches
  of up to ``batch_size`` messages, offsets committed only after the handler returned
  (``AckPolicy.NACK_ON_ERROR`` with auto-commit off; FastStream's default acknowledges first and
  would lose the message on a crash). Publishing uses aiokafka's producer directly, ``acks=all``
  and idempotent where the broker supports it, partitioned by key as FastStream would (aiokafka's
  default partitioner).
- ``memory://``: every service in one process. Publishing hands each run of messages of a topic,
  in batches of up to ``batch_size`` (as polls would return them on Kafka), to every consumer group
  subscribed to the topic, the groups at the same time; the batch is acknowledged once they all
  have consumed it, and a consumer's error reaches the publisher (the relay then leaves the rows
  unpublished). No broker and no encoding: consumers get the very bytes a Kafka consumer would.
  A publisher may send several batches before the first is acknowledged (``send(after=...)``):
  each group takes them in order, at its own pace, as it would read a Kafka topic, and a group
  whose delivery failed fails the later ones it was sent (they would be consumed out of order).
"""

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

log = logging.getLogger("servicekit.bus")


@dataclass(frozen=True)
class OutgoingMessage:
    topic: str
    key: str
    body: bytes | dict[str, Any]  # an envelope's JSON; a dict is encoded here (dead letters)
    headers: dict[str, str]
    event_id: str | None = None  # the outbox row's, when the relay publishes one

    @property
    def value(self) -> bytes:
        return self.body if isinstance(self.body, bytes) else json.dumps(self.body, ensure_ascii=False).encode()

    def decoded(self) -> dict[str, Any]:
        return json.loads(self.body) if isinstance(self.body, bytes) else self.body


class Incoming:
    """One consumed message: its value as published and its ``type`` header (None if it had none).

    On the in-memory bus every consumer group gets the same ``Incoming``: the first to read the
    envelope leaves it in ``envelope`` for the others (envelopes and events are immutable)."""

    __slots__ = ("body", "type", "envelope")

    def __init__(self, body: bytes | dict[str, Any], type: str | None = None):
        self.body, self.type = body, type
        self.envelope: Any = None


Consume = Callable[[list[Incoming], str], Awaitable[None]]


class Sending:
    """A batch on its way: ``acknowledged()`` waits for the broker (in memory: every consumer group).

    ``lanes`` holds, for each in-memory consumer group the batch went to, the delivery a later
    batch of the same publisher must follow."""

    def __init__(self, waits: Sequence[Awaitable[Any]], lanes: dict[Any, "asyncio.Task[None]"] | None = None):
        self._waits = list(waits)
        self.lanes = lanes or {}

    async def acknowledged(self) -> None:
        """Every wait finishes before the first error, if any, is raised."""
        for outcome in await asyncio.gather(*self._waits, return_exceptions=True):
            if isinstance(outcome, BaseException):
                raise outcome


class Bus:
    def __init__(self, url: str, *, idempotence: bool = True, client_id: str = "prestaflow", namespace: str = "",
                 partitions: int = 3, replication: int = 1, batch_size: int = 500):
        self.url = url
        # Prepended to every topic name: lets several deployments (or test runs) share one cluster.
        self.namespace = namespace
        self.in_memory = url.startswith("memory://")
        if not (self.in_memory or url.startswith("kafka://")):
            raise ValueError(f"PRESTAFLOW_BUS must start with memory:// or kafka://, not {url!r}")
        self.bootstrap = url.removeprefix("kafka://").rstrip("/")
        self._local: list[tuple[str, Consume]] = []  # memory://: (topic, consume), in subscription order
        self.broker: KafkaBroker | None = None
        self.idempotence, self.client_id = idempotence, client_id
        # Publishing goes straight to aiokafka: FastStream's publish costs about twice as much CPU per
        # message (a command object, a correlation id, its middlewares), for every event of an outbox.
        self._producer: AIOKafkaProducer | None = None
        if not self.in_memory:
            self.broker = KafkaBroker(
                self.bootstrap.split(","), acks="all", enable_idempotence=idempotence,
                client_id=client_id, logger=log,
            )
        self._stack: AsyncExitStack | None = None
        self._topics: set[str] = set()
        self.partitions, self.replication = partitions, replication
        self.batch_size = batch_size
        # Batches a publisher may have sent and not yet seen acknowledged. On Kafka, one: if a batch
        # failed while a later one went through, a key's events would be published out of order.
        self.in_flight = 2 if self.in_memory else 1

    def declare(self, *topics: str) -> None:
        """Topics this process publishes to: created at start like the subscribed ones."""
        self._topics.update(self.namespace + t for t in topics)

    def subscribe(self, topic: str, group: str, consume: Consume) -> None:
        """Deliver the messages of ``topic`` to ``consume`` in batches, as consumer group ``group``.

        The offsets are committed after ``consume`` returns; if it raises, the batch is delivered
        again (``consume`` is expected to retry and dead-letter on its own: raising means it could
        not even park a message).
        """
        topic = self.namespace + topic
        self._topics.add(topic)

        if self.in_memory:
            self._local.append((topic, consume))
            return

        @self.broker.subscriber(topic, group_id=group, ack_policy=AckPolicy.NACK_ON_ERROR,
                                auto_offset_reset="earliest", batch=True, max_records=self.batch_size,
                                decoder=_undecoded)
        async def on_messages(message: KafkaMessage) -> None:
            # The records as polled: values undecoded, the type header read without parsing the value.
            await consume([Incoming(r.value or b"", _type_header(r.headers)) for r in message.raw_message],
                          topic.removeprefix(self.namespace))

    async def start(self) -> None:
        self._stack = AsyncExitStack()
        if self.in_memory:
            return
        await self._create_topics()
        self._producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap.split(","), acks="all",
                                          enable_idempotence=self.idempotence, client_id=self.client_id)
        await self._producer.start()
        self._stack.push_async_callback(self._producer.stop)
        await self.broker.start()
        self._stack.push_async_callback(self.broker.stop)

    async def stop(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
            self._stack = None

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        """Publish a batch, waiting for the broker's acknowledgement once for the whole batch."""
        await (await self.send(messages)).acknowledged()

    async def send(self, messages: Sequence[OutgoingMessage], after: Sending | None = None) -> Sending:
        """Hand a batch to the broker, behind ``after`` (the same publisher's previous batch, still
        unacknowledged), and return without waiting for the acknowledgement."""
        if self.in_memory:
            lanes = dict(after.lanes) if after else {}
            deliveries = []
            for start, end in _runs(messages, lambda m: m.topic):
                topic = self.namespace + messages[start].topic
                run = [Incoming(m.value, m.headers.get("type")) for m in messages[start:end]]
                # At most ``batch_size`` messages per delivery, as a Kafka poll returns them.
                polls = [run[i:i + self.batch_size] for i in range(0, len(run), self.batch_size)]
                for lane, (subscribed, consume) in enumerate(self._local):
                    if subscribed == topic:
                        # Concurrently, as separate consumer processes would: one group's wait on its
                        # database is another's time to compute, each group at its own pace.
                        lanes[lane] = asyncio.create_task(
                            _deliver(consume, polls, messages[start].topic, lanes.get(lane)))
                        deliveries.append(lanes[lane])
            return Sending(deliveries, lanes)
        return Sending([await self._producer.send(self.namespace + m.topic, m.value, key=m.key.encode(),
                                                  headers=[(k, v.encode()) for k, v in m.headers.items()])
                        for m in messages])

    async def ping(self) -> bool:
        if self.in_memory:
            return True
        try:
            return bool(await self.broker.ping(timeout=2))
        except Exception:  # noqa: BLE001 - readiness reports any failure as not ready
            return False

    async def _create_topics(self) -> None:
        """Create the subscribed topics up front, so consumer groups never wait on auto-creation."""
        from aiokafka.admin import AIOKafkaAdminClient, NewTopic
        from aiokafka.errors import TopicAlreadyExistsError

        if not self._topics:
            return
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap.split(","))
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            missing = [NewTopic(t, num_partitions=self.partitions, replication_factor=self.replication)
                       for t in self._topics - existing]
            if missing:
                try:
                    await admin.create_topics(missing)
                except TopicAlreadyExistsError:
                    pass
        finally:
            await admin.close()


async def _deliver(consume: Consume, polls: list[list[Incoming]], topic: str,
                   previous: "asyncio.Task[None] | None") -> None:
    if previous is not None:
        await previous  # its error, if any, is this delivery's too: nothing is consumed out of order
    for poll in polls:
        # A poll that raised is not followed by the next: they would be consumed out of order. The
        # publisher's error leaves all of them unpublished, delivered again later.
        await consume(poll, topic)


async def _undecoded(message: Any) -> None:
    """The subscriber reads the records as polled (``raw_message``): FastStream's own decoding of
    every value as JSON, for a body no handler takes, would be wasted."""
    return None


def _type_header(headers: Sequence[tuple[str, bytes]]) -> str | None:
    for name, value in headers:
        if name == "type":
            return value.decode()
    return None


def _runs(items: Sequence[Any], key: Callable[[Any], Any]) -> list[tuple[int, int]]:
    """(start, end) of each run of consecutive items with the same key."""
    runs, start = [], 0
    for i in range(1, len(items) + 1):
        if i == len(items) or key(items[i]) != key(items[start]):
            runs.append((start, i))
            start = i
    return runs
