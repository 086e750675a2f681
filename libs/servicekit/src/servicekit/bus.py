"""The message bus, chosen by ``PRESTAFLOW_BUS``; the only module that imports FastStream.

- ``kafka://host:9092,...``: FastStream + aiokafka, a consumer group per service reading batches
  of up to ``batch_size`` messages, offsets committed only after the handler returned (``AckPolicy.NACK_ON_ERROR`` with auto-commit off;
  FastStream's default acknowledges first and would lose the message on a crash), ``acks=all``
  and the idempotent producer where the broker supports it.
- ``memory://``: FastStream's in-memory Kafka broker (``TestKafkaBroker``): publishing runs every
  subscribed consumer group's handler before it returns, all services in one process. A published
  batch travels as one in-memory message carrying the list, and reaches each consumer as one batch,
  as a poll would on Kafka (one message per event costs FastStream's per-message work for every
  consumer group, most of an embedded import's time).
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

from faststream import AckPolicy
from faststream.kafka import KafkaBroker, TestKafkaBroker

log = logging.getLogger("servicekit.bus")


@dataclass(frozen=True)
class OutgoingMessage:
    topic: str
    key: str
    body: dict[str, Any]
    headers: dict[str, str]


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
        if self.in_memory:
            self.broker = KafkaBroker(logger=None)
        else:
            self.broker = KafkaBroker(
                self.bootstrap.split(","), acks="all", enable_idempotence=idempotence,
                client_id=client_id, logger=log,
            )
        self._stack: AsyncExitStack | None = None
        self._topics: set[str] = set()
        self.partitions, self.replication = partitions, replication
        self.batch_size = batch_size

    def declare(self, *topics: str) -> None:
        """Topics this process publishes to: created at start like the subscribed ones."""
        self._topics.update(self.namespace + t for t in topics)

    def subscribe(self, topic: str, group: str,
                  consume: Callable[[list[dict[str, Any]], str], Awaitable[None]]) -> None:
        """Deliver the messages of ``topic`` to ``consume`` in batches, as consumer group ``group``.

        The offsets are committed after ``consume`` returns; if it raises, the batch is delivered
        again (``consume`` is expected to retry and dead-letter on its own: raising means it could
        not even park a message).
        """
        topic = self.namespace + topic
        self._topics.add(topic)

        if self.in_memory:
            @self.broker.subscriber(topic, group_id=group, ack_policy=AckPolicy.NACK_ON_ERROR)
            async def on_batch(bodies: list[Any]) -> None:
                await consume(bodies, topic.removeprefix(self.namespace))
            return

        @self.broker.subscriber(topic, group_id=group, ack_policy=AckPolicy.NACK_ON_ERROR,
                                auto_offset_reset="earliest", batch=True, max_records=self.batch_size)
        async def on_messages(bodies: list[Any]) -> None:
            await consume(bodies, topic.removeprefix(self.namespace))

    async def start(self) -> None:
        self._stack = AsyncExitStack()
        if self.in_memory:
            self.broker = await self._stack.enter_async_context(TestKafkaBroker(self.broker))
            return
        await self._create_topics()
        await self.broker.start()
        self._stack.push_async_callback(self.broker.stop)

    async def stop(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
            self._stack = None

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        """Publish a batch, waiting for the broker's acknowledgement once for the whole batch."""
        if self.in_memory:
            # Consecutive messages of a topic go as one message carrying the list (see above).
            for start, end in _runs(messages, lambda m: m.topic):
                await self.broker.publish([m.body for m in messages[start:end]],
                                          topic=self.namespace + messages[start].topic)
            return
        pending = [
            await self.broker.publish(m.body, topic=self.namespace + m.topic, key=m.key.encode(), headers=m.headers,
                                      no_confirm=True)
            for m in messages
        ]
        futures = [p for p in pending if p is not None]
        if futures:
            await asyncio.gather(*futures)

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


def _runs(items: Sequence[Any], key: Callable[[Any], Any]) -> list[tuple[int, int]]:
    """(start, end) of each run of consecutive items with the same key."""
    runs, start = [], 0
    for i in range(1, len(items) + 1):
        if i == len(items) or key(items[i]) != key(items[start]):
            runs.append((start, i))
            start = i
    return runs
