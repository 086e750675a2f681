"""Maps an envelope's ``(type, version)`` to its payload model; upcasts versions still read."""

from collections.abc import Callable
from typing import Any

from pydantic import Field, ValidationError, create_model

from contracts import affectation, billing, importer, notify, planning
from contracts.base import Event, upcast_to_items
from contracts.envelope import Envelope

EVENT_MODELS: tuple[type[Event], ...] = (
    planning.ReferentialChanged, planning.ActionPlanned, planning.ActionChanged, planning.ActionCancelled,
    planning.ParticipantAdded, planning.ParticipantRemoved, planning.PresenceValidated, planning.AssignmentApplied,
    planning.AssignmentRefused, planning.ODSClosed, planning.ODSReopened, planning.EnrolmentOpened,
    planning.JourneyFormChanged, planning.JourneyDatesChanged, planning.DeliverablesGenerated,
    importer.InscritsImported, importer.BeneficiaryRegistered, importer.RegistrationRecorded,
    importer.ParticipantConfirmed, importer.ParticipantNotConfirmed, importer.RegistrationCancelled,
    importer.BeneficiaryDeactivated, importer.BeneficiaryPurged, importer.BeneficiaryCorrected,
    importer.GdprAgreementRequested, importer.GdprAgreementRecorded, importer.BeneficiariesMerged,
    billing.CatalogueChanged, billing.InvoiceDrafted, billing.InvoiceIssued, billing.CreditNoteIssued,
    billing.InvoiceDeposited, billing.InvoiceWritten, billing.InvoiceDepositFailed,
    billing.InvoiceIntegrated, billing.InvoiceRejected,
    notify.NotificationSetupChanged, affectation.ParticipantAssigned,
    notify.MessageSent, notify.MessageNotSent, notify.MessageScheduledByHand,
    notify.VirtualOfficeLoginRecorded,
)
# First versions, still published and upcast when a log holding them is read.
FIRST_VERSIONS: tuple[type[Event], ...] = (
    planning.ActionPlannedV1, planning.ActionChangedV1, planning.ActionCancelledV1, planning.ParticipantAddedV1,
    planning.ParticipantRemovedV1, planning.PresenceValidatedV1, planning.AssignmentAppliedV1,
    planning.AssignmentRefusedV1,
    importer.BeneficiaryRegisteredV1, importer.RegistrationRecordedV1, importer.ParticipantConfirmedV1,
    importer.ParticipantNotConfirmedV1, importer.RegistrationCancelledV1, importer.BeneficiaryDeactivatedV1,
    importer.BeneficiaryPurgedV1, affectation.ParticipantAssignedV1, notify.MessageSentV1, notify.MessageNotSentV1,
)
PUBLISHED_MODELS: tuple[type[Event], ...] = EVENT_MODELS + FIRST_VERSIONS

_LATEST: dict[str, type[Event]] = {m.event_type: m for m in EVENT_MODELS}


def _action_to_items(payload: dict[str, Any]) -> dict[str, Any]:
    return {"items": [{**payload["action"], "version": 0}]}


# (type, old version) -> function turning that payload into the next version's payload. Every first
# version carried one aggregate's change: it becomes the one item of its list event.
UPCASTERS: dict[tuple[str, int], Callable[[dict[str, Any]], dict[str, Any]]] = {
    (model.event_type, 1): (_action_to_items if model in (planning.ActionPlannedV1, planning.ActionChangedV1)
                            else upcast_to_items)
    for model in FIRST_VERSIONS
}


class UnknownEvent(LookupError):
    pass


def is_known(event_type: str) -> bool:
    """Whether some service publishes events of this type (at any version still read)."""
    return event_type in _LATEST


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
