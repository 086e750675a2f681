"""Affectation's reactions to events (its projections and worklist) and its commands (AFF-01..AFF-03)."""

import uuid
from dataclasses import dataclass
from typing import Any

from contracts.affectation import ParticipantAssigned
from contracts.importer import BeneficiaryPurged, BeneficiaryRegistered
from contracts.planning import (ActionCancelled, ActionChanged, ActionPlanned, AssignmentApplied, AssignmentRefused,
                                ParticipantAdded, ParticipantRemoved, ReferentialChanged)
from servicekit.dispatch import Received, one_at_a_time, repeats
from servicekit.errors import Conflict, NotFound, RefusedInput
from servicekit.versioned import snapshot_projection

from affectation.domain.candidates import PARIS, AgendaIndex, candidates, week_bounds
from affectation.domain.worklist import entry_after_action


# Affectation's copy of sites, advisors (with their sites), ODS sites and ressources.
record_referential = snapshot_projection("referential")


async def record_action(event: ActionPlanned | ActionChanged, uow) -> None:
    """Agendas' projection; an action the import created waits in the worklist until assigned."""
    async with uow:
        await uow.worklist.put_action(event.action)
        change = entry_after_action(event.action.to_assign, await uow.worklist.entry(event.action.action_id))
        if change:
            await uow.worklist.set_entry(event.action.action_id, *change)
        await uow.commit()


async def record_actions(received: list[Received], uow) -> None:
    """``record_action`` for a batch: the actions upserted together, the worklist entries read in one
    query, then one bulk insert of new entries and one executemany of changed ones."""
    async with uow:
        actions = [item.event.action for item in received]
        if repeats(received, lambda e: e.action.action_id):
            await one_at_a_time(received, record_action, uow)
            return
        await uow.worklist.put_actions(actions)
        entries = await uow.worklist.entries([a.action_id for a in actions])
        new, changed = [], []
        for action in actions:
            change = entry_after_action(action.to_assign, entries.get(action.action_id))
            if change:
                status, assignment_id = change
                (changed if action.action_id in entries else new).append({
                    "action_id": action.action_id, "status": status, "assignment_id": assignment_id,
                    "refusal": None})
        await uow.worklist.add_entries(new)
        await uow.worklist.update_entries(changed)
        await uow.commit()


async def record_cancellation(event: ActionCancelled, uow) -> None:
    async with uow:
        await uow.worklist.cancel_action(event.action_id)
        if await uow.worklist.entry(event.action_id):
            await uow.worklist.set_entry(event.action_id, "closed")
        await uow.commit()


async def record_participant_added(event: ParticipantAdded, uow) -> None:
    async with uow:
        await uow.worklist.add_participant(event.action_id, event.beneficiary_id)
        await uow.commit()


async def record_participants_added(received: list[Received], uow) -> None:
    """``record_participant_added`` for a batch: one lookup of the pairs, one bulk insert."""
    async with uow:
        pairs = [(item.event.action_id, item.event.beneficiary_id) for item in received]
        if repeats(received, lambda e: (e.action_id, e.beneficiary_id)):
            await one_at_a_time(received, record_participant_added, uow)
            return
        await uow.worklist.add_participants(pairs)
        await uow.commit()


async def record_participant_removed(event: ParticipantRemoved, uow) -> None:
    """An appointment whose participant left (not confirmed, unregistered) leaves the worklist."""
    async with uow:
        await uow.worklist.remove_participant(event.action_id, event.beneficiary_id)
        entry = await uow.worklist.entry(event.action_id)
        if entry and entry["status"] == "open" and not await uow.worklist.participants(event.action_id):
            await uow.worklist.set_entry(event.action_id, "closed")
        await uow.commit()


async def record_beneficiary(event: BeneficiaryRegistered, uow) -> None:
    async with uow:
        await uow.worklist.put_beneficiary(event.beneficiary_id, event.sealed)
        await uow.commit()


async def record_beneficiaries(received: list[Received], uow) -> None:
    """``record_beneficiary`` for a batch: one lookup, one executemany update, one bulk insert."""
    async with uow:
        if repeats(received, lambda e: e.beneficiary_id):
            await one_at_a_time(received, record_beneficiary, uow)
            return
        await uow.worklist.put_beneficiaries({item.event.beneficiary_id: item.event.sealed for item in received})
        await uow.commit()


async def forget_beneficiary(event: BeneficiaryPurged, uow) -> None:
    async with uow:
        await uow.worklist.forget_beneficiary(event.beneficiary_id)
        await uow.commit()


async def record_applied(event: AssignmentApplied, uow) -> None:
    async with uow:
        await uow.worklist.set_outcome(event.assignment_id, "applied")
        await uow.worklist.set_entry(event.action_id, "assigned", event.assignment_id)
        await uow.commit()


async def record_refused(event: AssignmentRefused, uow) -> None:
    """Planning refused: the appointment comes back to the worklist with planning's reason (AFF-03)."""
    async with uow:
        await uow.worklist.set_outcome(event.assignment_id, "refused")
        entry = await uow.worklist.entry(event.action_id)
        if entry and entry["assignment_id"] == event.assignment_id:
            await uow.worklist.set_entry(event.action_id, "open", None, list(event.messages))
        await uow.commit()


EVENT_HANDLERS = {
    ReferentialChanged: record_referential,
    ActionPlanned: record_action,
    ActionChanged: record_action,
    ActionCancelled: record_cancellation,
    ParticipantAdded: record_participant_added,
    ParticipantRemoved: record_participant_removed,
    BeneficiaryRegistered: record_beneficiary,
    BeneficiaryPurged: forget_beneficiary,
    AssignmentApplied: record_applied,
    AssignmentRefused: record_refused,
}


# Batch versions (servicekit.dispatch.BatchHandler) of the handlers above for the events an import
# produces per row: the same rows, in a few statements per batch.
BATCH_HANDLERS = {
    ActionPlanned: record_actions,
    ActionChanged: record_actions,
    ParticipantAdded: record_participants_added,
    BeneficiaryRegistered: record_beneficiaries,
}


async def worklist(uow, keys, resource: str | None = None, site: str | None = None,
                   only: str | None = None, with_names: bool = True) -> list[dict[str, Any]]:
    """AFF-01: appointments to assign with ressource, ODS, names, site, time and ranked candidates."""
    async with uow:
        entries = [(s, e) for s, e in await uow.worklist.open_entries()
                   if (resource is None or e["resource"] == resource) and (site is None or s.site == site)
                   and (only is None or s.id == only)]
        if not entries:
            return []
        advisors = await uow.worklist.advisors()
        first, _ = week_bounds(min(s.starts_at for s, _ in entries))
        _, last = week_bounds(max(s.starts_at for s, _ in entries))
        agenda = AgendaIndex(await uow.worklist.agenda(first, last))
        resources, sites = await uow.worklist.resource_names(), await uow.worklist.site_names()
        people = await uow.worklist.participants_of([s.id for s, _ in entries])
        sealed = await uow.worklist.sealed([b for ids in people.values() for b in ids]) if with_names else {}
        allowed = {key: await uow.worklist.allowed_sites(*key) for key in {(e["resource"], s.ods) for s, e in entries}}
    identities = await keys.unseal_many(sealed) if sealed else {}
    result = []
    for slot, entry in entries:
        names = [{"beneficiary_id": b, "last_name": (identities.get(b) or {}).get("last_name"),
                  "first_name": (identities.get(b) or {}).get("first_name")} for b in people[slot.id]]
        result.append({
            "action_id": slot.id, "status": entry["status"], "refusal": entry["refusal"],
            "resource": entry["resource"], "resource_name": resources.get(entry["resource"], {}).get("name"),
            "ods": slot.ods, "site": slot.site, "site_name": sites.get(slot.site), "mode": slot.mode,
            "starts_at": slot.starts_at.astimezone(PARIS).isoformat(), "beneficiaries": names,
            "candidates": [vars(c) | {"starts_at": c.starts_at and c.starts_at.astimezone(PARIS).isoformat()}
                           for c in candidates(slot, advisors, agenda, allowed[(entry["resource"], slot.ods)])],
        })
    return result


@dataclass(frozen=True)
class Assign:
    action_id: str
    advisor: str
    target_action_id: str | None = None
    site: str | None = None
    user: str = "inconnu"


async def assign(cmd: Assign, uow, keys) -> dict[str, Any]:
    """AFF-03: choose one of the appointment's candidates; one user wins a race, assigning twice is a no-op."""
    entries = {e["action_id"]: e for e in await worklist(uow, keys, only=cmd.action_id, with_names=False)}
    async with uow:
        entry = await uow.worklist.entry(cmd.action_id, lock=True)
        if entry and entry["status"] in ("pending", "assigned") and entry["assignment_id"]:
            previous = await uow.worklist.assignment(entry["assignment_id"])
            if previous and previous["advisor_code"] == cmd.advisor and (
                    cmd.target_action_id in (None, previous["target_action_id"])):
                return {"assignment_id": previous["id"], "status": entry["status"], "already": True}
            raise Conflict(["Ce rendez-vous vient d'être affecté par un autre utilisateur : actualisez la liste."])
        if cmd.action_id not in entries or entry is None or entry["status"] != "open":
            raise NotFound([f"Rendez-vous « {cmd.action_id} » absent de la liste à affecter."])
        options = [c for c in entries[cmd.action_id]["candidates"] if c["advisor"] == cmd.advisor
                   and cmd.target_action_id in (None, c["target_action_id"]) and cmd.site in (None, c["site"])]
        if not options:
            raise RefusedInput([f"« {cmd.advisor} » n'est pas un candidat pour ce rendez-vous."])
        chosen = options[0]
        assignment_id = str(uuid.uuid4())
        if not await uow.worklist.claim(cmd.action_id, assignment_id):
            raise Conflict(["Ce rendez-vous vient d'être affecté par un autre utilisateur : actualisez la liste."])
        starts_at = entries[cmd.action_id]["starts_at"]
        await uow.worklist.add_assignment(
            id=assignment_id, action_id=cmd.action_id, advisor_code=cmd.advisor, category=chosen["category"],
            effect=chosen["effect"], target_action_id=chosen["target_action_id"], site_code=chosen["site"],
            assigned_by=cmd.user, assigned_at=uow.clock.now(), outcome="pending")
        uow.emit(ParticipantAssigned(
            assignment_id=assignment_id, action_id=cmd.action_id, advisor=cmd.advisor, category=chosen["category"],
            effect=chosen["effect"], target_action_id=chosen["target_action_id"], site=chosen["site"],
            starts_at=starts_at, assigned_by=cmd.user), key=cmd.action_id)
        await uow.commit()
    return {"assignment_id": assignment_id, "status": "pending", "category": chosen["category"],
            "label": chosen["label"], "effect": chosen["effect_text"],
            "duplicate": chosen["category"] in (2, 4)}
