"""Planning applies assignments decided in affectation (AFF-02, AFF-03) with the rules of any action."""

import uuid
from dataclasses import replace

from contracts.affectation import ParticipantAssigned
from contracts.planning import (ActionChanged, ActionPlanned, AssignmentApplied, AssignmentRefused, ParticipantAdded,
                                ParticipantRemoved)
from servicekit.errors import RefusedInput

from planning.domain.agenda import draft_of, when
from planning.service_layer.agenda import action_fields, checked_action, existing_action


async def _move_participants(uow, source, target, participants: list[dict]) -> None:
    for p in participants:
        await uow.agenda.remove_participant(source.id, p["beneficiary_id"], uow.clock.now(), "Affecté à une autre action")
        uow.emit(ParticipantRemoved(action_id=source.id, beneficiary_id=p["beneficiary_id"],
                                    reason="Affecté à une autre action"), key=source.id)
        await uow.agenda.add_participant(target.id, p["beneficiary_id"], p["resource_code"], p["ods_code"],
                                         uow.clock.now())
        uow.emit(ParticipantAdded(action_id=target.id, beneficiary_id=p["beneficiary_id"], resource=p["resource_code"],
                                  ods=p["ods_code"]), key=target.id)
    await uow.registrations.repoint(source.id, target.id)


async def _plan(event: ParticipantAssigned, uow):
    """Check everything before writing anything; raises RefusedInput with planning's reasons."""
    imported = await existing_action(uow, event.action_id, lock=True)
    if imported.status != "planned" or not imported.to_assign:
        raise RefusedInput([f"Le rendez-vous du {when(imported.starts_at)} n'est plus à affecter "
                            "(déjà affecté ou annulé)."])
    participants = await uow.agenda.participants(imported.id)
    if event.effect == "move":
        moved = await checked_action(draft_of(imported, advisor=event.advisor, to_assign=False), uow, action_id=imported.id)
        return imported, participants, replace(moved, participants=imported.participants, to_assign=False), None
    if event.effect == "join":
        target = await existing_action(uow, event.target_action_id or "", lock=True)
        if target.status != "planned" or target.advisor != event.advisor:
            raise RefusedInput([f"L'action choisie n'est plus dans l'agenda de « {event.advisor} »."])
        if target.free_places < len(participants):
            raise RefusedInput([f"Action du {when(target.starts_at)} complète : {target.participants} place(s) sur "
                                f"{target.max_participants} déjà prise(s)."])
        return imported, participants, None, target
    created = await checked_action(draft_of(imported, advisor=event.advisor, site=event.site, to_assign=False), uow,
                             action_id=str(uuid.uuid4()))
    return imported, participants, None, created


async def apply_assignment(event: ParticipantAssigned, uow) -> None:
    async with uow:
        try:
            imported, participants, moved, target = await _plan(event, uow)
        except RefusedInput as exc:
            uow.emit(AssignmentRefused(assignment_id=event.assignment_id, action_id=event.action_id,
                                       messages=tuple(exc.messages)), key=event.action_id)
            await uow.commit()
            return
        if moved is not None:
            await uow.agenda.update(moved)
            uow.emit(ActionChanged(action=action_fields(moved)), key=moved.id)
            final, duplicate = moved.id, None
        else:
            if event.effect == "create":
                await uow.agenda.add(target)
                uow.emit(ActionPlanned(action=action_fields(target)), key=target.id)
            await _move_participants(uow, imported, target, participants)
            flagged = replace(imported, to_assign=False, duplicate_of=target.id)
            await uow.agenda.update(flagged)
            uow.emit(ActionChanged(action=action_fields(flagged)), key=imported.id)
            final, duplicate = target.id, imported.id
        uow.emit(AssignmentApplied(assignment_id=event.assignment_id, action_id=event.action_id,
                                   final_action_id=final, duplicate_action_id=duplicate), key=event.action_id)
        await uow.commit()
