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
- ``memory://``: every service in one process, with Kafka's semantics and no more: each topic is
  an append-only log of ``partitions`` partitions (a message's partition chosen by its key), each
  consumer group reads it from its own offsets, in order per partition, in polls of up to
  ``batch_size`` messages, and moves its offset on only after ``consume`` returned. Publishing
  appends and returns (the log is the acknowledgement): a consumer's failure never reaches the
  publisher; the poll is delivered again (at least once) after a pause. Consumers get the very
  bytes a Kafka consumer would. ``drained()`` waits until every group has consumed everything.
"""

import asyncio
import contextlib
import json
import zlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import MessageSizeTooLargeError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from servicekit import tracing

log = logging.getLogger("servicekit.bus")
log_ = log

# aiokafka's default ``max_request_size``, which the Kafka producer keeps: memory:// refuses what it
# would refuse, so that nothing passes in memory that fails in production.
MAX_REQUEST_BYTES = 1024 * 1024


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
    """One consumed message: its value as published, its ``type`` header (None if it had none) and
    its trace-context headers (``servicekit.tracing``; None if it had none)."""

    __slots__ = ("body", "type", "trace")

    def __init__(self, body: bytes | dict[str, Any], type: str | None = None, trace: dict[str, str] | None = None):
        self.body, self.type, self.trace = body, type, trace


Consume = Callable[[list[Incoming], str], Awaitable[None]]


class _MemoryGroup:
    """One consumer group of one in-memory topic: its committed offsets and the task that polls for
    it. A later subscription with the same group id joins it and, as after a Kafka rebalance, takes
    every partition over from the committed offsets."""

    def __init__(self, topic: "_MemoryTopic", group: str, consume: Consume, name: str, batch_size: int):
        self.topic, self.group, self.consume, self.name = topic, group, consume, name
        self.batch_size = batch_size
        self.offsets = [0] * len(topic.partitions)
        self.wake = asyncio.Event()
        self.idle = asyncio.Event()
        self.idle.set()
        self.task: asyncio.Task | None = None
        self.redelivery_seconds = 0.2

    def behind(self) -> bool:
        return any(offset < len(log) for offset, log in zip(self.offsets, self.topic.partitions, strict=True))

    def notify(self) -> None:
        self.idle.clear()
        self.wake.set()

    async def run(self) -> None:
        while True:
            polled = False
            for partition, log in enumerate(self.topic.partitions):
                start = self.offsets[partition]
                if start >= len(log):
                    continue
                poll = log[start:start + self.batch_size]
                polled = True
                try:
                    await self.consume(poll, self.name)
                except asyncio.CancelledError:
                    raise
                except Exception:  # noqa: BLE001 - the poll is delivered again, as Kafka would after a rebalance
                    log_.exception("consumer failed; delivering its poll again",
                                   extra={"group": self.group, "topic": self.name})
                    await asyncio.sleep(self.redelivery_seconds)
                    continue
                self.offsets[partition] = start + len(poll)
            if not polled:
                self.idle.set()
                self.wake.clear()
                if not self.behind():
                    await self.wake.wait()


class _MemoryTopic:
    def __init__(self, partitions: int):
        self.partitions: list[list[Incoming]] = [[] for _ in range(max(1, partitions))]
        self.groups: dict[str, _MemoryGroup] = {}


class Bus:
    def __init__(self, url: str, *, idempotence: bool = True, client_id: str = "prestaflow", namespace: str = "",
                 partitions: int = 3, replication: int = 1, batch_size: int = 500,
                 username: str | None = None, password: str | None = None, ca_file: str | None = None,
                 create_topics: bool = True):
        self.url = url
        # Credentials (SCRAM-SHA-512, a Strimzi KafkaUser) and TLS, for aiokafka's clients.
        self._security = _security(username, password, ca_file)
        self.create_topics = create_topics
        # Prepended to every topic name: lets several deployments (or test runs) share one cluster.
        self.namespace = namespace
        self.in_memory = url.startswith("memory://")
        if not (self.in_memory or url.startswith("kafka://")):
            raise ValueError(f"PRESTAFLOW_BUS must start with memory:// or kafka://, not {url!r}")
        self.bootstrap = url.removeprefix("kafka://").rstrip("/")
        self._memory: dict[str, _MemoryTopic] = {}  # memory://: each topic's partitions and groups
        self.broker: KafkaBroker | None = None
        self.idempotence, self.client_id = idempotence, client_id
        # Publishing goes straight to aiokafka: FastStream's publish costs about twice as much CPU per
        # message (a command object, a correlation id, its middlewares), for every event of an outbox.
        self._producer: AIOKafkaProducer | None = None
        if not self.in_memory:
            self.broker = KafkaBroker(
                self.bootstrap.split(","), acks="all", enable_idempotence=idempotence,
                client_id=client_id, logger=log, security=_faststream_security(username, password, self._security),
            )
        self._stack: AsyncExitStack | None = None
        self._subscribers: list[tuple[str, str, Any]] = []  # Kafka: (group, topic, FastStream subscriber)
        self._topics: set[str] = set()
        self.partitions, self.replication = partitions, replication
        self.batch_size = batch_size

    @classmethod
    def from_settings(cls, settings: Any) -> "Bus":
        """The bus a service's ``ServiceSettings`` describe (``PRESTAFLOW_BUS`` and the Kafka settings)."""
        return cls(settings.bus, idempotence=settings.kafka_idempotence, namespace=settings.topic_namespace,
                   partitions=settings.kafka_partitions, replication=settings.kafka_replication,
                   batch_size=settings.consumer_batch_size, username=settings.kafka_username,
                   password=settings.kafka_password,
                   ca_file=str(settings.kafka_ca_file) if settings.kafka_ca_file else None,
                   create_topics=settings.kafka_create_topics)

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
            memory = self._memory_topic(topic)
            memory_group = memory.groups.get(group)
            if memory_group is None:
                memory_group = memory.groups[group] = _MemoryGroup(memory, group, consume,
                                                                   topic.removeprefix(self.namespace), self.batch_size)
            memory_group.consume = consume  # the newest member takes the partitions over
            if self._stack is not None and (memory_group.task is None or memory_group.task.done()):
                self._start_group(memory_group)  # subscribed after start
            return

        subscriber = self.broker.subscriber(topic, group_id=group, ack_policy=AckPolicy.NACK_ON_ERROR,
                                            auto_offset_reset="earliest", batch=True, max_records=self.batch_size,
                                            decoder=_undecoded)
        self._subscribers.append((group, topic.removeprefix(self.namespace), subscriber))

        @subscriber
        async def on_messages(message: KafkaMessage) -> None:
            # The records as polled: values undecoded, the type header read without parsing the value.
            await consume([Incoming(r.value or b"", _type_header(r.headers), _trace_headers(r.headers))
                           for r in message.raw_message],
                          topic.removeprefix(self.namespace))

    async def start(self) -> None:
        self._stack = AsyncExitStack()
        if self.in_memory:
            for topic in self._memory.values():
                for group in topic.groups.values():
                    if group.task is None or group.task.done():
                        self._start_group(group)
            return
        if self.create_topics:
            await self._create_topics()
        self._producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap.split(","), acks="all",
                                          enable_idempotence=self.idempotence, client_id=self.client_id,
                                          **self._security)
        self._stack.push_async_callback(self._producer.stop)  # also when its start fails half-way
        await self._producer.start()
        await self.broker.start()
        self._stack.push_async_callback(self.broker.stop)

    def _start_group(self, group: _MemoryGroup) -> None:
        group.task = asyncio.create_task(group.run(), name=f"{group.group}:{group.name}")
        self._stack.push_async_callback(_cancel, group.task)
        if group.behind():
            group.notify()

    async def stop(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
            self._stack = None

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        """Publish a batch, waiting for the broker's acknowledgement once for the whole batch."""
        if self.in_memory:
            for m in messages:
                if len(m.value) + len(m.key) > MAX_REQUEST_BYTES:
                    raise MessageSizeTooLargeError(
                        f"message of {len(m.value)} bytes is too large for the producer's {MAX_REQUEST_BYTES}")
            for m in messages:
                topic = self._memory_topic(self.namespace + m.topic)
                topic.partitions[_partition(m.key, len(topic.partitions))].append(
                    Incoming(m.value, m.headers.get("type"), tracing.context_headers(m.headers)))
                for group in topic.groups.values():
                    group.notify()
            return
        sent = [await self._producer.send(self.namespace + m.topic, m.value, key=m.key.encode(),
                                          headers=[(k, v.encode()) for k, v in m.headers.items()])
                for m in messages]
        # Every wait finishes before the first error, if any, is raised.
        for outcome in await asyncio.gather(*sent, return_exceptions=True):
            if isinstance(outcome, BaseException):
                raise outcome

    def _memory_topic(self, topic: str) -> _MemoryTopic:
        if topic not in self._memory:
            self._memory[topic] = _MemoryTopic(self.partitions)
        return self._memory[topic]

    async def drained(self) -> None:
        """In memory: wait until every consumer group has consumed every message published so far."""
        while True:
            waiting = [g for t in self._memory.values() for g in t.groups.values() if g.task is not None
                       and (g.behind() or not g.idle.is_set())]
            if not waiting:
                return
            await asyncio.gather(*[g.idle.wait() for g in waiting])

    async def consumer_lag(self) -> list[tuple[str, str, int, int]]:
        """(group, topic, partition, messages not yet committed) of each partition this process
        consumes: in memory every group's; on Kafka the partitions assigned to this replica, from the
        end offset of its last fetch and the group's committed offset."""
        if self.in_memory:
            return [(g.group, g.name, p, len(log) - g.offsets[p]) for t in self._memory.values()
                    for g in t.groups.values() for p, log in enumerate(t.partitions)]
        lags = []
        for group, topic, subscriber in self._subscribers:
            consumer = getattr(subscriber, "consumer", None)
            if consumer is None:
                continue
            for tp in consumer.assignment():
                end = consumer.highwater(tp)
                if end is None:  # nothing fetched yet
                    continue
                committed = await consumer.committed(tp) or 0
                lags.append((group, topic, tp.partition, max(end - committed, 0)))
        return lags

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
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap.split(","), **self._security)
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


def _security(username: str | None, password: str | None, ca_file: str | None) -> dict[str, Any]:
    """aiokafka's security arguments: SCRAM-SHA-512 when a user is given, TLS when a CA is."""
    options: dict[str, Any] = {}
    if ca_file:
        import ssl

        options["ssl_context"] = ssl.create_default_context(cafile=ca_file)
    if username:
        options.update(sasl_mechanism="SCRAM-SHA-512", sasl_plain_username=username, sasl_plain_password=password)
    options["security_protocol"] = ("SASL_" if username else "") + ("SSL" if ca_file else "PLAINTEXT")
    return options


def _faststream_security(username: str | None, password: str | None, options: dict[str, Any]) -> Any:
    from faststream.security import BaseSecurity, SASLScram512

    if username:
        return SASLScram512(username, password or "", ssl_context=options.get("ssl_context"))
    if "ssl_context" in options:
        return BaseSecurity(ssl_context=options["ssl_context"])
    return None


async def _cancel(task: "asyncio.Task[None]") -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _partition(key: str, partitions: int) -> int:
    return zlib.crc32(key.encode()) % partitions


async def _undecoded(message: Any) -> None:
    """The subscriber reads the records as polled (``raw_message``): FastStream's own decoding of
    every value as JSON, for a body no handler takes, would be wasted."""
    return None


def _trace_headers(headers: Sequence[tuple[str, bytes]]) -> dict[str, str] | None:
    return tracing.context_headers({name: value.decode() for name, value in headers
                                    if name in ("traceparent", "tracestate")})


def _type_header(headers: Sequence[tuple[str, bytes]]) -> str | None:
    for name, value in headers:
        if name == "type":
            return value.decode()
    return None


def security_options(settings: Any) -> dict[str, Any]:
    """aiokafka's security arguments from a ``ServiceSettings`` (its Kafka user, password and CA)."""
    ca_file = settings.kafka_ca_file
    return _security(settings.kafka_username, settings.kafka_password, str(ca_file) if ca_file else None)


async def read_topics(bootstrap: str, topics: Sequence[str],
                      security: dict[str, Any] | None = None) -> dict[str, list[tuple[int, int, bytes]]]:
    """Every message of ``topics`` from the beginning up to their end when called, as
    ``(partition, offset, value)`` in partition then offset order (the audit's export and replay read
    the log this way, without a consumer group, so no offset is committed)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap.removeprefix("kafka://").split(","),
                                enable_auto_commit=False, auto_offset_reset="earliest", group_id=None,
                                **(security or {}))
    await consumer.start()
    try:
        present = await consumer.topics()
        found: dict[str, list[tuple[int, int, bytes]]] = {}
        for topic in topics:
            if topic not in present:
                found[topic] = []
                continue
            numbers = consumer.partitions_for_topic(topic)
            if not numbers:  # metadata not fetched for this topic yet (Tansu): ask for it
                await consumer._client.force_metadata_update()
                numbers = consumer.partitions_for_topic(topic) or await _partitions_described(bootstrap, topic, security)
            partitions = [TopicPartition(topic, p) for p in sorted(numbers)]
            if not partitions:
                found[topic] = []
                continue
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            messages: list[tuple[int, int, bytes]] = []
            remaining = {tp for tp in partitions if ends[tp] > await consumer.position(tp)}
            while remaining:
                batch = await consumer.getmany(*remaining, timeout_ms=1000, max_records=5000)
                for tp, records in batch.items():
                    # A broker may answer ListOffsets with the last record batch's first offset + 1
                    # (Tansu 0.6 does): the events published together at the end of a topic were then
                    # cut. The high watermark of the fetch itself counts every record of every batch.
                    ends[tp] = max(ends[tp], consumer.highwater(tp) or 0)
                    messages += [(tp.partition, r.offset, r.value) for r in records if r.offset < ends[tp]]
                remaining = {tp for tp in remaining if await consumer.position(tp) < ends[tp]}
            found[topic] = sorted(messages, key=lambda m: (m[0], m[1]))
        return found
    finally:
        await consumer.stop()


async def _partitions_described(bootstrap: str, topic: str, security: dict[str, Any] | None) -> set[int]:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap.removeprefix("kafka://").split(","), **(security or {}))
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
        return {p["partition"] for t in described for p in t.get("partitions", [])}
    finally:
        await admin.close()
