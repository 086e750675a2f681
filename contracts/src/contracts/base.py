from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class Contract(BaseModel):
    """Strict, immutable data carried on the bus."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Event(Contract):
    """An event's payload. Subclasses name their type, version and producing service."""

    event_type: ClassVar[str]
    event_version: ClassVar[int] = 1
    producer: ClassVar[str]
