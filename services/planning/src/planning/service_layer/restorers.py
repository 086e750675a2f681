"""An audit replay's restorers (OPS-04): planning's state decided by its own commands, rebuilt from
planning's own events, one handler per event type writing the rows the command wrote (ids and times
from the event). Advisors' e-mails never travel in an event (staff's personal data): a restored
referential has none, and the bootstrap leaves that column (and the snapshot holding them) out of the
digest with its reason."""

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from contracts.planning import (ActionCancelled, ActionChanged, ActionPlanned, DeliverablesGenerated,
                                JourneyDatesChanged, JourneyFormChanged, ODSClosed, ODSReopened, ParticipantAdded,
                                ParticipantRemoved, PresenceValidated, ReferentialChanged)
from servicekit.dispatch import Handler

from planning.domain import journeys as rules
from planning.domain.agenda import Action, Participant, steps_digest
from planning.domain.journeys import Enrolment, Form
from planning.domain.referential import (Advisor, Antenne, Ods, Referential, Resource, Site, Step, Structure)
from planning.service_layer import agenda, journeys


def _referential(event: ReferentialChanged) -> Referential:
    return Referential(
        version=event.version,
        structure=Structure(**event.structure.model_dump()) if event.structure else None,
        antennes={a.code: Antenne(**a.model_dump()) for a in event.antennes},
        sites={s.code: Site(**s.model_dump()) for s in event.sites},
        advisors={a.code: Advisor(**a.model_dump()) for a in event.advisors},
        ods={o.code: Ods(**o.model_dump(exclude={"steps"}, exclude_none=True),
                         steps=tuple(Step(**st.model_dump()) for st in o.steps)) for o in event.ods},
        resources={r.code: Resource(**r.model_dump(exclude={"ods"}), ods=(r.ods,)) for r in event.resources},
    )


async def restore_referential(event: ReferentialChanged, uow) -> None:
    """The referential at the event's version, stamped with the event's time and digest (REF-05)."""
    async with uow:
        await uow.referential.save(_referential(event), uow.clock.now(), event.digest)
        await uow.commit()


def _action(item, ref: Referential) -> Action:
    """An action as the check made it: what it stamped from the referential (the ressource's setting
    version, the ODS's étapes: PLN-06) is read from the referential restored at that point of the log."""
    return Action(item.action_id, item.advisor, item.action_type, item.ods, item.step, item.resource, item.mode,
                  item.site, item.starts_at, item.ends_at, item.nature, item.max_participants, to_assign=item.to_assign,
                  resource_version=ref.resources[item.resource].setting_version if item.resource in ref.resources
                  else None, steps_digest=steps_digest(ref, item.ods))


async def restore_actions(event: ActionPlanned, uow) -> None:
    """Actions planned or duplicated by hand (PLN-01, PLN-04)."""
    async with uow:
        ref = await uow.referential.get()
        await uow.agenda.add(*(_action(item, ref) for item in event.items))
        uow.emit_items(ActionPlanned, event.items)
        await uow.commit()


async def restore_changes(event: ActionChanged, uow) -> None:
    """Actions changed by hand (PLN-02), re-checked then against the referential, and what each change
    changed for the participants' timelines (PRC-09)."""
    async with uow:
        ref = await uow.referential.get()
        for item in event.items:
            current = await uow.agenda.get(item.action_id)
            action = replace(_action(item, ref), status=current.status)
            await uow.agenda.update(action)
            await uow.views.record_action_change(action.id, uow.clock.now(), agenda.changed_fields(current, action))
        uow.emit_items(ActionChanged, event.items)
        await uow.commit()


async def restore_cancellations(event: ActionCancelled, uow) -> None:
    """Actions cancelled by hand, with the reason (their participants left by the ParticipantRemoved before)."""
    async with uow:
        for item in event.items:
            action = await uow.agenda.get(item.action_id)
            await uow.agenda.update(replace(action, status="cancelled"), cancel_reason=item.reason)
        uow.emit_items(ActionCancelled, event.items)
        await uow.commit()


async def restore_participants(event: ParticipantAdded, uow) -> None:
    """Participants added by hand (PLN-05), or back in an action they had left."""
    async with uow:
        new, changed = [], []
        for item in event.items:
            current = await uow.agenda.participant(item.action_id, item.beneficiary_id)
            if current is None:
                new.append(Participant(item.action_id, item.beneficiary_id, item.resource, item.ods, uow.clock.now()))
            else:
                current.join(item.resource, item.ods, uow.clock.now())
                changed.append(current)
        await uow.agenda.save_participants(new=new, changed=changed)
        uow.emit_items(ParticipantAdded, event.items)
        await uow.commit()


async def restore_removals(event: ParticipantRemoved, uow) -> None:
    """Participants removed by hand or by a cancellation (PRC-08): the row stays, with the reason."""
    async with uow:
        changed = []
        for item in event.items:
            current = await uow.agenda.participant(item.action_id, item.beneficiary_id)
            if current is not None:  # as for presences: a version-1 log may name an action the copy lacks
                current.leave(uow.clock.now(), item.reason)
                changed.append(current)
        await uow.agenda.save_participants(changed=changed)
        uow.emit_items(ParticipantRemoved, event.items)
        await uow.commit()


async def restore_presences(event: PresenceValidated, uow) -> None:
    """PLN-08's presences, as validated. A participation the copy lacks is left out, not refused: a log
    written before handlers derived their ids from events (version 1) names actions a replay cannot
    recreate; the digest then names ``participants`` as differing."""
    async with uow:
        changed = []
        for item in event.items:
            participant = await uow.agenda.participant(item.action_id, item.beneficiary_id)
            if participant is not None:
                participant.presence = item.presence
                changed.append(participant)
        await uow.agenda.save_participants(changed=changed)
        uow.emit_items(PresenceValidated, event.items)
        await uow.commit()


def _journey_restorer(apply: Callable[[Enrolment, Any], tuple[str, dict[str, Any]]]) -> Handler:
    """A restorer of journey events: ``apply`` changes each item's enrolment as the command did and
    returns its timeline line (kind, detail), stamped with the event's time."""

    async def restore(event, uow) -> None:
        async with uow:
            found = await uow.enrolments.find({item.enrolment_id for item in event.items})
            lines = [(found[item.enrolment_id], uow.clock.now(), *apply(found[item.enrolment_id], item))
                     for item in event.items]
            await uow.enrolments.save(changed=found.values())
            await uow.enrolments.record_many(lines)
            uow.emit_items(type(event), event.items)
            await uow.commit()

    return restore


def _form(e: Enrolment, item) -> tuple[str, dict[str, Any]]:
    """PRC-02's saves: the form as the item states it whole."""
    e.form = Form(**item.model_dump(include=set(Form().values())))
    e.form_started, e.awaiting_correction = True, False
    return "form", {"changed": list(item.changed_fields), "situation": item.situation}


def _dates(e: Enrolment, item) -> tuple[str, dict[str, Any]]:
    """PRC-01's dates set by hand."""
    journeys.set_dates(e, item.start_on, item.end_on)
    return "dates", {"start_on": item.start_on.isoformat(), "end_on": item.end_on.isoformat()}


def _closing(e: Enrolment, item) -> tuple[str, dict[str, Any]]:
    """PRC-07's closings (on a save, or by the daily run): the item's closing, day and outcome."""
    e.status, e.closings, e.closed_on, e.outcome = "closed", item.closing, item.closed_on, item.outcome
    return "closed", {"closing": e.closings, "outcome": e.outcome}


def _reopening(e: Enrolment, item) -> tuple[str, dict[str, Any]]:
    """PRC-10's réouvertures, with their reasons."""
    rules.reopen(e)
    return "reopened", {"closing": item.closing, "reason": item.reason}


async def restore_deliverables(event: DeliverablesGenerated, uow) -> None:
    """PRC-06's documents as kept, without their content: the PDF names the person and never travels in
    an event (the bootstrap leaves ``deliverables.content`` out of the digest; its SHA-256 and size are
    compared)."""
    async with uow:
        await uow.views.add_deliverables([{"id": item.deliverable_id, "content": b"",
                                           **item.model_dump(exclude={"deliverable_id"})} for item in event.items])
        uow.emit_items(DeliverablesGenerated, event.items)
        await uow.commit()


RESTORERS = {ReferentialChanged: restore_referential, ActionPlanned: restore_actions, ActionChanged: restore_changes,
             ActionCancelled: restore_cancellations, ParticipantAdded: restore_participants,
             ParticipantRemoved: restore_removals,
             PresenceValidated: restore_presences, JourneyFormChanged: _journey_restorer(_form),
             JourneyDatesChanged: _journey_restorer(_dates), DeliverablesGenerated: restore_deliverables,
             ODSClosed: _journey_restorer(_closing), ODSReopened: _journey_restorer(_reopening)}
