"""Planning's reactions: one plain async function per command or event."""

from contracts.planning import (AdvisorRef, AntenneRef, OdsRef, ReferentialChanged, ResourceRef, SiteRef,
                                StepRef)
from contracts.affectation import ParticipantAssigned
from contracts.importer import (BeneficiariesMerged, BeneficiaryPurged, ParticipantConfirmed, ParticipantNotConfirmed,
                                RegistrationCancelled, RegistrationRecorded)
from servicekit.merges import follow_merges
from servicekit.versioned import load_versioned

from planning.domain.referential import Referential, check_part
from planning.service_layer import assignments, journey_views, registrations
from planning.service_layer.commands import LoadReferential


def referential_changed(ref: Referential) -> ReferentialChanged:
    return ReferentialChanged(
        version=ref.version,
        structure=ref.structure_ref(),
        antennes=tuple(AntenneRef(code=a.code, name=a.name) for a in ref.antennes.values()),
        sites=tuple(SiteRef(**s.model_dump()) for s in ref.sites.values()),
        advisors=tuple(AdvisorRef(**a.model_dump(exclude={"email"})) for a in ref.advisors.values()),
        ods=tuple(OdsRef(code=o.code, name=o.name, special_service=o.special_service, sites=o.sites,
                         steps=tuple(StepRef(**st.model_dump()) for st in o.steps),
                         duration_days=o.duration_days, bilan_reasons=o.bilan_reasons,
                         early_exit_reasons=o.early_exit_reasons, abandon_reasons=o.abandon_reasons)
             for o in ref.ods.values()),
        resources=tuple(ResourceRef(**r.model_dump(exclude={"ods"}), ods=r.ods[0])
                        for r in ref.resources.values()),
        digest=ref.digest(),
    )


async def load_referential(cmd: LoadReferential, uow) -> dict:
    """Merge a referential part; refuse it whole if the result breaks a rule (REF-01..REF-05).

    Loading what is already there changes nothing and emits nothing.
    """
    return await load_versioned(uow, lambda u: u.referential, lambda current: check_part(current, cmd.part),
                                referential_changed, cmd.dry_run)


# One handler per event type, written over the event's items.
EVENT_HANDLERS = {
    RegistrationRecorded: registrations.attach_registrations,
    ParticipantConfirmed: registrations.confirm_participants,
    ParticipantNotConfirmed: registrations.remove_unconfirmed,
    RegistrationCancelled: registrations.remove_cancelled,
    BeneficiaryPurged: registrations.forget_beneficiaries,
    BeneficiariesMerged: follow_merges,  # BEN-03: the merged record's rows move to the kept one
    ParticipantAssigned: assignments.apply_assignments,
    **journey_views.EVENT_HANDLERS,
}
