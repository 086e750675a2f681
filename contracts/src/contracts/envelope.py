import hashlib
from datetime import datetime
from json.encoder import encode_basestring
from typing import Annotated, Any
from uuid import UUID

from pydantic import AwareDatetime, BeforeValidator, Field, StringConstraints

from contracts.base import Contract

# Kept as text: every consumer reads this id as text (inbox key), and building a ``UUID`` object for
# each event consumed only to format it again was a visible share of an import's time.
EventId = Annotated[
    str,
    BeforeValidator(lambda value: str(value) if isinstance(value, UUID) else value),
    StringConstraints(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"),
]


class Envelope(Contract):
    """What travels on every topic: routing and tracing data around one event's payload."""

    event_id: EventId = Field(description="Unique id of this event (a UUID, lower-case text); consumers' inbox key.",
                              json_schema_extra={"format": "uuid"})
    type: str = Field(description="Event type, past tense.", examples=["ReferentialChanged"])
    version: int = Field(ge=1, description="Version of the payload schema for this type.", examples=[1])
    occurred_at: AwareDatetime = Field(description="When the change happened (UTC).")
    producer: str = Field(description="Service that emitted the event.", examples=["planning"])
    key: str = Field(
        description="The partition key: the id of the structure that owns the data, so that all of a "
                    "structure's events from one producer keep their order (before list events: the "
                    "aggregate's id).",
        examples=["bge"],
    )
    correlation_id: str | None = Field(
        default=None, description="Import batch or user command that caused it.", examples=["cmd-3f2a"]
    )
    causation_id: str | None = Field(
        default=None, description="Event or command this event answers.", examples=[None]
    )
    actor: str | None = Field(
        default=None, description="The user behind a person's command (SEC-04); none for the system's own work.",
        examples=["mpetit"])
    sequence: int | None = Field(
        default=None, ge=1,
        description="Position of this event in its producer's chain (1, 2, 3, ... without gap); absent "
                    "on events written before the chain (OPS-04).", examples=[42])
    previous_hash: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{64}$",
        description="SHA-256 (hex) of the previous event of the same producer, as published (its JSON "
                    "bytes); 64 zeros for a producer's first event. Altering or removing an event breaks "
                    "the chain (OPS-04).",
        examples=["0000000000000000000000000000000000000000000000000000000000000000"])
    payload: dict[str, Any] = Field(description="The event's own fields, per its JSON Schema.")

    @property
    def occurred(self) -> datetime:
        return self.occurred_at


def _encode_text(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


def envelope_json(event_type: str, event_version: int, payload_json: str, *, event_id: str, occurred_at: datetime,
                  producer: str, key: str, correlation_id: str | None, causation_id: str | None,
                  actor: str | None = None, sequence: int | None = None,
                  previous_hash: str | None = None) -> str:
    """An envelope as JSON text, the same as ``Envelope(...).model_dump_json()`` gives, around a
    payload already encoded by its own model (validated when it was built).

    Written out here because every event emitted goes through it: the envelope's few fields need no
    second validation."""
    occurred = occurred_at.isoformat()
    if occurred.endswith("+00:00"):
        occurred = occurred[:-6] + "Z"
    return (f'{{"event_id":"{event_id}","type":"{event_type}","version":{event_version},'
            f'"occurred_at":"{occurred}","producer":{_encode_text(producer)},"key":{_encode_text(key)},'
            f'"correlation_id":{_encode_text(correlation_id)},"causation_id":{_encode_text(causation_id)},'
            f'"actor":{_encode_text(actor)},"sequence":{"null" if sequence is None else int(sequence)},'
            f'"previous_hash":{_encode_text(previous_hash)},"payload":{payload_json}}}')


GENESIS = "0" * 64  # the ``previous_hash`` of a producer's first event


def event_hash(wire: bytes | str) -> str:
    """The hash that the next event of the same producer carries as ``previous_hash``: SHA-256 of
    the envelope's bytes exactly as published."""
    return hashlib.sha256(wire.encode() if isinstance(wire, str) else wire).hexdigest()
