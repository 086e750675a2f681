"""IMP-05, IMP-06 and AFF-03 through planning's one handler per event type, on SQLite and the real
PostgreSQL (X-02: the same items give the same state however they are grouped into events).

The comparison tests build two planning databases the same way, deliver the same items as ONE event in
one and as one event per item in the other (through the dispatcher: inbox, one transaction per event),
then compare every row of actions, participants and registrations, and every emitted item, aggregate
by aggregate. Actions created by the handler have ids derived from the items, so both databases name
them the same.
"""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event as sa_event, select, text

from contracts import Envelope
from contracts.affectation import ParticipantAssigned, ParticipantAssignedItem
from contracts.importer import (BeneficiaryPurged, BeneficiaryPurgedItem, ParticipantConfirmed,
                                ParticipantConfirmedItem, ParticipantNotConfirmed, ParticipantNotConfirmedItem,
                                RegistrationCancelled, RegistrationCancelledItem, RegistrationRecorded,
                                RegistrationRecordedItem)
from contracts.base import ListEvent
from prestaflow import referential_file
from servicekit.clock import PARIS, FixedClock
from servicekit.errors import RefusedInput
from servicekit.ids import derived_id
from servicekit.pytest_plugin import service_databases

from cluster import SAMPLES
from planning.adapters import orm
from planning.bootstrap import bootstrap
from planning.config import PlanningSettings
from planning.domain import registrations as rules
from planning.domain.agenda import Action, ActionDraft, Participant
from planning.domain.referential import ReferentialPart
from planning.service_layer import agenda
from planning.service_layer.commands import LoadReferential
from planning.service_layer.handlers import EVENT_HANDLERS, load_referential
from planning.service_layer.registrations import CANCELLED, MOVED, NOT_CONFIRMED

CLOCK = FixedClock(datetime(2025, 1, 4, 9, 0, tzinfo=UTC))


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 1, day, hour, minute, tzinfo=PARIS)


def registration(n: int | str, beneficiary: str, starts_at: datetime, site: str = "ARM", remote: bool = False,
                 moved_from: datetime | None = None) -> RegistrationRecordedItem:
    return RegistrationRecordedItem(
        registration_id=f"r-{n}", beneficiary_id=beneficiary, enrolment_id=f"e-{n}", resource="ACR2025-L12",
        ods="ACR2025", site=site, starts_at=starts_at, remote=remote, order_number=None, list_kind="J-10",
        moved_from=moved_from)


_sent = iter(range(1, 1_000_000))


async def deliver(runtime, event: ListEvent, event_id: str | None = None) -> str:
    """As the dispatcher hands an event over: its inbox row and the handler in one transaction."""
    envelope = Envelope(event_id=event_id or str(uuid.UUID(int=next(_sent))), type=event.event_type,
                        version=event.event_version, occurred_at=CLOCK.now(), producer="importer", key="bge",
                        correlation_id="import-1", payload=event.model_dump(mode="json"))
    return await runtime.dispatcher.handle(envelope, EVENT_HANDLERS[type(event)])


async def recorded(runtime, items: list[RegistrationRecordedItem], one_event: bool = True) -> None:
    if one_event:
        await deliver(runtime, RegistrationRecorded(items=tuple(items)))
    else:
        for item in items:
            await deliver(runtime, RegistrationRecorded(items=(item,)))


@pytest.fixture(params=["sqlite", "postgresql"])
async def planning_db(request, tmp_path):
    """Makes planning databases (migrated, sample referential loaded), all on one backend."""
    async with service_databases(request.param, tmp_path, bootstrap, PlanningSettings, CLOCK) as migrated:
        async def make(name: str):
            runtime = await migrated(name)
            part = referential_file.split(referential_file.read(SAMPLES / "referentiel.yaml")).planning
            await load_referential(LoadReferential(ReferentialPart.model_validate(part)), runtime.uow_factory())
            return runtime

        yield make


async def plan(runtime, advisor: str, site: str, starts_at: datetime, **extra) -> str:
    draft = ActionDraft(advisor, starts_at, starts_at + timedelta(hours=1), ods="ACR2025", step=1,
                        resource="ACR2025-L12", site=site, **extra)
    return (await agenda.plan_action(draft, runtime.uow_factory())).id


async def outbox_position(runtime) -> int:
    async with runtime.database.sessions() as session:
        return (await session.execute(select(orm.kit.outbox.c.id).order_by(orm.kit.outbox.c.id.desc()))).scalar() or 0


async def emitted(runtime, after: int) -> list[dict]:
    """The envelopes emitted after outbox position ``after``, in order."""
    outbox = orm.kit.outbox
    async with runtime.database.sessions() as session:
        return list((await session.execute(select(outbox.c.envelope).where(outbox.c.id > after)
                                           .order_by(outbox.c.id))).scalars())


def canonical(value, names: dict[str, str]):
    if isinstance(value, str):
        return names.get(value, value)
    if isinstance(value, dict):
        return {k: canonical(v, names) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [canonical(v, names) for v in value]
    return value


async def state(runtime, names: dict[str, str], after: int) -> dict:
    """Every row planning keeps about agendas and registrations, and the items emitted after ``after``
    per aggregate, in order; the actions the test planned are named, not by their random ids."""
    async with runtime.database.sessions() as session:
        tables = {}
        for table in (orm.actions, orm.participants, orm.registrations, orm.enrolments):
            rows = [canonical(dict(r), names) for r in (await session.execute(select(table))).mappings()]
            tables[table.name] = sorted(rows, key=repr)
    per_action: dict[str, list] = {}
    for envelope in await emitted(runtime, after):
        for item in envelope["payload"]["items"]:
            aggregate = item["action_id"] if "action_id" in item else item["enrolment_id"]
            per_action.setdefault(canonical(aggregate, names), []).append(
                (envelope["type"], canonical(item, names)))
    return {"tables": tables, "items": per_action}


async def scenario_setup(runtime) -> dict[str, str]:
    """Planned slots and earlier registrations, identical in each database; returns {id: name}."""
    group = await plan(runtime, "cdurand", "ARM", at(14, 9), nature="collective", max_participants=3)
    await agenda.add_participant(agenda.AddParticipant(group, "b-existing"), runtime.uow_factory())
    karim = await plan(runtime, "kbenamar", "LIL", at(15, 9, 30))
    marie = await plan(runtime, "mpetit", "LIL", at(15, 11))
    await agenda.add_participant(agenda.AddParticipant(marie, "b-back"), runtime.uow_factory())
    await agenda.remove_participant(marie, "b-back", "Changement", runtime.uow_factory())
    await recorded(runtime, [registration("known", "b-known", at(16, 9)),
                             registration("moved", "b-moved", at(14, 14), site="LIL")])
    return {group: "group ARM 14/01 09:00", karim: "kbenamar LIL 15/01 09:30", marie: "mpetit LIL 15/01 11:00"}


SCENARIO = [
    registration(1, "b-1", at(14, 9)),  # joins the group action: 2 free places, 1 left
    registration("existing", "b-existing", at(14, 9)),  # already in it: re-added, takes no place
    registration(2, "b-2", at(14, 9).astimezone(UTC)),  # the same time written in UTC: the last place
    registration(3, "b-3", at(14, 9)),  # the group is full: a new action to assign
    registration("known", "b-known", at(16, 9)),  # already attached, not moved: nothing
    registration("moved", "b-moved", at(15, 9, 30), site="LIL", moved_from=at(14, 14)),  # takes kbenamar's slot
    registration(4, "b-4", at(15, 9, 30), site="LIL"),  # that slot is now full: a new action
    registration(5, "b-back", at(15, 11), site="LIL"),  # had left mpetit's slot: back in it
    registration(6, "b-6", at(15, 11), site="DIST", remote=True),  # remote: a new remote action
    registration(7, "b-7", at(15, 11), site="DIST", remote=True),  # and another one, the first is full
    registration(8, "b-8", at(16, 9), moved_from=at(16, 10)),  # moved but unknown here: attached as new
]


async def both_ways(planning_db, items, setup=scenario_setup) -> tuple[dict, dict, list[dict]]:
    """The same items as one event per item in one database, as one event in another: what each ends
    with, and the events the single event gave."""
    results = []
    for name, one_event in (("per_item", False), ("one_event", True)):
        runtime = await planning_db(name)
        names = await setup(runtime)
        after = await outbox_position(runtime)
        await recorded(runtime, items, one_event)
        results.append(await state(runtime, names, after))
    return results[0], results[1], await emitted(runtime, after)


async def no_setup(runtime) -> dict[str, str]:
    return {}


async def test_imp05_one_event_of_several_items_attaches_as_one_event_per_item(planning_db):
    """IMP-05, X-02: same slots taken (places used by earlier items of the event count), same actions
    created, same participants and registrations, the same items about each action in the same order
    (hence the same versions), in four events: who left, the actions planned, who joined, and the
    enrolments their first registration opened (PRC-01; a moved appointment opens none)."""
    per_item, one_event, events = await both_ways(planning_db, SCENARIO)
    assert one_event["tables"] == per_item["tables"]
    assert one_event["items"] == per_item["items"]
    assert [(e["type"], len(e["payload"]["items"])) for e in events] == [
        ("ParticipantRemoved", 1), ("ActionPlanned", 5), ("ParticipantAdded", 10), ("EnrolmentOpened", 9)]
    assert len({e["causation_id"] for e in events}) == 1

    # The scenario does reach each case it names (so the comparison above is about something).
    group = [p for p in per_item["tables"]["participants"] if p["action_id"] == "group ARM 14/01 09:00"]
    assert sorted(p["beneficiary_id"] for p in group) == ["b-1", "b-2", "b-existing"]
    assert [(t, i["beneficiary_id"], i["version"]) for t, i in one_event["items"]["group ARM 14/01 09:00"]] == [
        ("ParticipantAdded", "b-1", 3), ("ParticipantAdded", "b-existing", 4), ("ParticipantAdded", "b-2", 5)]
    moved = [(t, i["reason"]) for items in one_event["items"].values() for t, i in items if t == "ParticipantRemoved"]
    assert moved == [("ParticipantRemoved", MOVED)]
    remote = [a for a in per_item["tables"]["actions"] if a["site_code"] == "DIST"]
    assert [(a["mode"], a["to_assign"], a["advisor_code"]) for a in remote] == [("remote", True, None)] * 2
    # Made by an event handler: ids derived from the registration, never random (a replay makes the same).
    created = {a["id"] for a in per_item["tables"]["actions"] if a["to_assign"]}
    assert derived_id("action", "r-3", 0, at(14, 9).astimezone(UTC).isoformat()) in created


async def test_imp05_an_event_naming_one_registration_or_person_twice(planning_db):
    """Several items about one registration, one person or one slot in one event end as the events
    one by one would (X-02)."""
    items = [registration(1, "b-1", at(14, 9)), registration(1, "b-1", at(14, 9)),
             registration(2, "b-2", at(14, 9)), registration(3, "b-2", at(14, 10)),
             registration(4, "b-4", at(14, 9))]
    per_item, one_event, events = await both_ways(planning_db, items)
    assert one_event == per_item
    added = [i for e in events if e["type"] == "ParticipantAdded" for i in e["payload"]["items"]]
    assert len(added) == 4  # r-1's second copy: nothing


async def test_imp05_an_appointment_moved_twice_in_one_event_leaves_only_after_it_joined(planning_db):
    """A registration attached, moved, and moved back within one event: no consumer may read that it left
    an action before reading that it joined it, so the phases are cut where that would happen."""
    items = [registration(1, "b-1", at(14, 9)),
             registration(1, "b-1", at(14, 10), moved_from=at(14, 9)),
             registration(1, "b-1", at(14, 9), moved_from=at(14, 10))]
    per_item, one_event, events = await both_ways(planning_db, items, setup=no_setup)
    assert one_event == per_item
    assert [e["type"] for e in events] == ["ActionPlanned", "ParticipantAdded", "ParticipantRemoved", "ActionPlanned",
                                           "ParticipantAdded", "ParticipantRemoved", "ParticipantAdded",
                                           "EnrolmentOpened"]
    [registered] = one_event["tables"]["registrations"]
    first = derived_id("action", "r-1", 0, at(14, 9).astimezone(UTC).isoformat())
    assert registered["action_id"] == first  # back in the slot it first created, which had a free place again


async def test_imp05_a_redelivered_event_or_the_same_list_again_changes_nothing(planning_db):
    runtime = await planning_db("redelivery")
    names = await scenario_setup(runtime)
    event = RegistrationRecorded(items=tuple(SCENARIO))
    event_id = str(uuid.uuid4())
    assert await deliver(runtime, event, event_id) == "processed"
    after = await outbox_position(runtime)
    before = await state(runtime, names, after)
    assert await deliver(runtime, event, event_id) == "duplicate"  # the inbox skips it
    assert await state(runtime, names, after) == before
    # The importer sending the same list again (a new event): every registration is known, none moved.
    assert await deliver(runtime, RegistrationRecorded(items=tuple(i for i in SCENARIO if i.moved_from is None)))
    assert await state(runtime, names, after) == before and before["items"] == {}


async def test_imp05_a_full_event_of_new_appointments_is_three_events_in_a_bounded_number_of_statements(planning_db):
    """An imported list's event at its size limit (1,000 appointments, most with no planned slot): its
    ActionPlanned items in one event, then its ParticipantAdded items in one, its EnrolmentOpened items
    in one, and the handler's reads
    and writes do not grow with the number of items."""
    runtime = await planning_db("large")
    groups = [await plan(runtime, "kbenamar", "LIL", at(20 + d, 9), nature="collective", max_participants=5)
              for d in range(3)]
    async with runtime.uow_factory() as uow:
        await uow.referential.get()  # a running service has it cached; this test counts the event's own work
    items = [registration(f"g{d}-{n}", f"b-g{d}-{n}", at(20 + d, 9), site="LIL") for d in range(3) for n in range(6)]
    for n in range(1000 - len(items)):  # new slots, some shared by several appointments
        site = ("ARM", "DIST")[n % 2]
        items.append(registration(f"new-{n}", f"b-new-{n}", at(6 + n % 20, 9 + n % 4), site=site,
                                  remote=site == "DIST"))
    after = await outbox_position(runtime)
    statements = []
    sa_event.listen(runtime.database.engine.sync_engine, "before_cursor_execute",
                    lambda *args: statements.append(args[2]))
    await recorded(runtime, items)
    # 16 for the agenda, 2 for the enrolments the registrations open (PRC-01: read, then written with
    # their history in one statement each).
    assert len(statements) <= 20, "\n".join(statements)

    events = await emitted(runtime, after)
    assert [(e["type"], len(e["payload"]["items"])) for e in events] == [
        ("ActionPlanned", 985), ("ParticipantAdded", 1000), ("EnrolmentOpened", 1000)]
    async with runtime.database.sessions() as session:
        rows = (await session.execute(select(orm.registrations.c.registration_id))).scalars().all()
        joined = (await session.execute(select(orm.participants.c.beneficiary_id).where(
            orm.participants.c.action_id.in_(groups), orm.participants.c.removed_at.is_(None)))).scalars().all()
    assert len(rows) == 1000
    assert len(joined) == 15  # the groups' places were taken: 5 each, the sixth of each got an action to assign


async def test_imp06_confirmations_removals_and_purges_over_several_items(planning_db):
    """One event each, naming a registration twice: each registration is confirmed or leaves its action
    once, with J-2's or the list's reason; a purge forgets the person's links, keeping anonymous counts."""
    runtime = await planning_db("imp06")
    group = await plan(runtime, "cdurand", "ARM", at(14, 9), nature="collective", max_participants=5)
    await recorded(runtime, [registration(n, f"b-{n}", at(14, 9)) for n in range(1, 5)])

    def common(n: int) -> dict:
        return {"registration_id": f"r-{n}", "beneficiary_id": f"b-{n}", "starts_at": at(14, 9)}

    await deliver(runtime, ParticipantConfirmed(items=tuple(
        ParticipantConfirmedItem(**common(n), enrolment_id=f"e-{n}", order_number=f"BDC-{n}") for n in (1, 1, 2))))
    after = await outbox_position(runtime)
    await deliver(runtime, ParticipantNotConfirmed(items=tuple(
        ParticipantNotConfirmedItem(**common(n), enrolment_id=f"e-{n}", reason="no_order_number")
        for n in (3, 3, 9))))  # r-9: unknown here, nothing to do
    await deliver(runtime, RegistrationCancelled(items=tuple(RegistrationCancelledItem(**common(n)) for n in (4, 3))))
    events = await emitted(runtime, after)
    assert [(e["type"], [(i["beneficiary_id"], i["reason"]) for i in e["payload"]["items"]]) for e in events] == [
        ("ParticipantRemoved", [("b-3", NOT_CONFIRMED)]), ("ParticipantRemoved", [("b-4", CANCELLED)])]

    await deliver(runtime, BeneficiaryPurged(items=(BeneficiaryPurgedItem(beneficiary_id="b-3"),
                                                    BeneficiaryPurgedItem(beneficiary_id="b-1"))))
    async with runtime.database.sessions() as session:
        confirmed = dict((await session.execute(select(orm.registrations.c.registration_id,
                                                       orm.registrations.c.confirmed))).all())
        participants = dict((await session.execute(select(orm.participants.c.beneficiary_id,
                                                          orm.participants.c.removed_at.is_(None)).where(
            orm.participants.c.action_id == group))).all())
    assert confirmed == {"r-2": True, "r-4": False}
    assert participants == {"b-1": True, "b-2": True, "b-4": False}  # b-1 still counts, anonymous; b-3 forgotten


async def test_aff03_an_event_of_assignments_is_applied_in_order_with_derived_ids(planning_db):
    """Two assignments of one appointment in one event: the first applies, the second finds it assigned
    and is refused; an action created for an assignment takes an id derived from the assignment."""
    runtime = await planning_db("aff03")
    await recorded(runtime, [registration(1, "b-1", at(14, 9)), registration(2, "b-2", at(14, 11))])
    async with runtime.database.sessions() as session:
        imported = dict((await session.execute(select(orm.registrations.c.registration_id,
                                                      orm.registrations.c.action_id))).all())

    def assignment(n: str, action_id: str, effect: str, **extra) -> ParticipantAssignedItem:
        return ParticipantAssignedItem(assignment_id=f"as-{n}", action_id=action_id, advisor="cdurand", category=1,
                                       effect=effect, assigned_by="mpetit", **extra)

    after = await outbox_position(runtime)
    await deliver(runtime, ParticipantAssigned(items=(
        assignment("1", imported["r-1"], "move"), assignment("2", imported["r-1"], "move"),
        assignment("3", imported["r-2"], "create", site="ARM"))))
    events = await emitted(runtime, after)
    created = derived_id("action", "as-3")
    assert [(e["type"], [i.get("assignment_id") or i["action_id"] for i in e["payload"]["items"]])
            for e in events] == [
        ("ActionPlanned", [created]), ("ParticipantRemoved", [imported["r-2"]]), ("ParticipantAdded", [created]),
        ("ActionChanged", [imported["r-1"], imported["r-2"]]), ("AssignmentApplied", ["as-1", "as-3"]),
        ("AssignmentRefused", ["as-2"])]
    [refused] = events[-1]["payload"]["items"]
    assert refused["messages"] == ["Le rendez-vous du 14/01/2025 09:00 n'est plus à affecter (déjà affecté ou annulé)."]
    async with runtime.database.sessions() as session:
        moved_to = dict((await session.execute(select(orm.registrations.c.registration_id,
                                                      orm.registrations.c.action_id))).all())
    assert moved_to == {"r-1": imported["r-1"], "r-2": created}


async def test_imp05_an_appointment_of_an_ods_planning_does_not_know_fails_the_event_naming_it(planning_db):
    """The importer only sends ODS it learnt from planning's referential; if planning's is missing, the
    event fails whole (retried, then a dead letter saying why) rather than placing the appointment badly."""
    runtime = await planning_db("unknown_ods")
    unknown = registration(1, "b-1", at(14, 9)).model_copy(update={"ods": "NOPE"})
    with pytest.raises(RefusedInput) as refused:
        await recorded(runtime, [registration(2, "b-2", at(14, 10)), unknown])
    assert refused.value.messages == ["ODS « NOPE » inconnue du référentiel de planning (ou sans étape 1) : "
                                      "le rendez-vous importé ne peut pas être placé."]
    async with runtime.database.sessions() as session:
        assert (await session.execute(select(orm.registrations.c.registration_id))).all() == []


def test_imp05_first_free_prefers_an_advisors_slot_then_the_id_and_skips_full_or_cancelled():
    def slot(id_: str, participants: int = 0, to_assign: bool = False, status: str = "planned") -> Action:
        return Action(id_, None if to_assign else "a", "diagnostic", "ACR2025", 1, "R", "on_site", "ARM", at(14, 9),
                      at(14, 10), "individual", 1, status=status, to_assign=to_assign, participants=participants)

    assert rules.first_free([slot("a", to_assign=True), slot("c"), slot("b", participants=1)]).id == "c"
    assert rules.first_free([slot("b"), slot("a", status="cancelled"), slot("c")]).id == "b"
    assert rules.first_free([slot("a", participants=1)]) is None
    assert rules.needs_attaching(None, None)
    assert rules.needs_attaching(rules.Registration("r", "b", "x"), at(1, 9))
    assert not rules.needs_attaching(rules.Registration("r", "b", "x"), None)


async def waiting_on_a_lock(runtime) -> bool:
    async with runtime.database.sessions() as session:
        return bool((await session.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        ))).scalar())


@pytest.mark.parametrize("planning_db", ["postgresql"], indirect=True)
@pytest.mark.parametrize("others", [0, 50], ids=["alone in its event", "among 50 others"])
async def test_imp05_an_import_waits_for_a_staff_member_taking_the_last_place_and_does_not_overbook(
        planning_db, others):
    """IMP-05 under concurrency: a staff member adds someone to a group slot's last free place (the API
    locks the action) while planning attaches an imported appointment at that slot. The import waits
    for the lock, then sees the slot full and creates an action to assign: never 3 people for 2 places."""
    runtime = await planning_db("concurrent")
    group = await plan(runtime, "cdurand", "ARM", at(14, 9), nature="collective", max_participants=2)
    await agenda.add_participant(agenda.AddParticipant(group, "b-first"), runtime.uow_factory())
    items = [registration(f"o-{n}", f"b-o-{n}", at(15 + n % 5, 9 + n % 3), site="LIL") for n in range(others)]
    items.insert(others // 2, registration(1, "b-imported", at(14, 9)))

    async with runtime.uow_factory() as staff:  # the API's add_participant, held open before its commit
        assert (await staff.agenda.get(group, lock=True)).free_places == 1
        await staff.agenda.save_participants(new=[Participant(group, "b-staff", "ACR2025-L12", "ACR2025",
                                                                     CLOCK.now())])
        importing = asyncio.create_task(recorded(runtime, items))
        for _ in range(200):  # until the import either waits on the lock or (without one) finishes
            if importing.done() or await waiting_on_a_lock(runtime):
                break
            await asyncio.sleep(0.05)
        await staff.commit()
    await importing

    async with runtime.database.sessions() as session:
        places = {r.beneficiary_id: r.action_id for r in await session.execute(
            select(orm.participants.c.beneficiary_id, orm.participants.c.action_id)
            .where(orm.participants.c.removed_at.is_(None)))}
        created = (await session.execute(select(orm.actions.c.to_assign).where(
            orm.actions.c.id == places["b-imported"]))).scalar()
    assert [b for b, a in places.items() if a == group] == ["b-first", "b-staff"]
    assert places["b-imported"] != group and created is True
    assert len(places) == 3 + others
