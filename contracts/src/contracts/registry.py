"""Maps an envelope's ``(type, version)`` to its payload model; upcasts versions still read."""

from collections.abc import Callable
from typing import Any

from pydantic import Field, ValidationError, create_model

from contracts.affectation import ParticipantAssigned
from contracts.base import Event
from contracts.billing import CatalogueChanged
from contracts.envelope import Envelope
from contracts.importer import (BeneficiaryDeactivated, BeneficiaryPurged, BeneficiaryRegistered, InscritsImported,
                                ParticipantConfirmed, ParticipantNotConfirmed, RegistrationCancelled,
                                RegistrationRecorded)
from contracts.notify import MessageNotSent, MessageSent, NotificationSetupChanged
from contracts.planning import (ActionCancelled, ActionChanged, ActionPlanned, AssignmentApplied, AssignmentRefused,
                                ParticipantAdded, ParticipantRemoved, PresenceValidated, ReferentialChanged)

EVENT_MODELS: tuple[type[Event], ...] = (
    ReferentialChanged, ActionPlanned, ActionChanged, ActionCancelled, ParticipantAdded, ParticipantRemoved,
    PresenceValidated, InscritsImported, BeneficiaryRegistered, RegistrationRecorded, ParticipantConfirmed,
    ParticipantNotConfirmed, RegistrationCancelled, BeneficiaryDeactivated, BeneficiaryPurged, CatalogueChanged,
    NotificationSetupChanged, ParticipantAssigned, AssignmentApplied, AssignmentRefused,
    MessageSent, MessageNotSent,
)

_BY_TYPE: dict[tuple[str, int], type[Event]] = {(m.event_type, m.event_version): m for m in EVENT_MODELS}
_LATEST: dict[str, type[Event]] = {}
for _model in sorted(EVENT_MODELS, key=lambda m: m.event_version):
    _LATEST[_model.event_type] = _model

# (type, old version) -> function turning that payload into the next version's payload.
UPCASTERS: dict[tuple[str, int], Callable[[dict[str, Any]], dict[str, Any]]] = {}


class UnknownEvent(LookupError):
    pass


def model_for(event_type: str) -> type[Event]:
    """The current model of a type (looked up for every event consumed: a dict, not a scan)."""
    try:
        return _LATEST[event_type]
    except KeyError:
        raise UnknownEvent(event_type) from None


_TYPED: dict[str, type[Envelope]] = {}


def typed_envelope(event_type: str) -> type[Envelope]:
    """An envelope whose payload is validated as the current model of ``event_type``: one pass over
    a message's JSON instead of the envelope, then its payload again."""
    typed = _TYPED.get(event_type)
    if typed is None:
        model = model_for(event_type)
        typed = _TYPED[event_type] = create_model(
            f"{model.__name__}Envelope", __base__=Envelope,
            payload=(model, Field(description=f"A {event_type} v{model.event_version} payload.")))
    return typed


def read_envelope(value: bytes | str, event_type: str | None) -> Envelope:
    """A message's envelope. With the type its header announced, and the payload at that type's current
    version, the payload comes already parsed; otherwise (another version, a header that does not
    match, an invalid payload) it is a plain envelope and ``parse_event`` upcasts or reports."""
    if event_type in _LATEST:
        try:
            envelope = typed_envelope(event_type).model_validate_json(value)
        except ValidationError:
            pass
        else:
            if envelope.type == event_type and envelope.version == envelope.payload.event_version:
                return envelope
    return Envelope.model_validate_json(value)


def parse_event(envelope: Envelope) -> Event:
    """The envelope's payload as the current model of its type, upcast from older versions."""
    if isinstance(envelope.payload, Event):
        return envelope.payload  # a typed envelope: checked when it was read
    model = model_for(envelope.type)
    payload, version = dict(envelope.payload), envelope.version
    while version < model.event_version:
        payload = UPCASTERS[(envelope.type, version)](payload)
        version += 1
    if version != model.event_version:
        raise UnknownEvent(f"{envelope.type} v{envelope.version}")
    return model.model_validate(payload)
