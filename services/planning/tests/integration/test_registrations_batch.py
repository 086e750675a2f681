"""IMP-05 in batches: ``attach_registrations`` against ``attach_registration`` one event at a time, on
SQLite and the real PostgreSQL (X-02: the same events give the same state however they are grouped).

Each test builds two planning databases the same way, applies the same ``RegistrationRecorded`` list
through the batch handler in one and through the one-event handler, event by event, in the other, then
compares every row of actions, participants and registrations and every emitted event. Ids of the
actions created by the import are drawn from a counter (reset per database), so both databases name
them the same when, and only when, they create them in the same order.
"""

import asyncio
import itertools
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event as sa_event, select, text

from contracts import Envelope
from contracts.importer import RegistrationRecorded
from prestaflow import referential_file
from servicekit.clock import FixedClock
from servicekit.dispatch import Received
from servicekit.pytest_plugin import service_databases

from cluster import SAMPLES
from planning.adapters import orm
from planning.bootstrap import bootstrap
from planning.config import PlanningSettings
from planning.domain import registrations as rules
from planning.domain.agenda import Action, ActionDraft
from planning.domain.referential import ReferentialPart
from planning.service_layer import agenda
from planning.service_layer.commands import LoadReferential
from planning.service_layer.handlers import BATCH_HANDLERS, load_referential
from planning.service_layer.registrations import attach_registration, attach_registrations

PARIS = ZoneInfo("Europe/Paris")
CLOCK = FixedClock(datetime(2025, 1, 4, 9, 0, tzinfo=UTC))
STATEMENTS_PER_BATCH = 12  # a bounded number, whatever the batch's size


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 1, day, hour, minute, tzinfo=PARIS)


def registration(n: int | str, beneficiary: str, starts_at: datetime, site: str = "ARM", remote: bool = False,
                 moved_from: datetime | None = None) -> RegistrationRecorded:
    return RegistrationRecorded(
        registration_id=f"r-{n}", beneficiary_id=beneficiary, enrolment_id=f"e-{n}", resource="ACR2025-L12",
        ods="ACR2025", site=site, starts_at=starts_at, remote=remote, order_number=None, list_kind="J-10",
        moved_from=moved_from)


def received(events: list[RegistrationRecorded]) -> list[Received]:
    """As the dispatcher hands them over; fixed event ids, so both databases record the same causation."""
    return [Received(Envelope(event_id=uuid.UUID(int=i + 1), type=e.event_type, version=e.event_version,
                              occurred_at=CLOCK.now(), producer="importer", key=e.beneficiary_id,
                              correlation_id="import-1", payload=e.model_dump(mode="json")), e)
            for i, e in enumerate(events)]


@pytest.fixture
def counted_ids(monkeypatch):
    """Imported actions' ids from a counter: ``reset()`` before building each database."""
    state = {}

    def reset() -> None:
        numbers = itertools.count(1)
        state["next"] = lambda: str(uuid.UUID(int=next(numbers)))

    reset()
    monkeypatch.setattr(rules, "new_uuid", lambda: state["next"]())
    return reset


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


async def apply_one_by_one(runtime, items: list[Received]) -> None:
    for item in items:
        async with runtime.uow_factory() as uow:
            uow.answering(item.envelope)
            await attach_registration(item.event, uow)


async def apply_batch(runtime, items: list[Received]) -> None:
    """In one transaction held open as the dispatcher holds it: the handler's commit only flushes."""
    async with runtime.uow_factory() as uow:
        uow.hold()
        await attach_registrations(items, uow)
        await uow.release()


async def outbox_position(runtime) -> int:
    async with runtime.database.sessions() as session:
        return (await session.execute(select(orm.kit.outbox.c.id).order_by(orm.kit.outbox.c.id.desc()))).scalar() or 0


def canonical(value, names: dict[str, str]):
    if isinstance(value, str):
        return names.get(value, value)
    if isinstance(value, dict):
        return {k: canonical(v, names) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [canonical(v, names) for v in value]
    return value


async def state(runtime, names: dict[str, str], after: int) -> dict:
    """Every row planning keeps about agendas and registrations, and the events emitted after ``after``;
    the actions the test planned are named, not by their random ids."""
    async with runtime.database.sessions() as session:
        tables = {}
        for table in (orm.actions, orm.participants, orm.registrations):
            rows = [canonical(dict(r), names) for r in (await session.execute(select(table))).mappings()]
            tables[table.name] = sorted(rows, key=repr)
        outbox = orm.kit.outbox
        events = [(e["type"], e["causation_id"], e["correlation_id"], canonical(e["key"], names),
                   canonical(e["payload"], names))
                  for e in (await session.execute(select(outbox.c.envelope).where(outbox.c.id > after)
                                                  .order_by(outbox.c.id))).scalars()]
    return {"tables": tables, "events": events}


async def scenario_setup(runtime) -> dict[str, str]:
    """Planned slots and earlier registrations, identical in each database; returns {id: name}."""
    group = await plan(runtime, "cdurand", "ARM", at(14, 9), nature="collective", max_participants=3)
    await agenda.add_participant(agenda.AddParticipant(group, "b-existing"), runtime.uow_factory())
    karim = await plan(runtime, "kbenamar", "LIL", at(15, 9, 30))
    marie = await plan(runtime, "mpetit", "LIL", at(15, 11))
    await agenda.add_participant(agenda.AddParticipant(marie, "b-back"), runtime.uow_factory())
    await agenda.remove_participant(marie, "b-back", "Changement", runtime.uow_factory())
    await apply_one_by_one(runtime, received([registration("known", "b-known", at(16, 9)),
                                              registration("moved", "b-moved", at(14, 14), site="LIL")]))
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


async def both_ways(planning_db, counted_ids, events) -> list[dict]:
    """The same events one at a time in one database, as one batch in another: what each ends with."""
    results = []
    for name, apply in (("single", apply_one_by_one), ("batch", apply_batch)):
        counted_ids()
        runtime = await planning_db(name)
        names = await scenario_setup(runtime)
        after = await outbox_position(runtime)
        await apply(runtime, received(events))
        results.append(await state(runtime, names, after))
    return results


async def test_imp05_batch_attaches_as_the_one_event_handler_does(planning_db, counted_ids):
    """IMP-05, X-02: same slots taken (places used by earlier items of the batch count), same actions
    created, same participants and registrations, same events in the same order."""
    single, batch = await both_ways(planning_db, counted_ids, SCENARIO)
    assert batch["tables"] == single["tables"]
    assert batch["events"] == single["events"]

    # The scenario does reach each case it names (so the comparison above is about something).
    group = [p for p in single["tables"]["participants"] if p["action_id"] == "group ARM 14/01 09:00"]
    assert sorted(p["beneficiary_id"] for p in group) == ["b-1", "b-2", "b-existing"]
    kinds = [(t, p.get("beneficiary_id") or p["action"]["site"]) for t, _, _, _, p in single["events"]]
    assert kinds == [
        ("ParticipantAdded", "b-1"), ("ParticipantAdded", "b-existing"), ("ParticipantAdded", "b-2"),
        ("ActionPlanned", "ARM"), ("ParticipantAdded", "b-3"),
        ("ParticipantRemoved", "b-moved"), ("ParticipantAdded", "b-moved"),
        ("ActionPlanned", "LIL"), ("ParticipantAdded", "b-4"), ("ParticipantAdded", "b-back"),
        ("ActionPlanned", "DIST"), ("ParticipantAdded", "b-6"), ("ActionPlanned", "DIST"), ("ParticipantAdded", "b-7"),
        ("ActionPlanned", "ARM"), ("ParticipantAdded", "b-8")]
    assert [c for _, c, _, _, _ in single["events"]][:3] == [str(uuid.UUID(int=n)) for n in (1, 2, 3)]
    remote = [a for a in single["tables"]["actions"] if a["site_code"] == "DIST"]
    assert [(a["mode"], a["to_assign"], a["advisor_code"]) for a in remote] == [("remote", True, None)] * 2


async def test_imp05_batch_with_one_registration_or_person_twice_falls_back_in_order(planning_db, counted_ids):
    """The dispatcher sends distinct keys, but a list naming one registration or one person twice still
    ends as the events one by one would (X-02)."""
    events = [registration(1, "b-1", at(14, 9)), registration(1, "b-1", at(14, 9)),
              registration(2, "b-2", at(14, 9)), registration(3, "b-2", at(14, 10)),
              registration(4, "b-4", at(14, 9))]
    results = await both_ways(planning_db, counted_ids, events)
    assert results[1] == results[0]
    assert [t for t, *_ in results[0]["events"]].count("ParticipantAdded") == 4  # r-1's second copy: nothing


async def test_imp05_a_batch_of_200_registrations_takes_a_bounded_number_of_statements(planning_db):
    """IMP-05 at import scale: 200 appointments (joining slots, re-added, creating actions, remote, already
    known) in at most a dozen statements; going back to per-event queries makes this fail."""
    runtime = await planning_db("count")
    groups = [await plan(runtime, "kbenamar", "LIL", at(20 + d, 9), nature="collective", max_participants=5)
              for d in range(3)]
    await agenda.add_participant(agenda.AddParticipant(groups[0], "b-0"), runtime.uow_factory())
    await agenda.remove_participant(groups[0], "b-0", "Changement", runtime.uow_factory())
    await apply_one_by_one(runtime, received([registration(f"known-{n}", f"b-known-{n}", at(27, 9)) for n in range(3)]))
    async with runtime.uow_factory() as uow:
        await uow.referential.get()  # a running service has it cached; this test counts the batch's own work

    events = [registration(f"known-{n}", f"b-known-{n}", at(27, 9)) for n in range(3)]
    events.append(registration(0, "b-0", at(20, 9), site="LIL"))  # had left the first group: back in it
    events += [registration(f"g{d}-{n}", f"b-g{d}-{n}", at(20 + d, 9), site="LIL") for d in range(3) for n in range(5)]
    for n in range(181):  # new slots, some shared by two or three appointments
        site = ("ARM", "DIST")[n % 2]
        events.append(registration(f"new-{n}", f"b-new-{n}", at(23 + n % 5, 9 + n % 4), site=site,
                                   remote=site == "DIST"))
    assert len(events) == 200
    statements = []
    sa_event.listen(runtime.database.engine.sync_engine, "before_cursor_execute",
                    lambda *args: statements.append(args[2]))
    await apply_batch(runtime, received(events))
    assert len(statements) <= STATEMENTS_PER_BATCH, "\n".join(statements)

    async with runtime.database.sessions() as session:
        rows = (await session.execute(select(orm.registrations.c.registration_id))).scalars().all()
        joined = (await session.execute(select(orm.participants.c.beneficiary_id).where(
            orm.participants.c.action_id.in_(groups), orm.participants.c.removed_at.is_(None)))).scalars().all()
    assert len(rows) == 200
    assert "b-0" in joined and len(joined) == 15  # the groups' places were taken: 5 each, one left out


def test_imp05_first_free_prefers_an_advisors_slot_then_the_id_and_skips_full_or_cancelled():
    def slot(id_: str, participants: int = 0, to_assign: bool = False, status: str = "planned") -> Action:
        return Action(id_, None if to_assign else "a", "diagnostic", "ACR2025", 1, "R", "on_site", "ARM", at(14, 9),
                      at(14, 10), "individual", 1, status=status, to_assign=to_assign, participants=participants)

    assert rules.first_free([slot("a", to_assign=True), slot("c"), slot("b", participants=1)]).id == "c"
    assert rules.first_free([slot("b"), slot("a", status="cancelled"), slot("c")]).id == "b"
    assert rules.first_free([slot("a", participants=1)]) is None
    assert rules.needs_attaching(None, None) and rules.needs_attaching({"action_id": "x"}, at(1, 9))
    assert not rules.needs_attaching({"action_id": "x"}, None)


def test_imp05_batch_handler_is_registered():
    assert BATCH_HANDLERS[RegistrationRecorded] is attach_registrations


async def waiting_on_a_lock(runtime) -> bool:
    async with runtime.database.sessions() as session:
        return bool((await session.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        ))).scalar())


@pytest.mark.parametrize("planning_db", ["postgresql"], indirect=True)
@pytest.mark.parametrize("apply", [apply_one_by_one, apply_batch], ids=["one event", "batch"])
async def test_imp05_an_import_waits_for_a_staff_member_taking_the_last_place_and_does_not_overbook(
        planning_db, apply):
    """IMP-05 under concurrency: a staff member adds someone to a group slot's last free place (the API
    locks the action) while planning attaches an imported appointment at that slot. The import waits
    for the lock, then sees the slot full and creates an action to assign: never 3 people for 2 places."""
    runtime = await planning_db("concurrent")
    group = await plan(runtime, "cdurand", "ARM", at(14, 9), nature="collective", max_participants=2)
    await agenda.add_participant(agenda.AddParticipant(group, "b-first"), runtime.uow_factory())

    async with runtime.uow_factory() as staff:  # the API's add_participant, held open before its commit
        assert (await staff.agenda.get(group, lock=True)).free_places == 1
        await staff.agenda.add_participant(group, "b-staff", "ACR2025-L12", "ACR2025", CLOCK.now())
        importing = asyncio.create_task(apply(runtime, received([registration(1, "b-imported", at(14, 9))])))
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
