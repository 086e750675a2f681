"""Planning's reactions to imports (IMP-05, IMP-06): attach appointments, confirm, remove, forget."""

from collections.abc import Iterable
from datetime import UTC

from contracts.importer import (BeneficiaryPurged, ParticipantConfirmed, ParticipantNotConfirmed,
                                RegistrationCancelled, RegistrationRecorded, RegistrationRecordedItem)
from contracts.planning import ActionPlanned, ParticipantAdded, ParticipantRemoved
from servicekit.ids import derived_id

from planning.domain.agenda import Action, Participant
from planning.domain.registrations import Registration, SlotKey, first_free, imported_action, needs_attaching
from planning.service_layer import journeys
from planning.service_layer.agenda import action_item, added_item, removed_item

NOT_CONFIRMED = "Non confirmé à J-2"
CANCELLED = "Désinscrit de Prest@ppli"
MOVED = "Rendez-vous déplacé par Prest@ppli"

Pair = tuple[str, str]  # (action, beneficiary): one participation


def _slot_key(item: RegistrationRecordedItem) -> SlotKey:
    return (item.ods, item.site, item.starts_at)


def _imported_action_id(item: RegistrationRecordedItem) -> str:
    # From the item, so that a replay creates the same action. The registration's version tells two
    # moves of one appointment apart; the start does it for first-version events (version 0).
    return derived_id("action", item.registration_id, item.version, item.starts_at.astimezone(UTC).isoformat())


class _Announcements:
    """Participants leaving, actions planned and participants joining, emitted in three phases so that
    a whole imported list is a handful of events. Only a participation that joined earlier in the same
    event and now leaves would be announced out of order: what precedes it is emitted first."""

    def __init__(self, uow):
        self.uow = uow
        self._reset()

    def _reset(self) -> None:
        self.removed, self.planned, self.added, self.joined = [], [], [], set()

    def leave(self, p: Participant) -> None:
        if (p.action_id, p.beneficiary_id) in self.joined:
            self.emit()
        self.removed.append(removed_item(p))

    def plan(self, action: Action) -> None:
        self.planned.append(action_item(action))

    def join(self, p: Participant) -> None:
        self.joined.add((p.action_id, p.beneficiary_id))
        self.added.append(added_item(p))

    def emit(self) -> None:
        self.uow.emit_items(ParticipantRemoved, self.removed)
        self.uow.emit_items(ActionPlanned, self.planned)
        self.uow.emit_items(ParticipantAdded, self.added)
        self._reset()


class _Changes:
    """New and changed rows of one kind, each written once at the end whatever the items did to it."""

    def __init__(self, known: dict):
        self.known = known
        self.new: dict = {}
        self.changed: dict = {}

    def add(self, key, row) -> None:
        self.known[key] = self.new[key] = row

    def touch(self, key) -> None:
        if key not in self.new:
            self.changed[key] = self.known[key]


async def attach_registrations(event: RegistrationRecorded, uow) -> None:
    """Each appointment joins the planned diagnostic slot at its site and time that has a free place,
    or creates that slot, individual and waiting for an advisor (AFF-01); a moved appointment leaves
    its action first. Items are decided in order: places taken or freed by earlier items count.

    The candidate slots are locked until commit (``SqlRegistrations.slots``): a staff member adding a
    participant at the same time waits, and the two never both take a slot's last place (IMP-05)."""
    async with uow:
        registrations = _Changes(await uow.registrations.find(i.registration_id for i in event.items))
        todo = [i for i in event.items if needs_attaching(registrations.known.get(i.registration_id), i.moved_from)]
        if not todo:
            return
        slots = await uow.registrations.slots({_slot_key(i) for i in todo})
        actions = {a.id: a for candidates in slots.values() for a in candidates}
        leaving = {(r.action_id, r.beneficiary_id) for i in todo if (r := registrations.known.get(i.registration_id))}
        participations = _Changes(await uow.agenda.participations(
            leaving | {(a.id, i.beneficiary_id) for i in todo for a in slots.get(_slot_key(i), ())}))
        created: list[Action] = []
        attached: list[tuple[RegistrationRecordedItem, Action]] = []
        announce, now, ref = _Announcements(uow), uow.clock.now(), None
        for item in event.items:
            registration = registrations.known.get(item.registration_id)
            if not needs_attaching(registration, item.moved_from):
                continue
            if registration is not None:
                _leave(participations, (registration.action_id, item.beneficiary_id), now, MOVED, announce, actions)
            action = first_free(slots.get(_slot_key(item), ()))
            if action is None:
                ref = ref or await uow.referential.get()
                action = imported_action(ref, _imported_action_id(item), ods=item.ods, resource=item.resource,
                                         site=item.site, starts_at=item.starts_at, remote=item.remote)
                created.append(action)
                slots.setdefault(_slot_key(item), []).append(action)
                actions[action.id] = action
                announce.plan(action)
            pair = (action.id, item.beneficiary_id)
            participant = participations.known.get(pair)
            if participant is None:
                participant = Participant(action.id, item.beneficiary_id, item.resource, item.ods, now)
                participations.add(pair, participant)
                action.participants += 1
            else:
                if not participant.active:  # someone still in the slot is added again, taking no other place
                    action.participants += 1
                participant.join(item.resource, item.ods, now)
                participations.touch(pair)
            announce.join(participant)
            attached.append((item, action))
            if registration is None:
                registrations.add(item.registration_id, Registration(item.registration_id, item.beneficiary_id,
                                                                     action.id))
            else:
                registration.action_id = action.id
                registrations.touch(item.registration_id)
        announce.emit()
        await uow.agenda.add(*created)
        await uow.agenda.save_participants(participations.new.values(), participations.changed.values())
        await uow.registrations.save(registrations.new.values(), registrations.changed.values())
        await journeys.open_enrolments(uow, attached)
        await uow.commit()


def _leave(participations: _Changes, pair: Pair, at, reason: str, announce: _Announcements | None = None,
           actions: dict[str, Action] | None = None) -> Participant | None:
    participant = participations.known.get(pair)
    if participant is None or not participant.active:
        return None
    participant.leave(at, reason)
    participations.touch(pair)
    if actions and pair[0] in actions:
        actions[pair[0]].participants -= 1  # a place other items of the event may take
    if announce is not None:
        announce.leave(participant)
    return participant


async def confirm_participants(event: ParticipantConfirmed, uow) -> None:
    async with uow:
        await uow.registrations.confirm(i.registration_id for i in event.items)
        await journeys.note_order_numbers(event, uow)
        await uow.commit()


async def _remove(registration_ids: Iterable[str], reason: str, uow) -> None:
    async with uow:
        ids = list(registration_ids)
        known = await uow.registrations.find(ids)
        participations = _Changes(await uow.agenda.participations(
            (r.action_id, r.beneficiary_id) for r in known.values()))
        now, left = uow.clock.now(), []
        for registration_id in ids:
            if registration := known.get(registration_id):
                if participant := _leave(participations, (registration.action_id, registration.beneficiary_id),
                                         now, reason):
                    left.append(participant)
        await uow.agenda.save_participants(changed=participations.changed.values())
        uow.emit_items(ParticipantRemoved, [removed_item(p) for p in left])
        await uow.commit()


async def remove_unconfirmed(event: ParticipantNotConfirmed, uow) -> None:
    await _remove((i.registration_id for i in event.items), NOT_CONFIRMED, uow)


async def remove_cancelled(event: RegistrationCancelled, uow) -> None:
    await _remove((i.registration_id for i in event.items), CANCELLED, uow)


async def forget_beneficiaries(event: BeneficiaryPurged, uow) -> None:
    """Keep anonymous counts only: the past links of a purged person go."""
    async with uow:
        await uow.registrations.forget_beneficiaries(i.beneficiary_id for i in event.items)
        await uow.views.forget(i.beneficiary_id for i in event.items)
        await uow.commit()
    await uow.scrub()
