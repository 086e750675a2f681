"""Agenda commands (PLN-01..PLN-08): plain async functions over the unit of work."""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from contracts.planning import (ActionCancelled, ActionCancelledItem, ActionChanged, ActionFields, ActionItem,
                                ActionPlanned, ParticipantAdded, ParticipantAddedItem, ParticipantRemoved,
                                ParticipantRemovedItem, PresenceValidated, PresenceValidatedItem)
from servicekit.clock import PARIS
from servicekit.errors import Conflict, NotFound, RefusedInput

from planning.adapters.exports import PlanningSlot
from planning.domain.agenda import (Action, ActionDraft, Bookings, Participant, Presence, as_aware, check_action,
                                    draft_of, duplicate_starts, paris, red_reasons, table_period_problems, when)


def _fields(action: Action) -> dict[str, Any]:
    return {"action_id": action.id, "advisor": action.advisor, "action_type": action.action_type, "ods": action.ods,
            "step": action.step, "resource": action.resource, "mode": action.mode, "site": action.site,
            "starts_at": action.starts_at.astimezone(UTC), "ends_at": action.ends_at.astimezone(UTC),
            "nature": action.nature, "max_participants": action.max_participants, "to_assign": action.to_assign}


ACTION_CANCELLED = "Action annulée"


def action_fields(action: Action) -> ActionFields:
    """The action as other services and users see it."""
    return ActionFields(**_fields(action))


def action_item(action: Action) -> ActionItem:
    """The action as an item of ``ActionPlanned`` or ``ActionChanged``."""
    return ActionItem(**_fields(action))


def added_item(p: Participant) -> ParticipantAddedItem:
    return ParticipantAddedItem(action_id=p.action_id, beneficiary_id=p.beneficiary_id, resource=p.resource, ods=p.ods)


def removed_item(p: Participant) -> ParticipantRemovedItem:
    return ParticipantRemovedItem(action_id=p.action_id, beneficiary_id=p.beneficiary_id, reason=p.removal_reason)


async def checked_action(draft: ActionDraft, uow, action_id: str | None = None) -> Action:
    ref = await uow.referential.get()
    busy = []
    if draft.advisor:
        await uow.agenda.lock_advisor(draft.advisor)
        busy = await uow.agenda.advisor_actions(draft.advisor, as_aware(draft.starts_at), as_aware(draft.ends_at))
    checked = check_action(draft, ref, busy, action_id)
    if checked.problems:
        raise RefusedInput(checked.problems)
    return checked.action


async def existing_action(uow, action_id: str, lock: bool = False) -> Action:
    action = await uow.agenda.get(action_id, lock=lock)
    if action is None:
        raise NotFound([f"Action « {action_id} » introuvable."])
    return action


async def plan_action(draft: ActionDraft, uow) -> Action:
    async with uow:
        action = await checked_action(draft, uow)
        await uow.agenda.add(action)
        uow.emit_items(ActionPlanned, [action_item(action)])
        await uow.commit()
        return action


@dataclass(frozen=True)
class ChangeAction:
    action_id: str
    changes: dict[str, Any] = field(default_factory=dict)


async def change_action(cmd: ChangeAction, uow) -> Action:
    """Re-check the whole action with the changes against today's referential; this also clears a red
    flag (PLN-06) by recording the current ressource and étapes."""
    async with uow:
        current = await existing_action(uow, cmd.action_id, lock=True)
        if current.status == "cancelled":
            raise RefusedInput([f"Action du {when(current.starts_at)} annulée : elle ne se modifie plus."])
        action = await checked_action(draft_of(current, **cmd.changes), uow, action_id=current.id)
        action.participants = current.participants
        if action.max_participants < current.participants:
            raise RefusedInput([f"Nombre maximum de participants {action.max_participants} : "
                                f"{current.participants} participants sont déjà inscrits."])
        await uow.agenda.update(action)
        await uow.views.record_action_change(action.id, uow.clock.now(), changed_fields(current, action))
        uow.emit_items(ActionChanged, [action_item(action)])
        await uow.commit()
        return action


def changed_fields(before: Action, after: Action) -> dict[str, Any]:
    """What a change changed, as it was and as it is (for the participants' timelines, PRC-09)."""
    fields = ("advisor", "starts_at", "ends_at", "site", "mode", "resource", "max_participants")
    return {name: [_plain(getattr(before, name)), _plain(getattr(after, name))] for name in fields
            if getattr(before, name) != getattr(after, name)}


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


async def cancel_action(action_id: str, reason: str | None, uow) -> Action:
    async with uow:
        action = await existing_action(uow, action_id, lock=True)
        if action.status == "cancelled":
            return action
        leaving = await uow.agenda.participants(action_id)
        for p in leaving:
            p.leave(uow.clock.now(), ACTION_CANCELLED)
        await uow.agenda.remove_participants(action_id, uow.clock.now(), ACTION_CANCELLED)
        uow.emit_items(ParticipantRemoved, [removed_item(p) for p in leaving])
        action.status, action.participants = "cancelled", 0
        await uow.agenda.update(action, cancel_reason=reason)
        uow.emit_items(ActionCancelled, [ActionCancelledItem(action_id=action_id, reason=reason)])
        await uow.commit()
        return action


@dataclass
class Duplication:
    created: list[Action] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)  # {"starts_at", "messages"} of each refused copy


async def duplicate_action(action_id: str, starts: list[datetime], uow) -> Duplication:
    """Duplication sans liaison (PLN-04): independent copies, each checked alone (against the agenda and
    the copies before it); one bad copy does not stop the others. The whole series is one command:
    one transaction, the copies written together and announced by one ``ActionPlanned``."""
    result = Duplication()
    async with uow:
        original = await existing_action(uow, action_id)
        series = duplicate_starts(original, starts)
        if not series:
            return result
        ref = await uow.referential.get()
        bookings = Bookings()
        if original.advisor:
            await uow.agenda.lock_advisor(original.advisor)
            bookings = Bookings(await uow.agenda.advisor_actions(
                original.advisor, min(s for s, _ in series), max(e for _, e in series)))
        for starts_at, ends_at in series:
            draft = draft_of(original, starts_at=starts_at, ends_at=ends_at, to_assign=False)
            checked = check_action(draft, ref, bookings.around(starts_at, ends_at))
            if checked.problems:
                result.refused.append({"starts_at": starts_at.isoformat(), "messages": checked.problems})
                continue
            bookings.add(checked.action)
            result.created.append(checked.action)
        if result.created:
            await uow.agenda.add(*result.created)
            uow.emit_items(ActionPlanned, [action_item(a) for a in result.created])
            await uow.commit()
    return result


@dataclass(frozen=True)
class AddParticipant:
    action_id: str
    beneficiary_id: str
    resource: str | None = None
    ods: str | None = None


async def add_participant(cmd: AddParticipant, uow) -> dict[str, Any]:
    """Join an action within its capacity (the action's row is locked); by default the participant is
    imputed the action's ressource and ODS, or another ODS whose étapes include the action's (PLN-05)."""
    async with uow:
        action = await existing_action(uow, cmd.action_id, lock=True)
        current = await uow.agenda.participant(action.id, cmd.beneficiary_id)
        if current and current.active:
            return {"added": False, "free_places": action.free_places}
        if action.status == "cancelled":
            raise RefusedInput([f"Action du {when(action.starts_at)} annulée."])
        if action.participants >= action.max_participants:
            raise Conflict([f"Action du {when(action.starts_at)} complète : {action.participants} place(s) "
                                f"sur {action.max_participants} déjà prise(s)."])
        ref = await uow.referential.get()
        problems = []
        resource, ods = cmd.resource or action.resource, cmd.ods or action.ods
        if cmd.resource and cmd.resource not in ref.resources:
            problems.append(f"Ressource « {cmd.resource} » inconnue.")
        if cmd.ods:
            target = ref.ods.get(cmd.ods)
            if target is None:
                problems.append(f"ODS « {cmd.ods} » inconnue.")
            elif not any(s.action_type == action.action_type for s in target.steps):
                problems.append(f"L'ODS « {target.name} » n'a pas d'étape « {action.action_type} » : "
                                "le participant ne peut pas lui être imputé pour cette action.")
        if problems:
            raise RefusedInput(problems)
        if current:
            current.join(resource, ods, uow.clock.now())
            await uow.agenda.save_participants(changed=[current])
        else:
            current = Participant(action.id, cmd.beneficiary_id, resource, ods, uow.clock.now())
            await uow.agenda.save_participants(new=[current])
        uow.emit_items(ParticipantAdded, [added_item(current)])
        await uow.commit()
        return {"added": True, "free_places": action.free_places - 1}


async def remove_participant(action_id: str, beneficiary_id: str, reason: str | None, uow) -> dict[str, Any]:
    """PRC-08: recorded (not deleted) and announced, so the virtual office stops showing it."""
    async with uow:
        await existing_action(uow, action_id, lock=True)
        current = await uow.agenda.participant(action_id, beneficiary_id)
        if current is None or not current.active:
            return {"removed": False}
        current.leave(uow.clock.now(), reason)
        await uow.agenda.save_participants(changed=[current])
        uow.emit_items(ParticipantRemoved, [removed_item(current)])
        await uow.commit()
        return {"removed": True}


async def validate_presence(action_id: str, beneficiary_id: str, presence: Presence, uow) -> dict[str, Any]:
    """PLN-08: only for an action that has ended, only for a current participant."""
    async with uow:
        action = await existing_action(uow, action_id)
        if action.ends_at > uow.clock.now():
            raise RefusedInput([f"Action du {when(action.starts_at)} pas encore terminée : la présence se valide "
                                "après l'action."])
        current = await uow.agenda.participant(action_id, beneficiary_id)
        if current is None or not current.active:
            raise NotFound([f"Ce bénéficiaire ne participe pas à l'action du {when(action.starts_at)}."])
        if current.presence == presence:
            return {"changed": False}
        current.presence = presence
        await uow.agenda.save_participants(changed=[current])
        uow.emit_items(PresenceValidated, [PresenceValidatedItem(
            action_id=action_id, beneficiary_id=beneficiary_id, presence=presence, action_starts_at=action.starts_at)])
        await uow.commit()
        return {"changed": True}


def day_bounds(first_day: date, last_day: date) -> tuple[datetime, datetime]:
    start = datetime(first_day.year, first_day.month, first_day.day, tzinfo=PARIS)
    end_day = last_day + timedelta(days=1)
    return start, datetime(end_day.year, end_day.month, end_day.day, tzinfo=PARIS)


async def flagged_actions(uow, after: datetime | None = None) -> list[dict[str, Any]]:
    """Future actions planned under settings that have changed since (PLN-06), with the reasons."""
    async with uow:
        ref = await uow.referential.get()
        actions = await uow.agenda.search(starts_from=after or uow.clock.now())
    return [{"action": action_fields(a).model_dump(mode="json"), "reasons": reasons}
            for a in actions if (reasons := red_reasons(a, ref))]


@dataclass(frozen=True)
class PlanningTableQuery:
    first_day: date
    last_day: date
    resource: str | None = None
    site: str | None = None
    advisor: str | None = None


async def planning_table(query: PlanningTableQuery, uow) -> dict[str, Any]:
    """PLN-07: étape-1 actions of the Activ'Créa ODS over at most 31 days, grouped by site."""
    problems = table_period_problems(query.first_day, query.last_day)
    if problems:
        raise RefusedInput(problems)
    start, end = day_bounds(query.first_day, query.last_day)
    async with uow:
        ref = await uow.referential.get()
        special = [o.code for o in ref.ods.values() if o.special_service]
        actions = await uow.agenda.search(
            starts_from=start, starts_before=end, step=1, ods=special, resource=query.resource,
            sites=[query.site] if query.site else [], advisors=[query.advisor] if query.advisor else [])
    sites = []
    for site_code in sorted({a.site for a in actions}, key=lambda c: (ref.sites[c].name, c)):
        site = ref.sites[site_code]
        sites.append({
            "site": site.code, "name": site.name, "remote": site.remote,
            "ft_address": site.france_travail_addresses[0] if site.france_travail_addresses else "",
            "actions": [{
                "action_id": a.id, "advisor": a.advisor,
                "advisor_name": ref.advisors[a.advisor].name if a.advisor in ref.advisors else None,
                "resource": a.resource, "market_number": ref.resources[a.resource].market_number,
                "lot_number": ref.resources[a.resource].lot_number, "mode": a.mode,
                "starts_at": paris(a.starts_at).isoformat(), "ends_at": paris(a.ends_at).isoformat(),
                "capacity": a.max_participants, "participants": a.participants, "free_places": a.free_places,
            } for a in actions if a.site == site_code],
        })
    return {"from": query.first_day.isoformat(), "to": query.last_day.isoformat(), "sites": sites}


async def planning_slots(query: PlanningTableQuery, uow) -> list[PlanningSlot]:
    """The planning table as rows for the two PLN-07 exports."""
    table = await planning_table(query, uow)
    return [PlanningSlot(site_code=group["site"], site_name=group["name"], ft_address=group["ft_address"],
                         remote=group["remote"], market_number=a["market_number"], lot_number=a["lot_number"],
                         starts_at=datetime.fromisoformat(a["starts_at"]), ends_at=datetime.fromisoformat(a["ends_at"]),
                         advisor_name=a["advisor_name"], free_places=a["free_places"], capacity=a["capacity"])
            for group in table["sites"] for a in group["actions"]]
