"""Notify's event handlers: one function per event type, over the event's items.

Templates and rules: ``setup.py``; what notify keeps of other services' events and the messages
they call for: ``projections.py`` and ``scheduling.py``; the GDPR mail and the purge: ``gdpr.py``;
sending: ``delivery.py``.
"""

from contracts.importer import (BeneficiariesMerged, BeneficiaryCorrected, BeneficiaryPurged, BeneficiaryRegistered,
                                GdprAgreementRequested, ParticipantConfirmed, ParticipantNotConfirmed,
                                RegistrationCancelled, RegistrationRecorded)
from contracts.planning import (ActionCancelled, ActionChanged, ActionPlanned, ParticipantAdded, ParticipantRemoved,
                                PresenceValidated, ReferentialChanged)
from servicekit.merges import follow_merges

from notify.service_layer.gdpr import forget_beneficiaries, send_gdpr_after_presence, send_gdpr_on_request
from notify.service_layer.projections import (cancel_actions, cancel_registrations, cancel_unconfirmed,
                                              confirm_registrations, link_participants, move_actions,
                                              record_actions, record_contacts, record_corrections,
                                              schedule_registrations, unlink_participants, update_referential)

EVENT_HANDLERS = {
    ReferentialChanged: update_referential,
    BeneficiaryRegistered: record_contacts,
    BeneficiaryCorrected: record_corrections,
    RegistrationRecorded: schedule_registrations,
    ParticipantConfirmed: confirm_registrations,
    ParticipantNotConfirmed: cancel_unconfirmed,
    RegistrationCancelled: cancel_registrations,
    ActionPlanned: record_actions,
    ActionChanged: move_actions,
    ActionCancelled: cancel_actions,
    ParticipantAdded: link_participants,
    ParticipantRemoved: unlink_participants,
    PresenceValidated: send_gdpr_after_presence,
    BeneficiaryPurged: forget_beneficiaries,
    GdprAgreementRequested: send_gdpr_on_request,  # BEN-02: staff sent the request again
    BeneficiariesMerged: follow_merges,  # BEN-03: the merged record's rows move to the kept one
}
