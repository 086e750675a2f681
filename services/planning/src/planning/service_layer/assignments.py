"""Planning applies assignments decided in affectation (AFF-02, AFF-03) with the rules of any action."""

from dataclasses import replace

from contracts.affectation import ParticipantAssigned, ParticipantAssignedItem
from contracts.planning import (ActionChanged, ActionPlanned, AssignmentApplied, AssignmentAppliedItem,
                                AssignmentRefused, AssignmentRefusedItem, ParticipantAdded, ParticipantRemoved)
from servicekit.errors import RefusedInput
from servicekit.ids import derived_id

from planning.domain.agenda import Action, Participant, draft_of, when
from planning.service_layer.agenda import action_item, added_item, checked_action, existing_action, removed_item

MOVED_AWAY = "Affecté à une autre action"
# The order in which an event's effects are announced: each item's own effects keep their order, and an
# event of several assignments stays a few events.
PHASES = (ActionPlanned, ParticipantRemoved, ParticipantAdded, ActionChanged, AssignmentApplied, AssignmentRefused)


async def _move_participants(uow, source: Action, target: Action, participants: list[Participant],
                             announced: dict) -> None:
    now = uow.clock.now()
    there = await uow.agenda.participations((target.id, p.beneficiary_id) for p in participants)
    new, changed = [], list(participants)
    for p in participants:
        p.leave(now, MOVED_AWAY)
        announced[ParticipantRemoved].append(removed_item(p))
        joined = there.get((target.id, p.beneficiary_id))
        if joined is None:
            joined = Participant(target.id, p.beneficiary_id, p.resource, p.ods, now)
            new.append(joined)
        else:
            joined.join(p.resource, p.ods, now)
            changed.append(joined)
        announced[ParticipantAdded].append(added_item(joined))
    await uow.agenda.save_participants(new, changed)
    await uow.registrations.repoint(source.id, target.id)


async def _plan(item: ParticipantAssignedItem, uow):
    """Check everything before writing anything; raises RefusedInput with planning's reasons."""
    imported = await existing_action(uow, item.action_id, lock=True)
    if imported.status != "planned" or not imported.to_assign:
        raise RefusedInput([f"Le rendez-vous du {when(imported.starts_at)} n'est plus à affecter "
                            "(déjà affecté ou annulé)."])
    participants = await uow.agenda.participants(imported.id)
    if item.effect == "move":
        moved = await checked_action(draft_of(imported, advisor=item.advisor, to_assign=False), uow,
                                     action_id=imported.id)
        return imported, participants, replace(moved, participants=imported.participants, to_assign=False), None
    if item.effect == "join":
        target = await existing_action(uow, item.target_action_id or "", lock=True)
        if target.status != "planned" or target.advisor != item.advisor:
            raise RefusedInput([f"L'action choisie n'est plus dans l'agenda de « {item.advisor} »."])
        if target.free_places < len(participants):
            raise RefusedInput([f"Action du {when(target.starts_at)} complète : {target.participants} place(s) sur "
                                f"{target.max_participants} déjà prise(s)."])
        return imported, participants, None, target
    # Made by an event handler: the id comes from the assignment, so a replay creates the same action.
    created = await checked_action(draft_of(imported, advisor=item.advisor, site=item.site, to_assign=False), uow,
                                   action_id=derived_id("action", item.assignment_id))
    return imported, participants, None, created


async def apply_assignments(event: ParticipantAssigned, uow) -> None:
    """Each assignment in turn, against the agenda as the ones before it left it (a second assignment
    of one appointment finds it assigned and is refused)."""
    async with uow:
        announced = {kind: [] for kind in PHASES}
        for item in event.items:
            await _apply(item, uow, announced)
        for kind in PHASES:
            uow.emit_items(kind, announced[kind])
        await uow.commit()


async def _apply(item: ParticipantAssignedItem, uow, announced: dict) -> None:
    try:
        imported, participants, moved, target = await _plan(item, uow)
    except RefusedInput as exc:
        announced[AssignmentRefused].append(AssignmentRefusedItem(
            assignment_id=item.assignment_id, action_id=item.action_id, messages=tuple(exc.messages)))
        return
    if moved is not None:
        await uow.agenda.update(moved)
        announced[ActionChanged].append(action_item(moved))
        final, duplicate = moved.id, None
    else:
        if item.effect == "create":
            await uow.agenda.add(target)
            announced[ActionPlanned].append(action_item(target))
        await _move_participants(uow, imported, target, participants, announced)
        flagged = replace(imported, to_assign=False, duplicate_of=target.id, participants=0)
        await uow.agenda.update(flagged)
        announced[ActionChanged].append(action_item(flagged))
        final, duplicate = target.id, imported.id
    announced[AssignmentApplied].append(AssignmentAppliedItem(
        assignment_id=item.assignment_id, action_id=item.action_id, final_action_id=final,
        duplicate_action_id=duplicate))
