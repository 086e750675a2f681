from datetime import UTC, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

# The users' time zone: every date and time they type or read.
PARIS = ZoneInfo("Europe/Paris")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock tests move by hand."""

    def __init__(self, at: datetime):
        self.at = at

    def now(self) -> datetime:
        return self.at


class FileClock:
    """Test-only clock for services run as processes: the time written in a file (ISO 8601), or the
    system time while the file is absent. Set with ``PRESTAFLOW_CLOCK_FILE``."""

    def __init__(self, path: str):
        self.path = path

    def now(self) -> datetime:
        try:
            with open(self.path, encoding="utf-8") as f:
                return datetime.fromisoformat(f.read().strip())
        except (OSError, ValueError):
            return datetime.now(UTC)


class InstantClock:
    """One instant for a whole transaction: the first time asked, ``clock``'s time, then that again.
    What a command stamps and the events it emits then carry the same time, so that a replay that
    rebuilds the command's rows from its events stamps them alike (OPS-04)."""

    def __init__(self, clock: "Clock"):
        self._clock = clock
        self._at: datetime | None = None

    def now(self) -> datetime:
        if self._at is None:
            self._at = self._clock.now()
        return self._at
