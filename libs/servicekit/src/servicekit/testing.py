"""Fakes of servicekit's own abstractions, for services' unit tests."""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from contracts import Envelope, Event
from servicekit.bus import OutgoingMessage
from servicekit.clock import Clock, SystemClock
from servicekit.dispatch import as_dict
from servicekit.ids import new_uuid
from servicekit.uow import UnitOfWork


class FakeBus:
    """Records published batches; ``fail_next`` makes the next publish raise, as a broker outage would."""

    def __init__(self) -> None:
        self.batches: list[list[OutgoingMessage]] = []
        self.fail_next = 0

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("broker unavailable")
        self.batches.append(list(messages))

    @property
    def messages(self) -> list[OutgoingMessage]:
        return [m for batch in self.batches for m in batch]


class FakeUnitOfWork(UnitOfWork):
    """In-memory unit of work: ``events`` (the envelopes emitted) and ``processed`` change only on commit."""

    def __init__(self, producer: str = "test", clock: Clock | None = None, structure: str = "bge",
                 **repositories: Any):
        super().__init__(producer, clock or SystemClock(), structure)
        self.events: list[Envelope] = []
        self.processed: set[str] = set()
        self.commits = 0
        self.versions: dict[tuple[str, str], int] = {}
        self._staged_processed: set[str] = set()
        for name, repository in repositories.items():
            setattr(self, name, repository)

    async def _close(self) -> None:
        await self.rollback()

    async def _aggregate_versions(self, keys: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
        return {k: self.versions[k] for k in keys if k in self.versions}

    async def _save_aggregate_versions(self, versions: dict[tuple[str, str], int], known: set[tuple[str, str]]) -> None:
        self.versions.update(versions)

    async def claim(self, envelope: Envelope) -> bool:
        event_id = str(envelope.event_id)
        if event_id in self.processed | self._staged_processed:
            return False
        self._staged_processed.add(event_id)
        return True

    async def commit(self) -> None:
        self.events += [Envelope.model_validate_json(e.json) for e in await self._staged_events()]
        self.processed |= self._staged_processed
        self._staged_processed = set()
        self.committed = True
        self.commits += 1

    async def rollback(self) -> None:
        self._staged, self._staged_processed = [], set()

    def payloads(self, event_type: str) -> list[dict[str, Any]]:
        """The items (or, for a whole event, the payload) of every committed event of ``event_type``."""
        found = []
        for envelope in self.events:
            if envelope.type == event_type:
                found += envelope.payload.get("items", [envelope.payload])
        return found


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


def envelope_of(event: Event, producer: str = "planning", key: str = "bge", event_id: str | None = None,
                occurred_at: datetime | None = None, correlation_id: str | None = None,
                causation_id: str | None = None, actor: str | None = None) -> Envelope:
    """An envelope around ``event``, as a producer would have emitted it (tests of consumers)."""
    return Envelope(event_id=event_id or new_uuid(), type=event.event_type, version=event.event_version,
                    occurred_at=occurred_at or datetime.now(UTC), producer=producer, key=key,
                    correlation_id=correlation_id, causation_id=causation_id, actor=actor,
                    payload=event.model_dump(mode="json"))
