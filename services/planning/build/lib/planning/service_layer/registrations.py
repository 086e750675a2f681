"""Planning's reactions to imports (IMP-05, IMP-06): attach appointments, confirm, remove, forget."""

import uuid
from datetime import timedelta

from contracts.importer import (BeneficiaryPurged, ParticipantConfirmed, ParticipantNotConfirmed,
                                RegistrationCancelled, RegistrationRecorded)
from contracts.planning import ActionPlanned, ParticipantAdded, ParticipantRemoved

from planning.domain.agenda import Action, steps_digest
from planning.service_layer.agenda import action_fields

NOT_CONFIRMED = "Non confirmé à J-2"
CANCELLED = "Désinscrit de Prest@ppli"


async def _leave(uow, registration: dict, reason: str) -> None:
    current = await uow.agenda.participant(registration["action_id"], registration["beneficiary_id"])
    if current and current["removed_at"] is None:
        await uow.agenda.remove_participant(registration["action_id"], registration["beneficiary_id"],
                                            uow.clock.now(), reason)
        uow.emit(ParticipantRemoved(action_id=registration["action_id"], beneficiary_id=registration["beneficiary_id"],
                                    reason=reason), key=registration["action_id"])


async def attach_registration(event: RegistrationRecorded, uow) -> None:
    """Join the planned diagnostic slot at that site and time with a free place, or create the slot,
    individual and waiting for an advisor (AFF-01)."""
    async with uow:
        known = await uow.registrations.get(event.registration_id)
        if known and event.moved_from is None:
            return
        if known:
            await _leave(uow, known, "Rendez-vous déplacé par Prest@ppli")
        action_id = await uow.registrations.free_slot(event.ods, event.site, event.starts_at)
        if action_id is None:
            ref = await uow.referential.get()
            step = next(s for s in ref.ods[event.ods].steps if s.order == 1)
            resource = ref.resources.get(event.resource)
            action = Action(
                id=str(uuid.uuid4()), advisor=None, action_type=step.action_type, ods=event.ods, step=1,
                resource=event.resource, mode="remote" if event.remote else "on_site", site=event.site,
                starts_at=event.starts_at, ends_at=event.starts_at + timedelta(minutes=step.duration_min),
                nature="individual", max_participants=1, to_assign=True,
                resource_version=resource.setting_version if resource else None,
                steps_digest=steps_digest(ref, event.ods))
            await uow.agenda.add(action)
            uow.emit(ActionPlanned(action=action_fields(action)), key=action.id)
            action_id = action.id
        await uow.agenda.add_participant(action_id, event.beneficiary_id, event.resource, event.ods, uow.clock.now())
        uow.emit(ParticipantAdded(action_id=action_id, beneficiary_id=event.beneficiary_id, resource=event.resource,
                                  ods=event.ods), key=action_id)
        await uow.registrations.put(event.registration_id, event.beneficiary_id, action_id)
        await uow.commit()


async def confirm_participant(event: ParticipantConfirmed, uow) -> None:
    async with uow:
        await uow.registrations.confirm(event.registration_id)
        await uow.commit()


async def remove_unconfirmed(event: ParticipantNotConfirmed | RegistrationCancelled, uow) -> None:
    async with uow:
        registration = await uow.registrations.get(event.registration_id)
        if registration:
            await _leave(uow, registration, NOT_CONFIRMED if isinstance(event, ParticipantNotConfirmed) else CANCELLED)
        await uow.commit()


async def forget_beneficiary(event: BeneficiaryPurged, uow) -> None:
    """Keep anonymous counts only: the past links of a purged person go."""
    async with uow:
        await uow.registrations.forget_beneficiary(event.beneficiary_id)
        await uow.commit()
