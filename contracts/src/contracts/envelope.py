from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import AwareDatetime, Field

from contracts.base import Contract


class Envelope(Contract):
    """What travels on every topic: routing and tracing data around one event's payload."""

    event_id: UUID = Field(description="Unique id of this event; consumers' inbox key.")
    type: str = Field(description="Event type, past tense.", examples=["ReferentialChanged"])
    version: int = Field(ge=1, description="Version of the payload schema for this type.", examples=[1])
    occurred_at: AwareDatetime = Field(description="When the change happened (UTC).")
    producer: str = Field(description="Service that emitted the event.", examples=["planning"])
    key: str = Field(
        description="Aggregate id (beneficiary, enrolment, action, invoice): the partition key.",
        examples=["referential"],
    )
    correlation_id: str | None = Field(
        default=None, description="Import batch or user command that caused it.", examples=["cmd-3f2a"]
    )
    causation_id: str | None = Field(
        default=None, description="Event or command this event answers.", examples=[None]
    )
    payload: dict[str, Any] = Field(description="The event's own fields, per its JSON Schema.")

    @property
    def occurred(self) -> datetime:
        return self.occurred_at
