"""Affectation's reactions to events (its projections and worklist) and its commands (AFF-01..AFF-03).

Each event handler is written once over the event's items: it reads what they need together and
applies them in order, so that several items about one action end as they would one event at a time.
"""

from dataclasses import dataclass
from typing import Any

from contracts.affectation import ParticipantAssigned, ParticipantAssignedItem
from contracts.importer import BeneficiariesMerged, BeneficiaryCorrected, BeneficiaryPurged, BeneficiaryRegistered
from contracts.planning import (ActionCancelled, ActionChanged, ActionPlanned, AssignmentApplied, AssignmentRefused,
                                ParticipantAdded, ParticipantRemoved, ReferentialChanged)
from servicekit.clock import PARIS
from servicekit.errors import Conflict, NotFound, RefusedInput
from servicekit.merges import follow_merges
from servicekit.ids import new_uuid
from servicekit.versioned import snapshot_projection

from affectation.domain.candidates import AgendaIndex, Candidate, candidates, week_bounds
from affectation.domain.worklist import (Appointment, Assignment, entry_after_action, entry_after_applied,
                                         entry_after_cancellation, entry_after_refusal, entry_after_removal)


# Affectation's copy of sites, advisors (with their sites), ODS sites and ressources.
record_referential = snapshot_projection("referential")


async def record_actions(event: ActionPlanned | ActionChanged, uow) -> None:
    """Agendas' projection; an action the import created waits in the worklist until assigned."""
    async with uow:
        await uow.worklist.put_actions(event.items)
        await uow.worklist.load_entries(item.action_id for item in event.items)
        for item in event.items:
            if entry := entry_after_action(item.action_id, item.to_assign, uow.worklist.current(item.action_id)):
                uow.worklist.put_entry(entry)
        await uow.commit()


async def record_cancellations(event: ActionCancelled, uow) -> None:
    async with uow:
        ids = [item.action_id for item in event.items]
        await uow.worklist.cancel_actions(ids)
        await uow.worklist.load_entries(ids)
        for action_id in ids:
            if entry := entry_after_cancellation(uow.worklist.current(action_id)):
                uow.worklist.put_entry(entry)
        await uow.commit()


async def record_participants_added(event: ParticipantAdded, uow) -> None:
    async with uow:
        await uow.worklist.add_participants((item.action_id, item.beneficiary_id) for item in event.items)
        await uow.commit()


async def record_participants_removed(event: ParticipantRemoved, uow) -> None:
    """An appointment whose participants all left (not confirmed, unregistered) leaves the worklist.
    Participants only leave here, so checking once they are all gone ends as checking after each."""
    async with uow:
        await uow.worklist.remove_participants((item.action_id, item.beneficiary_id) for item in event.items)
        ids = list(dict.fromkeys(item.action_id for item in event.items))
        await uow.worklist.load_entries(ids)
        left = await uow.worklist.participants_of(ids)
        for action_id in ids:
            if entry := entry_after_removal(uow.worklist.current(action_id), len(left[action_id])):
                uow.worklist.put_entry(entry)
        await uow.commit()


async def record_beneficiaries(event: BeneficiaryRegistered | BeneficiaryCorrected, uow) -> None:
    """The sealed names of each record, as created, re-imported or corrected by staff (BEN-01)."""
    async with uow:
        await uow.worklist.put_beneficiaries((item.beneficiary_id, item.sealed) for item in event.items)
        await uow.commit()


async def forget_beneficiaries(event: BeneficiaryPurged, uow) -> None:
    async with uow:
        await uow.worklist.forget_beneficiaries(item.beneficiary_id for item in event.items)
        await uow.commit()
    await uow.scrub()


async def record_applied(event: AssignmentApplied, uow) -> None:
    async with uow:
        await uow.worklist.set_outcomes((item.assignment_id for item in event.items), "applied")
        await uow.worklist.load_entries(item.action_id for item in event.items)
        for item in event.items:
            uow.worklist.put_entry(entry_after_applied(item.action_id, item.assignment_id))
        await uow.commit()


async def record_refused(event: AssignmentRefused, uow) -> None:
    """Planning refused: the appointment comes back to the worklist with planning's reason (AFF-03)."""
    async with uow:
        await uow.worklist.set_outcomes((item.assignment_id for item in event.items), "refused")
        await uow.worklist.load_entries(item.action_id for item in event.items)
        for item in event.items:
            if entry := entry_after_refusal(uow.worklist.current(item.action_id), item.assignment_id, item.messages):
                uow.worklist.put_entry(entry)
        await uow.commit()


async def restore_assignments(event: ParticipantAssigned, uow) -> None:
    """The audit's replay (OPS-04): the assignments users made, read back from affectation's own
    events, stamped with the event's time (the command's own)."""
    async with uow:
        for item in event.items:
            await uow.worklist.claim(item.action_id, item.assignment_id)
            await uow.worklist.add_assignment(Assignment(
                id=item.assignment_id, action_id=item.action_id, advisor_code=item.advisor, category=item.category,
                effect=item.effect, target_action_id=item.target_action_id, site_code=item.site,
                assigned_by=item.assigned_by, assigned_at=uow.clock.now(), outcome="pending"))
        uow.emit_items(ParticipantAssigned, event.items)  # the aggregates' versions, as the command left them
        await uow.commit()


# What the service's commands decided, rebuilt by a replay from the service's own events.
RESTORERS = {ParticipantAssigned: restore_assignments}

EVENT_HANDLERS = {
    ReferentialChanged: record_referential,
    ActionPlanned: record_actions,
    ActionChanged: record_actions,
    ActionCancelled: record_cancellations,
    ParticipantAdded: record_participants_added,
    ParticipantRemoved: record_participants_removed,
    BeneficiaryRegistered: record_beneficiaries,
    BeneficiaryCorrected: record_beneficiaries,
    BeneficiaryPurged: forget_beneficiaries,
    BeneficiariesMerged: follow_merges,  # BEN-03: the merged record's rows move to the kept one
    AssignmentApplied: record_applied,
    AssignmentRefused: record_refused,
}


def _paris(moment):
    return moment and moment.astimezone(PARIS).isoformat()


async def _with_candidates(uow, resource: str | None = None, site: str | None = None,
                           only: str | None = None) -> list[tuple[Appointment, list[Candidate]]]:
    """Open and pending appointments (filtered) with their ranked candidates (AFF-02)."""
    listed = [a for a in await uow.worklist.open_entries()
              if (resource is None or a.resource == resource) and (site is None or a.slot.site == site)
              and (only is None or a.slot.id == only)]
    if not listed:
        return []
    advisors = await uow.worklist.advisors()
    first, _ = week_bounds(min(a.slot.starts_at for a in listed))
    _, last = week_bounds(max(a.slot.starts_at for a in listed))
    agenda = AgendaIndex(await uow.worklist.agenda(first, last))
    allowed = {key: await uow.worklist.allowed_sites(*key) for key in {(a.resource, a.slot.ods) for a in listed}}
    return [(a, candidates(a.slot, advisors, agenda, allowed[(a.resource, a.slot.ods)])) for a in listed]


async def worklist(uow, keys, resource: str | None = None, site: str | None = None,
                   only: str | None = None, with_names: bool = True) -> list[dict[str, Any]]:
    """AFF-01: appointments to assign with ressource, ODS, names, site, time and ranked candidates."""
    async with uow:
        listed = await _with_candidates(uow, resource, site, only)
        if not listed:
            return []
        resources, sites = await uow.worklist.resource_names(), await uow.worklist.site_names()
        people = await uow.worklist.participants_of([a.slot.id for a, _ in listed])
        sealed = await uow.worklist.sealed([b for ids in people.values() for b in ids]) if with_names else {}
    identities = await keys.unseal_all(sealed) if sealed else {}
    result = []
    for appointment, found in listed:
        slot, entry = appointment.slot, appointment.entry
        names = [{"beneficiary_id": b, "last_name": (identities.get(b) or {}).get("last_name"),
                  "first_name": (identities.get(b) or {}).get("first_name")} for b in people[slot.id]]
        result.append({
            "action_id": slot.id, "status": entry.status,
            "refusal": list(entry.refusal) if entry.refusal is not None else None,
            "resource": appointment.resource, "resource_name": resources.get(appointment.resource),
            "ods": slot.ods, "site": slot.site, "site_name": sites.get(slot.site), "mode": slot.mode,
            "starts_at": _paris(slot.starts_at), "beneficiaries": names,
            "candidates": [vars(c) | {"starts_at": _paris(c.starts_at)} for c in found],
        })
    return result


@dataclass(frozen=True)
class Assign:
    action_id: str
    advisor: str
    target_action_id: str | None = None
    site: str | None = None
    user: str = "inconnu"


TAKEN = "Ce rendez-vous vient d'être affecté par un autre utilisateur : actualisez la liste."


async def assign(cmd: Assign, uow, keys) -> dict[str, Any]:
    """AFF-03: choose one of the appointment's candidates; one user wins a race, assigning twice is a no-op."""
    async with uow:
        listed = await _with_candidates(uow, only=cmd.action_id)
    async with uow:
        entry = await uow.worklist.entry(cmd.action_id, lock=True)
        if entry and entry.status in ("pending", "assigned") and entry.assignment_id:
            previous = await uow.worklist.assignment(entry.assignment_id)
            if previous and previous.advisor_code == cmd.advisor and (
                    cmd.target_action_id in (None, previous.target_action_id)):
                return {"assignment_id": previous.id, "status": entry.status, "already": True}
            raise Conflict([TAKEN])
        if not listed or entry is None or entry.status != "open":
            raise NotFound([f"Rendez-vous « {cmd.action_id} » absent de la liste à affecter."])
        appointment, found = listed[0]
        options = [c for c in found if c.advisor == cmd.advisor
                   and cmd.target_action_id in (None, c.target_action_id) and cmd.site in (None, c.site)]
        if not options:
            raise RefusedInput([f"« {cmd.advisor} » n'est pas un candidat pour ce rendez-vous."])
        chosen = options[0]
        assignment_id = new_uuid()  # a user's command: the event carries it, a replay reads it there
        if not await uow.worklist.claim(cmd.action_id, assignment_id):
            raise Conflict([TAKEN])
        await uow.worklist.add_assignment(Assignment(
            id=assignment_id, action_id=cmd.action_id, advisor_code=cmd.advisor, category=chosen.category,
            effect=chosen.effect, target_action_id=chosen.target_action_id, site_code=chosen.site,
            assigned_by=cmd.user, assigned_at=uow.clock.now(), outcome="pending"))
        uow.emit_items(ParticipantAssigned, [ParticipantAssignedItem(
            assignment_id=assignment_id, action_id=cmd.action_id, advisor=cmd.advisor, category=chosen.category,
            effect=chosen.effect, target_action_id=chosen.target_action_id, site=chosen.site,
            starts_at=appointment.slot.starts_at.astimezone(PARIS), assigned_by=cmd.user)])
        await uow.commit()
    return {"assignment_id": assignment_id, "status": "pending", "category": chosen.category,
            "label": chosen.label, "effect": chosen.effect_text, "duplicate": chosen.category in (2, 4)}
