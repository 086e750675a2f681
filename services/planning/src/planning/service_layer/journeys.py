"""Journey commands (PRC-01..PRC-03, PRC-07, PRC-10, PRC-11): plain async functions over the unit of work.

Enrolments open when their first registration joins an action (``open_enrolments``, called by
``registrations.attach_registrations`` in its transaction). A closed enrolment is read-only; closing
happens on the form's save and in the daily run, exactly once per closing (the row is locked).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from contracts.importer import ParticipantConfirmed, RegistrationRecordedItem
from contracts.planning import (EnrolmentOpened, EnrolmentOpenedItem, JourneyDatesChanged,
                                JourneyDatesChangedItem, JourneyFormChanged, JourneyFormChangedItem, ODSClosed,
                                ODSClosedItem, ODSReopened, ODSReopenedItem)
from servicekit.errors import Conflict, NotFound, RefusedInput

from planning.domain import journeys as rules
from planning.domain.agenda import Action, paris
from planning.domain.journeys import Enrolment, Form, JourneyAction, local_day


def today(uow) -> date:
    return local_day(uow.clock.now())


def opened_item(e: Enrolment) -> EnrolmentOpenedItem:
    return EnrolmentOpenedItem(enrolment_id=e.id, beneficiary_id=e.beneficiary_id, ods=e.ods, resource=e.resource,
                               site=e.site, start_on=e.start_on, end_on=e.end_on, order_number=e.form.order_number)


def closed_item(e: Enrolment) -> ODSClosedItem:
    ended = rules.outcome(e.form)
    return ODSClosedItem(enrolment_id=e.id, closing=e.closings, beneficiary_id=e.beneficiary_id, ods=e.ods,
                         resource=e.resource, site=e.site, ods_start=e.start_on, ods_end=e.end_on,
                         order_number=e.form.order_number, outcome=e.outcome, outcome_date=ended[1],
                         closed_on=e.closed_on)


def form_item(e: Enrolment, changed: Iterable[str]) -> JourneyFormChangedItem:
    return JourneyFormChangedItem(enrolment_id=e.id, beneficiary_id=e.beneficiary_id, changed_fields=tuple(changed),
                                  situation=e.situation, **e.form.values())


def _json(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}


async def open_enrolments(uow, attached: list[tuple[RegistrationRecordedItem, Action]]) -> None:
    """PRC-01, PRC-11: the first registration attached opens its enrolment, starting on the day of its
    action and ending the ODS's duration later, with the order part of the import. A moved appointment
    moves the dates nobody typed; the import fills the order fields still empty of an open enrolment."""
    if not attached:
        return
    known = await uow.enrolments.find({item.enrolment_id for item, _ in attached})
    ref, now = await uow.referential.get(), uow.clock.now()
    new: dict[str, Enrolment] = {}
    changed: dict[str, Enrolment] = {}
    lines = []
    for item, action in attached:
        ods = ref.ods.get(item.ods)
        enrolment = new.get(item.enrolment_id) or known.get(item.enrolment_id)
        if enrolment is None:
            start, end = rules.default_dates(ods, local_day(action.starts_at))
            enrolment = new[item.enrolment_id] = Enrolment(
                id=item.enrolment_id, beneficiary_id=item.beneficiary_id, ods=item.ods, resource=item.resource,
                site=item.site, opened_at=now, start_on=start, end_on=end,
                form=Form(order_number=item.order_number, prescriber=item.prescriber, agency_code=item.agency_code))
            lines.append((enrolment, now, "opened", {"start_on": start.isoformat(), "end_on": end.isoformat()}))
            continue
        if enrolment.closed:
            continue
        before = (enrolment.start_on, enrolment.end_on, enrolment.site, enrolment.form.values())
        if item.moved_from is not None:
            enrolment.site = item.site
            if not enrolment.start_edited:
                enrolment.start_on = local_day(action.starts_at)
            if not enrolment.end_edited:
                enrolment.end_on = rules.theoretical_end(ods, enrolment.start_on)
        for name in ("order_number", "prescriber", "agency_code"):
            if getattr(enrolment.form, name) is None and getattr(item, name):
                setattr(enrolment.form, name, getattr(item, name))
        if before != (enrolment.start_on, enrolment.end_on, enrolment.site, enrolment.form.values()) \
                and enrolment.id not in new:
            changed[enrolment.id] = enrolment
    await uow.enrolments.save(new.values(), changed.values())
    await uow.enrolments.record_many(lines)
    uow.emit_items(EnrolmentOpened, [opened_item(e) for e in new.values()])


async def note_order_numbers(event: ParticipantConfirmed, uow) -> None:
    """The J-2 list's order number (France Travail's validation) reaches the open enrolment's form (PRC-02a)."""
    found = await uow.enrolments.find({i.enrolment_id for i in event.items})
    changed = {}
    for item in event.items:
        enrolment = found.get(item.enrolment_id)
        if enrolment and not enrolment.closed and enrolment.form.order_number != item.order_number:
            enrolment.form.order_number = item.order_number
            changed[enrolment.id] = enrolment
    await uow.enrolments.save(changed=changed.values())


@dataclass
class Journey:
    """An enrolment with its actions, as ``show`` and the other journey commands see it."""

    enrolment: Enrolment
    actions: list[JourneyAction] = field(default_factory=list)
    left: list[JourneyAction] = field(default_factory=list)  # actions the beneficiary left (PRC-08)
    history: list[dict[str, Any]] = field(default_factory=list)  # opened, dates, form, closed, reopened


async def _journey(uow, enrolment_id: str, lock: bool = False) -> Journey:
    if not isinstance(enrolment_id, str) or not enrolment_id:
        raise NotFound(["Parcours : identifiant manquant."])
    enrolment = await uow.enrolments.get(enrolment_id, lock=lock)
    if enrolment is None:
        raise NotFound([f"Parcours « {enrolment_id} » introuvable (voir journey list)."])
    return (await with_actions(uow, [enrolment]))[0]


async def with_actions(uow, enrolments: list[Enrolment]) -> list[Journey]:
    """Each enrolment with its actions and those its beneficiary left, in a few queries however many
    enrolments (the dashboard's base)."""
    people = {e.beneficiary_id for e in enrolments}
    siblings = await uow.enrolments.of_beneficiaries(people)
    actions = await uow.enrolments.actions(people, include_removed=True)
    journeys = []
    for e in enrolments:
        mine = rules.actions_of(e, siblings.get(e.beneficiary_id, []), actions.get((e.beneficiary_id, e.ods), []))
        journeys.append(Journey(e, [a for a in mine if a.removed_at is None], [a for a in mine if a.removed_at]))
    return journeys


def journey_view(journey: Journey, ref=None) -> dict[str, Any]:
    """The journey as users and other commands read it (``journey show --json``)."""
    e = journey.enrolment
    ods = ref.ods.get(e.ods) if ref else None
    ended = rules.outcome(e.form)
    return {
        "id": e.id, "beneficiary_id": e.beneficiary_id, "ods": e.ods, "resource": e.resource, "site": e.site,
        "start_on": e.start_on.isoformat(), "end_on": e.end_on.isoformat(),
        "start_edited": e.start_edited, "end_edited": e.end_edited,
        "theoretical_end_on": rules.theoretical_end(ods, e.start_on).isoformat() if ods else None,
        "status": e.status, "closings": e.closings, "closed_on": e.closed_on and e.closed_on.isoformat(),
        "awaiting_correction": e.awaiting_correction,
        "outcome": e.outcome, "situation": e.situation, "form_started": e.form_started,
        "form": _json(e.form.values()),
        "ending": ended and {"outcome": ended[0], "on": ended[1].isoformat()},
        "actions": [{"action_id": a.action_id, "starts_at": paris(a.starts_at).isoformat(),
                     "ends_at": paris(a.ends_at).isoformat(),
                     "presence": a.presence, "advisor": a.advisor, "site": a.site, "mode": a.mode,
                     "action_type": a.action_type, "step": a.step} for a in journey.actions],
        "removed": [{"action_id": a.action_id, "starts_at": paris(a.starts_at).isoformat(),
                     "removed_at": a.removed_at and paris(a.removed_at).isoformat(),
                     "reason": a.removal_reason or "motif non précisé"} for a in journey.left],
        "history": [{"at": paris(h["at"]).isoformat(), "kind": h["kind"], "detail": h["detail"]}
                    for h in journey.history],
        "reasons": ods and {"bilan_reason": list(ods.bilan_reasons), "early_exit_reason": list(ods.early_exit_reasons),
                            "abandon_reason": list(ods.abandon_reasons)},
    }


async def show_journey(enrolment_id: str, uow) -> dict[str, Any]:
    async with uow:
        journey = await _journey(uow, enrolment_id)
        journey.history = await uow.enrolments.history([enrolment_id])
        return journey_view(journey, await uow.referential.get())


@dataclass(frozen=True)
class JourneyQuery:
    starts_from: date | None = None
    starts_to: date | None = None  # inclusive
    resource: str | None = None
    status: str | None = None


async def list_journeys(query: JourneyQuery, uow) -> list[dict[str, Any]]:
    """Enrolments by ODS start (PRC-04's base): the ids ``journey show`` and the other commands take."""
    async with uow:
        found = await uow.enrolments.search(
            status=query.status, resource=query.resource, starts_from=query.starts_from,
            starts_before=query.starts_to and date.fromordinal(query.starts_to.toordinal() + 1))
        return [{"id": e.id, "beneficiary_id": e.beneficiary_id, "ods": e.ods, "resource": e.resource, "site": e.site,
                 "start_on": e.start_on.isoformat(), "end_on": e.end_on.isoformat(), "status": e.status,
                 "situation": e.situation, "order_number": e.form.order_number, "form_started": e.form_started,
                 "closed_on": e.closed_on and e.closed_on.isoformat(), "outcome": e.outcome} for e in found]


def _close_if_due(uow, enrolment: Enrolment, on: date) -> bool:
    if not rules.due(enrolment, on):
        return False
    rules.close(enrolment, on)
    uow.emit_items(ODSClosed, [closed_item(enrolment)])
    return True


def set_dates(e: Enrolment, start: date, end: date) -> None:
    """Dates set by hand stay as typed: a moved appointment no longer moves them (PRC-01)."""
    e.start_edited = e.start_edited or start != e.start_on
    e.end_edited = e.end_edited or end != e.end_on
    e.start_on, e.end_on, e.awaiting_correction = start, end, False


async def change_dates(enrolment_id: str, start: Any, end: Any, uow) -> dict[str, Any]:
    """PRC-01: both editable, start on or before the first action, end on or after the last."""
    async with uow:
        journey = await _journey(uow, enrolment_id, lock=True)
        e = journey.enrolment
        if start is None and end is None:
            raise RefusedInput(["Indiquez une date de début, une date de fin, ou les deux."])
        new_start, new_end, problems = rules.check_dates(e, journey.actions, start, end)
        if problems:
            raise (Conflict if e.closed else RefusedInput)(problems)
        if (new_start, new_end) == (e.start_on, e.end_on):
            return {"changed": False, "closed": False}
        now, on = uow.clock.now(), today(uow)
        set_dates(e, new_start, new_end)
        uow.emit_items(JourneyDatesChanged, [JourneyDatesChangedItem(
            enrolment_id=e.id, beneficiary_id=e.beneficiary_id, start_on=new_start, end_on=new_end)])
        closed = _close_if_due(uow, e, on)  # after the change that caused it
        await uow.enrolments.save(changed=[e])
        await uow.enrolments.record(e, now, "dates", {"start_on": new_start.isoformat(), "end_on": new_end.isoformat()})
        if closed:
            await uow.enrolments.record(e, now, "closed", {"closing": e.closings, "outcome": e.outcome})
        await uow.commit()
        return {"changed": True, "closed": closed}


async def save_form(enrolment_id: str, changes: dict[str, Any], uow) -> dict[str, Any]:
    """PRC-02: a partial save, checked whole; ``JourneyFormChanged`` on each save that changes it, and
    the enrolment closes when it is due (PRC-07)."""
    async with uow:
        journey = await _journey(uow, enrolment_id, lock=True)
        e = journey.enrolment
        if not isinstance(changes, dict):
            raise RefusedInput(["Formulaire prestation spéciale : un objet {champ: valeur} est attendu."])
        if not changes:
            raise RefusedInput(["Formulaire prestation spéciale : aucun champ à enregistrer."])
        ref = await uow.referential.get()
        ods = ref.ods.get(e.ods)
        if ods is None:
            raise RefusedInput([f"ODS « {e.ods} » inconnue du référentiel de planning."])
        form, problems = rules.check_form(e, changes, ods, journey.actions, today(uow))
        if problems:
            raise (Conflict if e.closed else RefusedInput)(problems)
        before = e.form.values()
        changed = [name for name, value in form.values().items() if before[name] != value]
        if not changed:
            return {"changed": False, "closed": False, "situation": e.situation}
        now = uow.clock.now()
        e.form, e.form_started, e.awaiting_correction = form, True, False
        uow.emit_items(JourneyFormChanged, [form_item(e, changed)])
        closed = _close_if_due(uow, e, today(uow))  # after the change that caused it
        await uow.enrolments.save(changed=[e])
        await uow.enrolments.record(e, now, "form", {"changed": changed, "situation": e.situation})
        if closed:
            await uow.enrolments.record(e, now, "closed", {"closing": e.closings, "outcome": e.outcome})
        await uow.commit()
        return {"changed": True, "changed_fields": changed, "closed": closed, "situation": e.situation}


async def close_due(uow) -> dict[str, Any]:
    """PRC-07: the daily run. Every open enrolment whose end date passed and whose form says how it
    ended closes, once: rows are locked, and a closed one is no longer open."""
    async with uow:
        on, now = today(uow), uow.clock.now()
        candidates = await uow.enrolments.search(status="open", ended_before=on, lock=True)
        closing = [e for e in candidates if rules.due(e, on)]
        for e in closing:
            rules.close(e, on)
        uow.emit_items(ODSClosed, [closed_item(e) for e in closing])
        await uow.enrolments.save(changed=closing)
        await uow.enrolments.record_many((e, now, "closed", {"closing": e.closings, "outcome": e.outcome})
                                         for e in closing)
        await uow.commit()
        return {"closed": [e.id for e in closing], "open_past_end": len(candidates) - len(closing)}


async def reopen_journey(enrolment_id: str, reason: Any, uow) -> dict[str, Any]:
    """PRC-10: an explicit réouverture with a reason; the next closing is a new ``ODSClosed``."""
    async with uow:
        journey = await _journey(uow, enrolment_id, lock=True)
        e = journey.enrolment
        problems = rules.check_reopen(e, reason)
        if problems:
            raise (RefusedInput if e.closed else Conflict)(problems)
        on, now = today(uow), uow.clock.now()
        closing = e.closings
        rules.reopen(e)
        uow.emit_items(ODSReopened, [ODSReopenedItem(enrolment_id=e.id, closing=closing,
                                                     beneficiary_id=e.beneficiary_id, reason=reason.strip(),
                                                     reopened_on=on)])
        await uow.enrolments.save(changed=[e])
        await uow.enrolments.record(e, now, "reopened", {"closing": closing, "reason": reason.strip()})
        await uow.commit()
        return {"reopened": True, "closing": closing}
