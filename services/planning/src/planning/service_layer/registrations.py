"""Planning's reactions to imports (IMP-05, IMP-06): attach appointments, confirm, remove, forget."""

from contracts.importer import (BeneficiaryPurged, ParticipantConfirmed, ParticipantNotConfirmed,
                                RegistrationCancelled, RegistrationRecorded)
from contracts.planning import ActionPlanned, ParticipantAdded, ParticipantRemoved
from servicekit.dispatch import Received, one_at_a_time, repeats

from planning.domain.agenda import Action
from planning.domain.registrations import SlotKey, first_free, imported_action, needs_attaching
from planning.service_layer.agenda import action_fields

NOT_CONFIRMED = "Non confirmé à J-2"
CANCELLED = "Désinscrit de Prest@ppli"
MOVED = "Rendez-vous déplacé par Prest@ppli"


async def _leave(uow, registration: dict, reason: str) -> None:
    current = await uow.agenda.participant(registration["action_id"], registration["beneficiary_id"])
    if current and current["removed_at"] is None:
        await uow.agenda.remove_participant(registration["action_id"], registration["beneficiary_id"],
                                            uow.clock.now(), reason)
        uow.emit(ParticipantRemoved(action_id=registration["action_id"], beneficiary_id=registration["beneficiary_id"],
                                    reason=reason), key=registration["action_id"])


def _slot_key(event: RegistrationRecorded) -> SlotKey:
    return (event.ods, event.site, event.starts_at)


def _new_action(ref, event: RegistrationRecorded) -> Action:
    return imported_action(ref, ods=event.ods, resource=event.resource, site=event.site, starts_at=event.starts_at,
                           remote=event.remote)


async def attach_registration(event: RegistrationRecorded, uow) -> None:
    """Join the planned diagnostic slot at that site and time with a free place, or create the slot,
    individual and waiting for an advisor (AFF-01)."""
    async with uow:
        known = await uow.registrations.get(event.registration_id)
        if not needs_attaching(known, event.moved_from):
            return
        if known:
            await _leave(uow, known, MOVED)
        action = first_free((await uow.registrations.slots([_slot_key(event)])).get(_slot_key(event), []))
        if action is None:
            action = _new_action(await uow.referential.get(), event)
            await uow.agenda.add(action)
            uow.emit(ActionPlanned(action=action_fields(action)), key=action.id)
        await uow.agenda.add_participant(action.id, event.beneficiary_id, event.resource, event.ods, uow.clock.now())
        uow.emit(ParticipantAdded(action_id=action.id, beneficiary_id=event.beneficiary_id, resource=event.resource,
                                  ods=event.ods), key=action.id)
        await uow.registrations.put(event.registration_id, event.beneficiary_id, action.id)
        await uow.commit()


async def attach_registrations(received: list[Received], uow) -> None:
    """``attach_registration`` for a batch (IMP-05): the same rows and events, in the same order, with a
    bounded number of statements: the batch's known registrations in one query, the candidate slots
    and their participant counts in one, then each appointment decided in order (places taken by
    earlier ones count), then one bulk write per table.

    A moved registration leaves its old action, which frees a place the others may take: it goes
    through the one-event handler at its place in the order, after what precedes it is written."""
    async with uow:
        events = [item.event for item in received]
        if repeats(received, lambda e: e.registration_id, lambda e: e.beneficiary_id):
            await one_at_a_time(received, attach_registration, uow)
            return
        known = await uow.registrations.get_many([e.registration_id for e in events])
        batch = _NewRegistrations(uow)
        for item in received:
            current = known.get(item.event.registration_id)
            if not needs_attaching(current, item.event.moved_from):
                continue
            if current is None:
                batch.items.append(item)
                continue
            await batch.write()
            uow.answering(item.envelope)
            await attach_registration(item.event, uow)
        await batch.write()
        await uow.commit()


class _NewRegistrations:
    """Registrations planning has never seen, decided and written together."""

    def __init__(self, uow):
        self.uow = uow
        self.items: list[Received] = []
        self.ref = None  # read once per batch, only if an action has to be created

    async def write(self) -> None:
        items, self.items = self.items, []
        if not items:
            return
        uow = self.uow
        slots = await uow.registrations.slots({_slot_key(i.event) for i in items})
        # A person already in a candidate slot (active or having left) is re-added, not inserted,
        # and an active one takes no extra place, exactly as ``add_participant`` does.
        joined = await uow.agenda.participations(
            (s.id, i.event.beneficiary_id) for i in items for s in slots.get(_slot_key(i.event), ()))
        actions, added, readded, registrations = [], [], [], []
        for item in items:
            event = item.event
            uow.answering(item.envelope)
            action = first_free(slots.get(_slot_key(event), []))
            if action is None:
                if self.ref is None:
                    self.ref = await uow.referential.get()
                action = _new_action(self.ref, event)
                actions.append(action)
                slots.setdefault(_slot_key(event), []).append(action)
                uow.emit(ActionPlanned(action=action_fields(action)), key=action.id)
            pair = (action.id, event.beneficiary_id)
            if not joined.get(pair):
                action.participants += 1
            (readded if pair in joined else added).append({
                "action_id": action.id, "beneficiary_id": event.beneficiary_id, "resource_code": event.resource,
                "ods_code": event.ods, "added_at": uow.clock.now()})
            joined[pair] = True
            uow.emit(ParticipantAdded(action_id=action.id, beneficiary_id=event.beneficiary_id,
                                      resource=event.resource, ods=event.ods), key=action.id)
            registrations.append({"registration_id": event.registration_id, "beneficiary_id": event.beneficiary_id,
                                  "action_id": action.id})
        await uow.agenda.add_many(actions)
        await uow.agenda.readd_participants(readded)
        await uow.agenda.add_participants(added)
        await uow.registrations.add_many(registrations)


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
