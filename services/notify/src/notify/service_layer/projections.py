"""What notify keeps of other services' events (contacts, appointments, actions, participations, the
referential), and the messages these events call for (NOT-02, NOT-04).

One handler per event type, over the event's items in order. Each reads what its items need at
once, keeps those rows in memory (an item about an appointment an earlier item changed sees the
change), and writes what changed at the end.
"""

from collections.abc import Callable
from datetime import datetime

from contracts.importer import (BeneficiaryCorrected, BeneficiaryRegistered, ParticipantConfirmed,
                                ParticipantNotConfirmed, RegistrationCancelled, RegistrationRecorded,
                                RegistrationRecordedItem)
from contracts.notify import VirtualOfficeLoginItem, VirtualOfficeLoginRecorded
from contracts.planning import (ActionCancelled, ActionChanged, ActionFields, ActionPlanned, ParticipantAdded,
                                ParticipantRemoved, ReferentialChanged)

from notify.domain.appointments import (Action, Appointment, chosen_appointment, linked_action, moved,
                                        participant_changes, registration_changes, registration_messages,
                                        rule_messages)
from notify.domain.messages import CONSENT_WITHDRAWN, PENDING, REASONS, rule_confirmation
from notify.service_layer.scheduling import MessageBook


async def update_referential(event: ReferentialChanged, uow) -> None:
    """What messages show of the referential: structure name, sites, ODS names."""
    async with uow:
        current = await uow.referential.get()
        if event.version > current["version"]:
            await uow.referential.put(event.version, {
                "structure": {"name": event.structure.name} if event.structure else None,
                "sites": {s.code: {"name": s.name, "address": s.address, "remote": s.remote, "antenne": s.antenne}
                          for s in event.sites},
                "ods": {o.code: o.name for o in event.ods}})
        await uow.commit()


# --- Contacts ---------------------------------------------------------------------------------


def _contact_row(beneficiary_id: str, sealed: str, accepts_email: bool, accepts_sms: bool, now: datetime) -> dict:
    return {"beneficiary_id": beneficiary_id, "sealed": sealed, "accepts_email": accepts_email,
            "accepts_sms": accepts_sms, "updated_at": now}


async def record_contacts(event: BeneficiaryRegistered, uow) -> None:
    """Keep each contact as received: consents in clear, identity still sealed with the person's key.

    The postman unseals it with the key importer serves (``delivery.unseal_contacts``) before anything
    is sent, outside this consumer: the handler never waits on importer, and importer's relay (which
    may be publishing this very event) is never waited on from inside its own publication.
    A known contact keeps its readable fields until the new ones are unsealed.
    """
    async with uow:
        now = uow.clock.now()
        # A person twice in the event: the last item wins, as it would one item at a time.
        latest = {item.beneficiary_id: _contact_row(item.beneficiary_id, item.sealed, item.accepts_email,
                                                    item.accepts_sms, now) for item in event.items}
        await uow.contacts.put(list(latest.values()))
        await uow.commit()


async def record_corrections(event: BeneficiaryCorrected, uow) -> None:
    """BEN-01: staff corrected records. The contact is replaced like a new registration's (sealed until
    the postman reads it); a channel the person no longer accepts stops at once: its messages not sent
    yet are cancelled (``no_consent``), and the postman refuses any later one (NOT-03)."""
    async with uow:
        now = uow.clock.now()
        latest = {item.beneficiary_id: item for item in event.items}
        await uow.contacts.put([_contact_row(b, i.sealed, i.email.accepted, i.sms.accepted, now)
                                for b, i in latest.items()])
        refused = {(b, channel) for b, i in latest.items()
                   for channel, consent in (("email", i.email), ("sms", i.sms)) if not consent.accepted}
        pending = [m for m in await uow.messages.pending_of({b for b, _ in refused}, PENDING)
                   if (m["beneficiary_id"], m["channel"]) in refused]
        book = MessageBook(pending, now)
        for message in pending:
            book.stop(message, "cancelled", "no_consent", CONSENT_WITHDRAWN[message["channel"]])
        await book.save(uow)
        await uow.commit()


# --- Appointments (importer's registrations) --------------------------------------------------


def _new_appointment(item: RegistrationRecordedItem, now: datetime) -> Appointment:
    """A registration notify did not know yet, in no action so far."""
    return Appointment(registration_id=item.registration_id, beneficiary_id=item.beneficiary_id,
                       enrolment_id=item.enrolment_id, ods=item.ods, resource=item.resource, site=item.site,
                       starts_at=item.starts_at, remote=item.remote, order_number=item.order_number,
                       status="registered", cancelled=False, action_id=None, recorded_at=now)


class Changed(dict[str, Appointment]):
    """The known appointments an event changed, by registration; a moved one's messages follow it."""

    def apply(self, appointment: Appointment, changes: dict, book: MessageBook) -> None:
        if changes:
            appointment.apply(changes)
            self[appointment.registration_id] = appointment
            if "starts_at" in changes:
                book.reschedule(appointment)


async def schedule_registrations(event: RegistrationRecorded, uow) -> None:
    """NOT-04 at import: virtual-office access mail at once, the J-7 reminder, and the rules for any
    confirmation (e.g. the presentation mail in the 19:00 batch). A registration known already gets
    its new order number, time and place; its pending messages follow the new time."""
    async with uow:
        now = uow.clock.now()
        setup = await uow.setup.get()
        items = event.items
        known = await uow.appointments.by_id(item.registration_id for item in items)
        # Planning was quicker: the actions the new appointments' people joined, and those an
        # appointment already takes place in.
        joined = await uow.actions.joined_by(item.beneficiary_id for item in items
                                             if item.registration_id not in known)
        taken = {action.action_id for actions in joined.values() for action in actions if action.held}
        book = await MessageBook.read(uow, [item.registration_id for item in items],
                                      [item.beneficiary_id for item in items])
        added: dict[str, Appointment] = {}
        changed = Changed()
        for item in items:
            appointment = known.get(item.registration_id)
            if appointment is None:
                appointment = _new_appointment(item, now)
                appointment.action_id = linked_action(item.starts_at, joined.get(item.beneficiary_id, ()), taken)
                if appointment.action_id is not None:
                    taken.add(appointment.action_id)  # held from now on, for the next items
                known[item.registration_id] = added[item.registration_id] = appointment
            else:
                changed.apply(appointment, registration_changes(appointment, item.order_number, item.starts_at,
                                                                item.site, item.remote), book)
            book.add(registration_messages(setup, appointment, now))
        await uow.appointments.add(list(added.values()))
        await uow.appointments.save(a for r, a in changed.items() if r not in added)
        await book.save(uow)
        await uow.commit()


async def _change_registrations(event, uow, change: Callable[[Appointment, object, MessageBook], None]) -> None:
    """``change`` applied to the known appointment of each item, in order."""
    async with uow:
        ids = [item.registration_id for item in event.items]
        known = await uow.appointments.by_id(ids)
        book = await MessageBook.read(uow, [r for r in ids if r in known])
        for item in event.items:
            if (appointment := known.get(item.registration_id)) is not None:
                change(appointment, item, book)
        await uow.appointments.save(known.values())
        await book.save(uow)
        await uow.commit()


async def confirm_registrations(event: ParticipantConfirmed, uow) -> None:
    """J-2 with an order number: the rules for confirmed appointments (e.g. the reminder)."""
    async with uow:
        setup = await uow.setup.get()

        def confirm(appointment: Appointment, item, book: MessageBook) -> None:
            appointment.apply({"status": "confirmed", "order_number": item.order_number})
            book.stop_pending(appointment.registration_id, "not_needed", REASONS["confirmation_changed"],
                              keep=lambda m: rule_confirmation(m) != "no")
            book.add(rule_messages(setup, appointment, "yes", book.now))

        await _change_registrations(event, uow, confirm)


async def cancel_unconfirmed(event: ParticipantNotConfirmed, uow) -> None:
    """J-2 without an order number: the appointment is cancelled; the rules for unconfirmed
    appointments (the cancellation mail) replace what was pending."""
    async with uow:
        setup = await uow.setup.get()

        def not_confirmed(appointment: Appointment, item, book: MessageBook) -> None:
            appointment.apply({"status": "not_confirmed"})
            book.stop_pending(appointment.registration_id, "not_confirmed")
            book.add(rule_messages(setup, appointment, "no", book.now))

        await _change_registrations(event, uow, not_confirmed)


async def cancel_registrations(event: RegistrationCancelled, uow) -> None:
    """Désinscrit rows: nothing more is sent about these appointments."""
    def cancel(appointment: Appointment, item, book: MessageBook) -> None:
        appointment.apply({"cancelled": True})
        book.stop_pending(appointment.registration_id, "appointment_cancelled")

    await _change_registrations(event, uow, cancel)


# --- Actions and participations (planning) ----------------------------------------------------


def _action(action: ActionFields) -> Action:
    return Action(action_id=action.action_id, site=action.site, starts_at=action.starts_at, ends_at=action.ends_at,
                  mode=action.mode)


async def record_actions(event: ActionPlanned, uow) -> None:
    async with uow:
        await uow.actions.put(list({item.action_id: _action(item) for item in event.items}.values()))
        await uow.commit()


async def move_actions(event: ActionChanged, uow) -> None:
    """A moved action moves its participants' appointments; their pending messages follow."""
    async with uow:
        actions = {item.action_id: _action(item) for item in event.items}
        await uow.actions.put(list(actions.values()))
        held = await uow.appointments.of_actions(actions)
        participations = await uow.actions.participations(actions=actions)
        book = await MessageBook.read(uow, [a.registration_id for appointments in held.values() for a in appointments])
        changed = Changed()
        for item in event.items:
            for appointment in held.get(item.action_id, ()):
                if participations.get((item.action_id, appointment.beneficiary_id)) is False:
                    changed.apply(appointment, moved(appointment, item.starts_at, item.site, item.mode == "remote"),
                                  book)
        await uow.appointments.save(changed.values())
        await book.save(uow)
        await uow.commit()


async def cancel_actions(event: ActionCancelled, uow) -> None:
    """A cancelled action cancels the pending messages of the appointments it held."""
    async with uow:
        ids = list(dict.fromkeys(item.action_id for item in event.items))
        await uow.actions.cancel(ids)
        held = await uow.appointments.of_actions(ids)
        book = await MessageBook.read(uow, [a.registration_id for appointments in held.values() for a in appointments])
        for item in event.items:
            for appointment in held.get(item.action_id, ()):
                appointment.apply({"cancelled": True})
                book.stop_pending(appointment.registration_id, "appointment_cancelled")
        await uow.appointments.save(a for appointments in held.values() for a in appointments)
        await book.save(uow)
        await uow.commit()


def _takes_part(participations: dict[tuple[str, str], bool], beneficiary_id: str) -> Callable[[str], bool]:
    """Whether the person currently takes part in an action (joined, not removed since)."""
    return lambda action_id: participations.get((action_id, beneficiary_id)) is False


async def link_participants(event: ParticipantAdded, uow) -> None:
    """Which appointment now takes place in each action joined (an assignment may move it to
    another time); its pending messages follow it."""
    async with uow:
        people = [item.beneficiary_id for item in event.items]
        participations = await uow.actions.participations(people=people)
        known = set(participations)
        actions = await uow.actions.by_id(item.action_id for item in event.items)
        appointments = await uow.appointments.of_beneficiaries(people)
        book = await MessageBook.read(uow, [a.registration_id for theirs in appointments.values() for a in theirs])
        changed = Changed()
        for item in event.items:
            person = item.beneficiary_id
            participations[(item.action_id, person)] = False
            action = actions.get(item.action_id)
            # By start as the table gives them: an earlier item may have moved one.
            theirs = sorted(appointments.get(person, ()), key=lambda a: (a.starts_at, a.registration_id))
            chosen = chosen_appointment(item.action_id, item.ods, action, theirs, _takes_part(participations, person))
            if chosen is not None:
                changed.apply(chosen, participant_changes(chosen, item.action_id, action), book)
        await uow.actions.join([(item.action_id, item.beneficiary_id) for item in event.items], known)
        await uow.appointments.save(changed.values())
        await book.save(uow)
        await uow.commit()


async def unlink_participants(event: ParticipantRemoved, uow) -> None:
    async with uow:
        await uow.actions.leave((item.action_id, item.beneficiary_id) for item in event.items)
        await uow.commit()


# --- Virtual-office logins (a command from the API) -------------------------------------------


async def record_login(beneficiary_id: str, at: datetime | None, uow) -> dict:
    """The virtual office tells notify a person logged in (the J-7 reminder is then not needed)."""
    async with uow:
        at = at or uow.clock.now()
        row = await uow.logins.record(beneficiary_id, at)
        uow.emit_items(VirtualOfficeLoginRecorded, [VirtualOfficeLoginItem(beneficiary_id=beneficiary_id, at=at)])
        await uow.commit()
    return {"beneficiary_id": beneficiary_id, "first_at": row["first_at"].isoformat(),
            "last_at": row["last_at"].isoformat(), "count": row["count"]}


async def restore_logins(event: VirtualOfficeLoginRecorded, uow) -> None:
    """The audit's replay (OPS-04): the logins the virtual office reported, from notify's own event."""
    async with uow:
        for item in event.items:
            await uow.logins.record(item.beneficiary_id, item.at)
        uow.emit_items(VirtualOfficeLoginRecorded, event.items)
        await uow.commit()


# What notify's commands decided about logins, rebuilt by a replay from notify's own events.
RESTORERS = {VirtualOfficeLoginRecorded: restore_logins}
