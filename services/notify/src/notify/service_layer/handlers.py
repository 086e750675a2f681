"""Notify's reactions: one plain async function per command or event.

Events build notify's projections (contacts, appointments, actions) and compute the messages they
call for (NOT-02, NOT-04, NOT-05): each message is written once per recipient × rule × appointment
(its ``dedup_key``), with the time it is due. Sending is not done here: the postman
(``delivery.py``) sends what is due, so a redelivered event never sends anything twice.

The events an import brings by the thousand also have a batch handler (``BATCH_HANDLERS``): the same
decisions (``domain/appointments.py``) over a list of events, read and written in a few statements.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts.importer import (BeneficiaryPurged, BeneficiaryRegistered, ParticipantConfirmed,
                                ParticipantNotConfirmed, RegistrationCancelled, RegistrationRecorded)
from contracts.notify import MessageNotSent, NotificationSetupChanged, RuleRef, TemplateRef
from contracts.planning import (ActionCancelled, ActionChanged, ActionFields, ActionPlanned, ParticipantAdded,
                                ParticipantRemoved, PresenceValidated, ReferentialChanged)
from servicekit.dispatch import Received, one_at_a_time, repeats
from servicekit.errors import Conflict, NotFound, RefusedInput
from servicekit.versioned import load_versioned

from notify.domain.appointments import (chosen_appointment, linked_action, message_row, moved, participant_changes,
                                        registration_changes, registration_messages, rescheduled_due, rule_messages)
from notify.domain.defaults import GDPR, templates_of
from notify.domain.messages import PENDING, REASONS, dedup_key, rule_confirmation
from notify.domain.setup import SYSTEM_CODES, NotificationSetup, Rule, SetupPart, Template, duplicate_codes

SETUP_KEY = "notification-setup"
APPOINTMENT_PURPOSES = ("rule", "mbv_reminder")  # the virtual-office access mail is about the person


@dataclass(frozen=True)
class LoadSetup:
    part: SetupPart
    dry_run: bool = False


def setup_changed(setup: NotificationSetup) -> NotificationSetupChanged:
    return NotificationSetupChanged(
        templates=tuple(TemplateRef(code=t.code, channel=t.channel, active=t.active)
                        for t in setup.templates.values()),
        rules=tuple(RuleRef(**r.model_dump()) for r in setup.rules.values()),
    )


async def load_setup(cmd: LoadSetup, uow) -> dict:
    """Merge templates and rules (NOT-01, NOT-02); refuse the whole part on any problem."""
    def merge(current: NotificationSetup) -> tuple[NotificationSetup, list[str]]:
        merged = current.merged_with(cmd.part)
        return merged, duplicate_codes(cmd.part) + merged.problems()

    return await load_versioned(uow, lambda u: u.setup, merge, setup_changed, cmd.dry_run)


# --- Template and rule commands (NOT-01, NOT-02) ------------------------------------------------


async def save_template(template: Template, uow) -> dict:
    """Create or replace one template; a field that does not exist is refused, named."""
    return await load_setup(LoadSetup(SetupPart(templates=(template,))), uow)


async def set_template_active(code: str, active: bool, uow) -> dict:
    async with uow:
        template = templates_of(await uow.setup.get()).get(code)
    if template is None:
        raise NotFound([f"Modèle « {code} » inconnu."])
    return await save_template(template.model_copy(update={"active": active}), uow)


async def _remove(uow, current: NotificationSetup, remaining: NotificationSetup, removal) -> dict:
    remaining.version = current.version + 1
    await removal()
    await uow.setup.save(remaining, uow.clock.now())
    uow.emit(setup_changed(remaining), key=SETUP_KEY)
    await uow.commit()
    return {"changed": True, "version": remaining.version}


async def delete_template(code: str, uow) -> dict:
    """A template used by a rule or by any message cannot be deleted, only deactivated (NOT-01)."""
    async with uow:
        current = await uow.setup.get()
        if code in SYSTEM_CODES:
            raise Conflict([f"Modèle système « {code} » : il ne peut pas être supprimé ; désactivez-le."])
        if code not in current.templates:
            raise NotFound([f"Modèle « {code} » inconnu."])
        rules = [r for r in current.rules.values() if r.template == code]
        sent = (await uow.messages.template_usage()).get(code, 0)
        if rules or sent:
            uses = ([f"{len(rules)} règle(s) d'envoi automatique"] if rules else []) + (
                [f"{sent} envoi(s)"] if sent else [])
            raise Conflict([f"Modèle « {code} » utilisé par {' et '.join(uses)} : il ne peut pas être "
                                "supprimé ; désactivez-le."])
        remaining = current.model_copy(deep=True)
        del remaining.templates[code]
        return await _remove(uow, current, remaining, lambda: uow.setup.delete_template(code))


async def add_rule(rule: Rule, uow) -> dict:
    return await load_setup(LoadSetup(SetupPart(rules=(rule,))), uow)


async def delete_rule(rule: Rule, uow) -> dict:
    async with uow:
        current = await uow.setup.get()
        if rule.key not in current.rules:
            raise NotFound([f"Règle {rule.ods} / confirmation {rule.confirmation} / modèle {rule.template} / "
                                f"J{rule.delay_days:+d} inconnue."])
        remaining = current.model_copy(deep=True)
        del remaining.rules[rule.key]
        return await _remove(uow, current, remaining, lambda: uow.setup.delete_rule(rule.key))


# --- Helpers over messages -------------------------------------------------------------------


async def _add_message(uow, *, beneficiary_id: str, purpose: str, kind: str, template_code: str, due_at: datetime,
                       registration_id: str | None = None, rule: Rule | None = None) -> dict | None:
    """A scheduled message, unless this recipient × rule × appointment already has one (NOT-06)."""
    row = message_row(await uow.setup.get(), uow.clock.now(), beneficiary_id=beneficiary_id, purpose=purpose,
                      kind=kind, template_code=template_code, due_at=due_at, registration_id=registration_id,
                      rule=rule)
    return row if await uow.messages.add(row) else None


def not_sent_event(message: dict[str, Any], code: str) -> MessageNotSent:
    return MessageNotSent(message_id=message["id"], beneficiary_id=message["beneficiary_id"],
                          registration_id=message["registration_id"], template=message["template_code"],
                          channel=message["channel"], kind=message["kind"], reason=code)


async def stop_message(uow, message: dict[str, Any], status: str, code: str, reason: str) -> None:
    await uow.messages.update(message["id"], status=status, reason_code=code, reason=reason,
                              updated_at=uow.clock.now(), next_attempt_at=None, claimed_at=None)
    uow.emit(not_sent_event(message, code), key=message["beneficiary_id"])


async def _stop_pending(uow, registration_id: str, code: str, reason: str | None = None,
                        keep=lambda m: False) -> None:
    for message in await uow.messages.of_registration(registration_id, PENDING):
        if message["purpose"] in APPOINTMENT_PURPOSES and not keep(message):
            await stop_message(uow, message, "cancelled", code, reason or REASONS[code])


async def _add_messages(uow, rows: list[dict[str, Any]]) -> None:
    for row in rows:
        await uow.messages.add(row)


async def _schedule_rules(uow, appointment: dict[str, Any], confirmation: str) -> None:
    """Messages of the rules for this ODS and confirmation (NOT-02), each due in its 19:00 batch."""
    await _add_messages(uow, rule_messages(await uow.setup.get(), appointment, confirmation, uow.clock.now()))


def _rescheduled(messages: list[dict[str, Any]], starts_at: datetime, now: datetime) -> list[dict[str, Any]]:
    """The new due times of an appointment's scheduled messages once it starts at ``starts_at``."""
    out = []
    for message in messages:
        due = rescheduled_due(message, starts_at, now)
        if due is not None:
            out.append({"id": message["id"], "due_at": due, "updated_at": now})
    return out


async def _reschedule(uow, appointment: dict[str, Any]) -> None:
    """The appointment moved: pending messages follow it (delay 0 stays on its import day)."""
    messages = await uow.messages.of_registration(appointment["registration_id"], ("scheduled",))
    for change in _rescheduled(messages, appointment["starts_at"], uow.clock.now()):
        await uow.messages.update(change.pop("id"), **change)


async def _change_appointment(uow, appointment: dict[str, Any], changes: dict[str, Any]) -> None:
    if changes:
        await uow.appointments.update(appointment["registration_id"], **changes)
        appointment |= changes
        if "starts_at" in changes:
            await _reschedule(uow, appointment)


async def _move_appointment(uow, appointment: dict[str, Any], starts_at: datetime, site: str | None,
                            remote: bool | None = None) -> None:
    await _change_appointment(uow, appointment, moved(appointment, starts_at, site, remote))


# --- Event handlers ---------------------------------------------------------------------------


async def update_referential(event: ReferentialChanged, uow) -> None:
    """What messages show of the referential: structure name, sites, ODS names."""
    async with uow:
        current = await uow.referential.get()
        if event.version > current["version"]:
            await uow.referential.put(event.version, {
                "structure": {"name": event.structure.name} if event.structure else None,
                "sites": {s.code: {"name": s.name, "address": s.address, "remote": s.remote} for s in event.sites},
                "ods": {o.code: o.name for o in event.ods}})
        await uow.commit()


async def record_contact(event: BeneficiaryRegistered, uow) -> None:
    """Keep the contact as received: consents in clear, identity still sealed with the person's key.

    The postman unseals it with the key importer serves (``delivery.unseal_contacts``) before anything
    is sent, outside this consumer: the handler never waits on importer, and importer's relay (which
    may be publishing this very event) is never waited on from inside its own publication.
    """
    async with uow:
        # A known contact keeps its readable fields until the new ones are unsealed.
        await uow.contacts.put(_contact_row(event, uow.clock.now()))
        await uow.commit()


def _contact_row(event: BeneficiaryRegistered, now: datetime) -> dict[str, Any]:
    return {"beneficiary_id": event.beneficiary_id, "sealed": event.sealed, "accepts_email": event.accepts_email,
            "accepts_sms": event.accepts_sms, "updated_at": now}


def _appointment_row(event: RegistrationRecorded, now: datetime) -> dict[str, Any]:
    """A registration notify did not know yet, in no action so far."""
    return {"registration_id": event.registration_id, "beneficiary_id": event.beneficiary_id,
            "enrolment_id": event.enrolment_id, "ods": event.ods, "resource": event.resource, "site": event.site,
            "starts_at": event.starts_at, "remote": event.remote, "order_number": event.order_number,
            "status": "registered", "cancelled": False, "action_id": None, "recorded_at": now}


def _held(joined: Iterable[dict[str, Any]]) -> set[str]:
    """The actions (of those ``joined_by`` read) an appointment already takes place in."""
    return {a["action_id"] for a in joined if a["held"]}


async def schedule_registration(event: RegistrationRecorded, uow) -> None:
    """NOT-04 at import: virtual-office access mail at once, the J-7 reminder, and the rules for any
    confirmation (e.g. the presentation mail in the 19:00 batch)."""
    async with uow:
        now = uow.clock.now()
        appointment = await uow.appointments.get(event.registration_id)
        if appointment is None:
            appointment = _appointment_row(event, now)
            joined = await uow.actions.joined_by(event.beneficiary_id)  # planning was quicker
            appointment["action_id"] = linked_action(event.starts_at, joined, _held(joined))
            await uow.appointments.add(appointment)
        else:
            await _change_appointment(uow, appointment, registration_changes(
                appointment, event.order_number, event.starts_at, event.site, event.remote))
        await _add_messages(uow, registration_messages(await uow.setup.get(), appointment, now))
        await uow.commit()


async def confirm_registration(event: ParticipantConfirmed, uow) -> None:
    """J-2 with an order number: the rules for confirmed appointments (e.g. the reminder)."""
    async with uow:
        appointment = await uow.appointments.get(event.registration_id)
        if appointment is not None:
            await uow.appointments.update(event.registration_id, status="confirmed", order_number=event.order_number)
            appointment |= {"status": "confirmed", "order_number": event.order_number}
            await _stop_pending(uow, event.registration_id, "not_needed", REASONS["confirmation_changed"],
                                keep=lambda m: rule_confirmation(m) != "no")
            await _schedule_rules(uow, appointment, "yes")
        await uow.commit()


async def cancel_unconfirmed(event: ParticipantNotConfirmed, uow) -> None:
    """J-2 without an order number: the appointment is cancelled; the rules for unconfirmed
    appointments (the cancellation mail) replace what was pending."""
    async with uow:
        appointment = await uow.appointments.get(event.registration_id)
        if appointment is not None:
            await uow.appointments.update(event.registration_id, status="not_confirmed")
            appointment["status"] = "not_confirmed"
            await _stop_pending(uow, event.registration_id, "not_confirmed")
            await _schedule_rules(uow, appointment, "no")
        await uow.commit()


async def cancel_registration(event: RegistrationCancelled, uow) -> None:
    """A Désinscrit row: nothing more is sent about this appointment."""
    async with uow:
        if await uow.appointments.get(event.registration_id):
            await uow.appointments.update(event.registration_id, cancelled=True)
            await _stop_pending(uow, event.registration_id, "appointment_cancelled")
        await uow.commit()


def _action_row(action: ActionFields, cancelled: bool = False) -> dict[str, Any]:
    return {"action_id": action.action_id, "site": action.site, "starts_at": action.starts_at,
            "ends_at": action.ends_at, "mode": action.mode, "cancelled": cancelled}


async def record_action(event: ActionPlanned, uow) -> None:
    async with uow:
        await uow.actions.put(_action_row(event.action))
        await uow.commit()


async def move_action(event: ActionChanged, uow) -> None:
    """A moved action reschedules the pending messages of its participants' appointments."""
    async with uow:
        await uow.actions.put(_action_row(event.action))
        for appointment in await uow.appointments.of_action(event.action.action_id):
            if await uow.actions.is_participant(event.action.action_id, appointment["beneficiary_id"]):
                await _move_appointment(uow, appointment, event.action.starts_at, event.action.site,
                                        event.action.mode == "remote")
        await uow.commit()


async def cancel_action(event: ActionCancelled, uow) -> None:
    """A cancelled action cancels the pending messages of the appointments it held."""
    async with uow:
        action = await uow.actions.get(event.action_id)
        if action:
            await uow.actions.put(action | {"cancelled": True})
        for appointment in await uow.appointments.of_action(event.action_id):
            await uow.appointments.update(appointment["registration_id"], cancelled=True)
            await _stop_pending(uow, appointment["registration_id"], "appointment_cancelled")
        await uow.commit()


async def link_participant(event: ParticipantAdded, uow) -> None:
    """Which appointment now takes place in this action (an assignment may move it to another time)."""
    async with uow:
        await uow.actions.join(event.action_id, event.beneficiary_id)
        action = await uow.actions.get(event.action_id)
        participations = await uow.actions.participations_of([event.beneficiary_id])
        chosen = chosen_appointment(event.action_id, event.ods, action,
                                    await uow.appointments.of_beneficiary(event.beneficiary_id),
                                    _takes_part(participations, event.beneficiary_id))
        if chosen is not None:
            await _change_appointment(uow, chosen, participant_changes(chosen, event.action_id, action))
        await uow.commit()


def _takes_part(participations: dict[tuple[str, str], bool], beneficiary_id: str) -> Callable[[str], bool]:
    """Whether the person currently takes part in an action (joined, not removed since)."""
    return lambda action_id: participations.get((action_id, beneficiary_id)) is False


async def unlink_participant(event: ParticipantRemoved, uow) -> None:
    async with uow:
        await uow.actions.leave(event.action_id, event.beneficiary_id)
        await uow.commit()


async def send_gdpr_after_presence(event: PresenceValidated, uow) -> None:
    """NOT-05: the GDPR information is due at the first validated presence of the person; the postman
    sends it if an e-mail and a civilité are known, otherwise the record shows it must be sent by hand."""
    if event.presence != "oui":
        return
    async with uow:
        await _add_message(uow, beneficiary_id=event.beneficiary_id, purpose="gdpr", kind="system",
                           template_code=GDPR, due_at=uow.clock.now())
        await uow.commit()


async def forget_beneficiary(event: BeneficiaryPurged, uow) -> None:
    """X-04: the contact, the appointments and what was sent go; ids and statuses stay (counts)."""
    async with uow:
        now = uow.clock.now()
        for message in await uow.messages.forget_beneficiary(event.beneficiary_id, now):
            await stop_message(uow, message, "cancelled", "purged", REASONS["purged"])
        await uow.contacts.delete(event.beneficiary_id)
        await uow.logins.delete(event.beneficiary_id)
        await uow.appointments.delete_beneficiary(event.beneficiary_id)
        await uow.actions.forget_beneficiary(event.beneficiary_id)
        await uow.commit()


# --- Commands from the API --------------------------------------------------------------------


async def record_login(beneficiary_id: str, at: datetime | None, uow) -> dict:
    """The virtual office tells notify a person logged in (the J-7 reminder is then not needed)."""
    async with uow:
        row = await uow.logins.record(beneficiary_id, at or uow.clock.now())
        await uow.commit()
    return {"beneficiary_id": beneficiary_id, "first_at": row["first_at"].isoformat(),
            "last_at": row["last_at"].isoformat(), "count": row["count"]}


async def send_gdpr_by_hand(beneficiary_id: str, uow) -> dict:
    """NOT-05 by hand: the GDPR mail goes now (without a civilité the greeting is « Madame, Monsieur »);
    it still needs an e-mail address and the consent to e-mails (NOT-03)."""
    async with uow:
        now = uow.clock.now()
        message = await uow.messages.by_key(dedup_key(beneficiary_id, "gdpr"))
        if message and message["status"] == "sent":
            raise Conflict([f"Mail RGPD déjà envoyé le {message['sent_at']:%d/%m/%Y}."])
        if message and message["status"] in ("scheduled", "sending"):
            raise Conflict(["Mail RGPD déjà en cours d'envoi."])
        contact = await uow.contacts.get(beneficiary_id)
        if contact is None:
            raise NotFound([f"Bénéficiaire « {beneficiary_id} » inconnu de notify (aucune fiche)."])
        if not contact["email"]:
            raise RefusedInput(["Pas d'adresse e-mail sur la fiche : le mail RGPD ne peut pas être envoyé."])
        if message is None:
            message = await _add_message(uow, beneficiary_id=beneficiary_id, purpose="gdpr", kind="manual",
                                         template_code=GDPR, due_at=now)
        else:
            await uow.messages.update(message["id"], kind="manual", status="scheduled", due_at=now, reason_code=None,
                                      reason=None, next_attempt_at=None, attempts=0, updated_at=now)
            uow.messages.added_due.append(now)
        await uow.commit()
    return {"message_id": message["id"], "status": "scheduled"}


# --- Batch handlers: an import's events, many at once ----------------------------------------------
#
# Each has the effects, in the same order, of its one-event handler called once per item, with a
# bounded number of statements per batch: it reads what the whole batch needs with ``IN (...)``,
# decides with the same domain functions, then writes each kind of row at once. None of them emits.


async def _reschedule_many(uow, appointments: list[dict[str, Any]], now: datetime) -> None:
    """``_reschedule`` for appointments of distinct registrations: one read, one ``executemany``."""
    pending = await uow.messages.of_registrations([a["registration_id"] for a in appointments], ("scheduled",))
    await uow.messages.update_many([change for a in appointments for change in
                                    _rescheduled(pending.get(a["registration_id"], []), a["starts_at"], now)])


async def record_contacts(received: list[Received], uow) -> None:
    """``record_contact`` for each item: 3 statements (known contacts, one update, one insert)."""
    if repeats(received, lambda e: e.beneficiary_id):
        return await one_at_a_time(received, record_contact, uow)
    async with uow:
        now = uow.clock.now()
        await uow.contacts.put_many([_contact_row(item.event, now) for item in received])
        await uow.commit()


async def record_actions(received: list[Received], uow) -> None:
    """``record_action`` for each item: 3 statements (known actions, one update, one insert)."""
    if repeats(received, lambda e: e.action.action_id):
        return await one_at_a_time(received, record_action, uow)
    async with uow:
        await uow.actions.put_many([_action_row(item.event.action) for item in received])
        await uow.commit()


async def schedule_registrations(received: list[Received], uow) -> None:
    """``schedule_registration`` for each item (NOT-04, NOT-06), in at most 9 statements (11 when the
    set-up changed since last read): the set-up's version, the known appointments, the actions the
    new ones' people joined (and whether an appointment holds each), the moved ones' scheduled
    messages and the messages already there; then the new appointments, the changed ones, the
    rescheduled messages and the new messages, each at once."""
    if repeats(received, lambda e: e.registration_id, lambda e: e.beneficiary_id):
        return await one_at_a_time(received, schedule_registration, uow)
    async with uow:
        now = uow.clock.now()
        setup = await uow.setup.get()
        events: list[RegistrationRecorded] = [item.event for item in received]
        known = await uow.appointments.get_many(e.registration_id for e in events)
        fresh = [e for e in events if e.registration_id not in known]
        joined = await uow.actions.joined_by_many(e.beneficiary_id for e in fresh)
        taken = _held(a for actions in joined.values() for a in actions)
        added, changed, moved_, messages = [], [], [], []
        for event in events:
            appointment = known.get(event.registration_id)
            if appointment is None:
                appointment = _appointment_row(event, now)
                appointment["action_id"] = linked_action(event.starts_at, joined.get(event.beneficiary_id, ()), taken)
                if appointment["action_id"] is not None:
                    taken.add(appointment["action_id"])  # held from now on for the next items, as in the table
                added.append(appointment)
            else:
                changes = registration_changes(appointment, event.order_number, event.starts_at, event.site,
                                               event.remote)
                if changes:
                    appointment |= changes
                    changed.append(appointment)
                    if "starts_at" in changes:
                        moved_.append(appointment)
            messages += registration_messages(setup, appointment, now)
        await uow.appointments.add_many(added)
        await uow.appointments.update_many([{k: a[k] for k in ("registration_id", "order_number", "starts_at", "site",
                                                               "remote")} for a in changed])
        # Before the new messages are written, so that only those already there are moved: one event
        # at a time reschedules, then adds.
        await _reschedule_many(uow, moved_, now)
        await uow.messages.add_many(messages)
        await uow.commit()


async def link_participants(received: list[Received], uow) -> None:
    """``link_participant`` for each item, in at most 8 statements: the people's participations, then
    those joined again and the new ones, the actions, the people's appointments, the changed
    appointments, and the moved ones' scheduled messages read then rescheduled."""
    if repeats(received, lambda e: e.beneficiary_id, lambda e: e.action_id):
        return await one_at_a_time(received, link_participant, uow)
    async with uow:
        now = uow.clock.now()
        events: list[ParticipantAdded] = [item.event for item in received]
        people = [e.beneficiary_id for e in events]
        participations = await uow.actions.participations_of(people)
        pairs = [(e.action_id, e.beneficiary_id) for e in events]
        await uow.actions.join_many(pairs, known=participations.keys())
        participations |= dict.fromkeys(pairs, False)
        actions = await uow.actions.get_many(e.action_id for e in events)
        appointments = await uow.appointments.of_beneficiaries(people)
        changed, moved_ = [], []
        for event in events:
            action = actions.get(event.action_id)
            chosen = chosen_appointment(event.action_id, event.ods, action, appointments.get(event.beneficiary_id, []),
                                        _takes_part(participations, event.beneficiary_id))
            if chosen is None:
                continue
            changes = participant_changes(chosen, event.action_id, action)
            if changes:
                chosen |= changes
                changed.append(chosen)
                if "starts_at" in changes:
                    moved_.append(chosen)
        await uow.appointments.update_many([{k: a[k] for k in ("registration_id", "action_id", "starts_at", "site",
                                                               "remote")} for a in changed])
        await _reschedule_many(uow, moved_, now)
        await uow.commit()


EVENT_HANDLERS = {
    ReferentialChanged: update_referential,
    BeneficiaryRegistered: record_contact,
    RegistrationRecorded: schedule_registration,
    ParticipantConfirmed: confirm_registration,
    ParticipantNotConfirmed: cancel_unconfirmed,
    RegistrationCancelled: cancel_registration,
    ActionPlanned: record_action,
    ActionChanged: move_action,
    ActionCancelled: cancel_action,
    ParticipantAdded: link_participant,
    ParticipantRemoved: unlink_participant,
    PresenceValidated: send_gdpr_after_presence,
    BeneficiaryPurged: forget_beneficiary,
}

BATCH_HANDLERS = {
    BeneficiaryRegistered: record_contacts,
    RegistrationRecorded: schedule_registrations,
    ActionPlanned: record_actions,
    ParticipantAdded: link_participants,
}
