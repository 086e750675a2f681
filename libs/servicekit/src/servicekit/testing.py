"""Fakes of servicekit's own abstractions, for services' unit tests."""

import uuid
from collections.abc import Sequence
from typing import Any

from contracts import Envelope, Event
from servicekit.bus import OutgoingMessage, Sending
from servicekit.clock import Clock, SystemClock
from servicekit.dispatch import as_dict
from servicekit.uow import UnitOfWork


class FakeBus:
    """Records published batches; ``fail_next`` makes the next publish raise, as a broker outage would."""

    def __init__(self, in_flight: int = 1) -> None:
        self.batches: list[list[OutgoingMessage]] = []
        self.fail_next = 0
        self.in_flight = in_flight

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        await (await self.send(messages)).acknowledged()

    async def send(self, messages: Sequence[OutgoingMessage], after: Sending | None = None) -> Sending:
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("broker unavailable")
        self.batches.append(list(messages))
        return Sending([])

    @property
    def messages(self) -> list[OutgoingMessage]:
        return [m for batch in self.batches for m in batch]


class FakeUnitOfWork(UnitOfWork):
    """In-memory unit of work: ``events`` and ``processed`` change only on commit."""

    def __init__(self, producer: str = "test", clock: Clock | None = None, **repositories: Any):
        super().__init__(producer, clock or SystemClock())
        self.events: list[Envelope] = []
        self.processed: set[uuid.UUID] = set()
        self.commits = 0
        self._staged_events: list[Envelope] = []
        self._staged_processed: set[uuid.UUID] = set()
        for name, repository in repositories.items():
            setattr(self, name, repository)

    async def _close(self) -> None:
        self.holding = False
        await self.rollback()

    def emit(self, event: Event, key: str) -> Envelope:
        envelope = self.envelope(event, key)
        self._staged_events.append(envelope)
        return envelope

    async def claim(self, envelope: Envelope) -> bool:
        if envelope.event_id in self.processed | self._staged_processed:
            return False
        self._staged_processed.add(envelope.event_id)
        return True

    async def commit(self) -> None:
        if self.holding:
            self.committed = True
            return
        self.events += self._staged_events
        self.processed |= self._staged_processed
        self._staged_events, self._staged_processed = [], set()
        self.committed = True
        self.commits += 1

    async def rollback(self) -> None:
        self._refuse_partial_rollback()
        self._staged_events, self._staged_processed = [], set()


class FakeDeadLetters:
    def __init__(self) -> None:
        self.letters: list[dict[str, Any]] = []

    async def park(self, body: bytes | dict[str, Any], topic: str, error: str, attempts: int) -> None:
        self.letters.append({"id": len(self.letters) + 1, "envelope": as_dict(body), "topic": topic, "error": error,
                             "attempts": attempts, "redriven": False})

    async def parked(self, include_redriven: bool = False) -> list[dict[str, Any]]:
        return [d for d in self.letters if include_redriven or not d["redriven"]]

    async def mark_redriven(self, letter_id: int) -> None:
        self.letters[letter_id - 1]["redriven"] = True
