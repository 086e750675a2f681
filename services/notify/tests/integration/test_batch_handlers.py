"""Notify's batch handlers (an import's events many at once) against its one-event handlers, on
SQLite and PostgreSQL.

Each scenario runs in two databases from the same state: once through the batch handler, once
through the one-event handler item by item, as the dispatcher would call them. Both must leave the
same rows in every notify table and the same events in the outbox (NOT-04, NOT-06, X-01, X-02); a
batch must read and write in a small number of statements whatever its size.
"""

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select

from contracts import Envelope, Event
from contracts.topics import BY_PRODUCER
from contracts.importer import (BeneficiaryRegistered, ParticipantConfirmed, RegistrationCancelled,
                                RegistrationRecorded)
from contracts.planning import ActionCancelled, ActionFields, ActionPlanned, ParticipantAdded, ParticipantRemoved
from servicekit.bus import Bus
from servicekit.clock import FixedClock
from servicekit.dispatch import Received

from notify.adapters import orm
from notify.bootstrap import bootstrap
from notify.domain.appointments import message_id
from notify.domain.messages import dedup_key
from notify.domain.schedule import reminder_due_at
from notify.domain.setup import Rule, SetupPart, Template
from notify.service_layer.handlers import BATCH_HANDLERS, EVENT_HANDLERS, LoadSetup, load_setup

PARIS = ZoneInfo("Europe/Paris")
NOTIFY_TABLES = [t for t in orm.metadata.sorted_tables
                 if t not in (orm.kit.outbox, orm.kit.inbox, orm.kit.dead_letters)]
SETUP = SetupPart(
    templates=(Template(code="ACR-PRESENTATION", channel="email", subject="Votre rendez-vous du {{ action.date }}"),
               Template(code="ACR-SUIVI", channel="email", subject="Suite de votre rendez-vous"),
               Template(code="ACR-SMS", channel="sms", body_text="Rendez-vous le {{ action.date }}"),
               Template(code="ACR-RAPPEL", channel="email", subject="Rappel : rendez-vous le {{ action.date }}"),
               Template(code="ACR-ANNULATION", channel="email", subject="Annulation du {{ action.date }}"),
               Template(code="AUTRE", channel="email", subject="Autre prestation")),
    rules=(Rule(ods="ACR2025", confirmation="any", template="ACR-PRESENTATION", delay_days=0),
           Rule(ods="ACR2025", confirmation="any", template="ACR-SUIVI", delay_days=3),
           Rule(ods="ACR2025", confirmation="any", template="ACR-SMS", delay_days=-1),
           Rule(ods="ACR2025", confirmation="yes", template="ACR-RAPPEL", delay_days=-2),
           Rule(ods="ACR2025", confirmation="no", template="ACR-ANNULATION", delay_days=-2),
           Rule(ods="AUTRE", confirmation="any", template="AUTRE", delay_days=0)))


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS).astimezone(UTC)


NOW = paris(2025, 3, 20, 9, 0)
T1, T2, T3 = paris(2025, 4, 1, 10, 0), paris(2025, 4, 3, 14, 0), paris(2025, 4, 2, 9, 0)
T4, T5 = paris(2025, 4, 4, 11, 0), paris(2025, 4, 7, 15, 30)
PAST = paris(2025, 3, 18, 10, 0)
SOON = paris(2025, 3, 23, 10, 0)  # J-7 already gone: no reminder


# --- Events as notify receives them -------------------------------------------------------------


def contact(who: str, version: int = 1, email: bool = True, sms: bool = True) -> BeneficiaryRegistered:
    return BeneficiaryRegistered(beneficiary_id=who, sealed=f"scellé-{who}-{version}", accepts_email=email,
                                 accepts_sms=sms)


def registration(who: str, starts_at: datetime, reg: str | None = None, order: str | None = None,
                 site: str = "ARM", remote: bool = False, ods: str = "ACR2025") -> RegistrationRecorded:
    return RegistrationRecorded(registration_id=reg or f"r-{who}", beneficiary_id=who, enrolment_id=f"e-{who}",
                                resource="ACR2025-L12", ods=ods, site=site, starts_at=starts_at, remote=remote,
                                order_number=order, list_kind="J-10")


def planned(action_id: str, starts_at: datetime, site: str | None = "ARM", mode: str = "on_site",
            nature: str = "individual") -> ActionPlanned:
    return ActionPlanned(action=ActionFields(
        action_id=action_id, advisor=None, action_type="diagnostic", ods="ACR2025", step=1, resource="ACR2025-L12",
        mode=mode, site=site, starts_at=starts_at, ends_at=starts_at + timedelta(hours=1), nature=nature,
        max_participants=1 if nature == "individual" else 8, to_assign=True))


def added(action_id: str, who: str, ods: str | None = "ACR2025") -> ParticipantAdded:
    return ParticipantAdded(action_id=action_id, beneficiary_id=who, resource="ACR2025-L12", ods=ods)


def key_of(e: Event) -> str:
    """The envelope key its producer gives it."""
    if isinstance(e, ActionPlanned):
        return e.action.action_id
    return getattr(e, "action_id", None) or e.beneficiary_id


def envelope(e: Event) -> Envelope:
    return Envelope(event_id=uuid.uuid4(), type=e.event_type, version=e.event_version, occurred_at=NOW,
                    producer=e.producer, key=key_of(e), payload=e.model_dump(mode="json"))


def received(e: Event) -> Received:
    return Received(envelope(e), e)


# --- Notify without its API or postman: handlers called as the dispatcher calls them --------------


class Notify:
    def __init__(self, settings):
        self.runtime = bootstrap(Bus("memory://"), settings, FixedClock(NOW))
        self.statements: list[str] | None = None
        event.listen(self.runtime.database.engine.sync_engine, "before_cursor_execute", self._count)

    def _count(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if self.statements is not None:
            self.statements.append(statement)

    async def start(self) -> "Notify":
        await self.runtime.database.migrate()
        async with self.runtime.uow_factory() as uow:
            await load_setup(LoadSetup(SETUP), uow)
        return self

    async def one_by_one(self, events: list[Event]) -> None:
        for item in map(received, events):
            async with self.runtime.uow_factory() as uow:
                uow.answering(item.envelope)
                await EVENT_HANDLERS[type(item.event)](item.event, uow)

    async def batch(self, events: list[Event]) -> list[str]:
        """One batch handler call in one transaction; the statements it issued."""
        items = [received(e) for e in events]
        assert len({type(e) for e in events}) == 1
        self.statements = []
        try:
            async with self.runtime.uow_factory() as uow:
                await BATCH_HANDLERS[type(events[0])](items, uow)
                await uow.commit()
        finally:
            statements, self.statements = self.statements, None
        return statements

    async def run(self, uow_work: Callable[[Any], Any]) -> None:
        async with self.runtime.uow_factory() as uow:
            await uow_work(uow)
            await uow.commit()

    async def tables(self) -> dict[str, list[tuple]]:
        async with self.runtime.database.sessions() as session:
            return {t.name: sorted((tuple(r) for r in (await session.execute(select(t))).all()), key=repr)
                    for t in NOTIFY_TABLES}

    async def emitted(self) -> list[tuple[str, dict]]:
        outbox = orm.kit.outbox
        async with self.runtime.database.sessions() as session:
            rows = (await session.execute(select(outbox.c.type, outbox.c.envelope).order_by(outbox.c.id))).all()
        return [(kind, envelope["payload"]) for kind, envelope in rows]

    async def rows(self, table, **where: Any) -> list[dict[str, Any]]:
        async with self.runtime.database.sessions() as session:
            query = select(table).where(*[table.c[k] == v for k, v in where.items()])
            return [dict(r) for r in (await session.execute(query)).mappings()]


@pytest.fixture(params=["sqlite", "postgresql"])
async def pair(request, tmp_path, sqlite_settings, pg_settings):
    """Two notify databases on one backend: ``batched`` and ``single``."""
    if request.param == "sqlite":
        settings = [sqlite_settings.model_copy(update={"home": tmp_path / name}) for name in ("batched", "single")]
    else:  # both schemas start with the fixture's prefix: dropped with it
        settings = [pg_settings.model_copy(update={"db_schema_prefix": f"{pg_settings.db_schema_prefix}{name}_"})
                    for name in ("b", "s")]
    batched, single = Notify(settings[0]), Notify(settings[1])
    try:
        yield await batched.start(), await single.start()
    finally:
        await batched.runtime.stop()
        await single.runtime.stop()


async def both(pair, events: list[Event]) -> None:
    for n in pair:
        await n.one_by_one(events)


async def compare(pair, events: list[Event]) -> tuple["Notify", list[str]]:
    """``events`` through the batch handler in one database, one at a time in the other: same rows,
    same emitted events."""
    batched, single = pair
    statements = await batched.batch(events)
    await single.one_by_one(events)
    assert await batched.tables() == await single.tables()
    assert await batched.emitted() == await single.emitted()
    return batched, statements


# --- Each batch handler equals its one-event handler ---------------------------------------------


async def test_x02_record_contacts_batch_equals_one_at_a_time(pair):
    """A known contact is updated (its readable fields kept until unsealed), new ones are added."""
    await both(pair, [contact("b-known", email=True, sms=False)])
    for n in pair:
        await n.run(lambda uow: uow.contacts.unsealed("b-known", "scellé-b-known-1", {
            "civility": "Mme", "first_name": "Léa", "last_name": "DUPONT", "email": "lea@example.org",
            "phone": None}))
    n, _ = await compare(pair, [contact("b-known", 2, email=False, sms=True), contact("b-1"), contact("b-2"),
                                contact("b-3", email=False)])
    known = (await n.rows(orm.contacts, beneficiary_id="b-known"))[0]
    assert (known["sealed"], known["first_name"], known["accepts_email"]) == ("scellé-b-known-2", "Léa", False)
    assert len(await n.rows(orm.contacts)) == 4


async def test_x02_record_actions_batch_equals_one_at_a_time(pair):
    """A known action is planned again (moved, and no longer cancelled), new ones are added."""
    await both(pair, [planned("a-known", T1), planned("a-cancelled", T2), ActionCancelled(action_id="a-cancelled")])
    n, _ = await compare(pair, [planned("a-known", T2, site="LIL", mode="remote"), planned("a-cancelled", T3),
                                planned("a-1", T4, site=None), planned("a-2", T5, nature="collective")])
    known = (await n.rows(orm.actions, action_id="a-known"))[0]
    assert (known["starts_at"], known["site"], known["mode"]) == (T2, "LIL", "remote")
    assert [a["cancelled"] for a in await n.rows(orm.actions, action_id="a-cancelled")] == [False]
    assert len(await n.rows(orm.actions)) == 4


async def registrations_state(pair) -> None:
    """What notify knows before the batch of registrations: some appointments and their messages,
    actions planning announced first, some of them already held by an appointment."""
    await both(pair, [
        registration("b-moved", T1),  # moved by the batch: its reminder and later rules follow
        registration("b-twice", T1, reg="r-twice-1"),  # the access mail is once per person
        registration("b-cancel", T1), RegistrationCancelled(registration_id="r-b-cancel", beneficiary_id="b-cancel",
                                                            starts_at=T1),
        registration("b-conf", T2, order="BDC-1"),
        ParticipantConfirmed(registration_id="r-b-conf", beneficiary_id="b-conf", enrolment_id="e-b-conf",
                             order_number="BDC-1", starts_at=T2),
        # Planning was quicker: the actions and participants came before the registrations.
        planned("a-pf", T3), added("a-pf", "b-pf"),
        planned("a-coll", T4, nature="collective"), added("a-coll", "b-c1"), added("a-coll", "b-c2"),
        planned("a-held", T5), added("a-held", "b-other"), registration("b-other", T5), added("a-held", "b-held"),
        planned("a-left", T1), added("a-left", "b-left"), ParticipantRemoved(action_id="a-left", beneficiary_id="b-left"),
    ])


async def test_not04_schedule_registrations_batch_equals_one_at_a_time(pair):
    """NOT-04 / NOT-06: appointments created, moved or already known, linked to the action planning
    announced first (once per action), messages prepared once per recipient × rule × appointment;
    an appointment already past prepares nothing before it."""
    await registrations_state(pair)
    n, _ = await compare(pair, [
        registration("b-moved", T2, order="BDC-2", site="LIL", remote=True),
        registration("b-twice", T2, reg="r-twice-2"),
        registration("b-pf", T3), registration("b-c1", T4), registration("b-c2", T4), registration("b-held", T5),
        registration("b-left", T1),
        registration("b-past", PAST), registration("b-soon", SOON),
        registration("b-cancel", T1, order="BDC-3"), registration("b-conf", T2, order="BDC-1"),
        registration("b-autre", T1, ods="AUTRE"),
    ])
    appointments = {a["registration_id"]: a for a in await n.rows(orm.appointments)}
    assert appointments["r-b-pf"]["action_id"] == "a-pf"
    assert [appointments[r]["action_id"] for r in ("r-b-c1", "r-b-c2", "r-b-held", "r-b-left")] == [
        "a-coll", None, None, None]
    moved = appointments["r-b-moved"]
    assert (moved["starts_at"], moved["site"], moved["remote"], moved["order_number"]) == (T2, "LIL", True, "BDC-2")
    reminder = (await n.rows(orm.messages, dedup_key=dedup_key("b-moved", "mbv_reminder", "r-b-moved")))[0]
    assert reminder["due_at"] == reminder_due_at(T2)
    assert {m["purpose"] for m in await n.rows(orm.messages, beneficiary_id="b-past")} == {"rule"}  # J+3 only
    assert await n.rows(orm.messages, beneficiary_id="b-twice", registration_id="r-twice-2", purpose="mbv_access") == []
    assert {m["purpose"] for m in await n.rows(orm.messages, beneficiary_id="b-soon")} == {"mbv_access", "rule"}


async def participants_state(pair) -> None:
    """Appointments known before planning's participants: some at the action's time, some elsewhere,
    one person already in another action, participations removed or current."""
    await both(pair, [
        registration("b-exact", T1), planned("a-exact", T1),
        registration("b-move", T1), planned("a-move", T2, site="LIL", mode="remote"),
        registration("b-rejoin", T3), planned("a-rejoin", T3), added("a-rejoin", "b-rejoin"),
        ParticipantRemoved(action_id="a-rejoin", beneficiary_id="b-rejoin"),
        registration("b-already", T4), planned("a-already", T4), added("a-already", "b-already"),
        registration("b-two", T1, reg="r-two-a"), registration("b-two", T4, reg="r-two-b"),
        planned("a-two-old", T4), added("a-two-old", "b-two"), planned("a-two-new", T5),
        registration("b-ods", T1), planned("a-ods", T1),
        registration("b-past", PAST), planned("a-past", PAST + timedelta(hours=2)),
        planned("a-early", T1),  # its participant registers later
    ])


async def test_not04_link_participants_batch_equals_one_at_a_time(pair):
    """NOT-04: each participant's appointment joins the action and follows its time (its pending
    messages with it); an action joined again, an unknown action, another ODS, no appointment yet."""
    await participants_state(pair)
    n, _ = await compare(pair, [
        added("a-exact", "b-exact"), added("a-move", "b-move"), added("a-rejoin", "b-rejoin"),
        added("a-already", "b-already"), added("a-two-new", "b-two"), added("a-ods", "b-ods", ods="AUTRE"),
        added("a-missing", "b-missing"), added("a-past", "b-past"), added("a-early", "b-early"),
    ])
    appointments = {a["registration_id"]: a for a in await n.rows(orm.appointments)}
    assert appointments["r-b-exact"]["action_id"] == "a-exact"
    assert (appointments["r-b-move"]["action_id"], appointments["r-b-move"]["starts_at"],
            appointments["r-b-move"]["site"], appointments["r-b-move"]["remote"]) == ("a-move", T2, "LIL", True)
    assert (appointments["r-two-a"]["action_id"], appointments["r-two-a"]["starts_at"]) == ("a-two-new", T5)
    assert appointments["r-two-b"]["action_id"] == "a-two-old"
    assert appointments["r-b-ods"]["action_id"] is None
    reminder = (await n.rows(orm.messages, id=message_id(dedup_key("b-move", "mbv_reminder", "r-b-move"))))[0]
    assert reminder["due_at"] == reminder_due_at(T2)
    participations = {(p["action_id"], p["beneficiary_id"]): p["removed"] for p in await n.rows(orm.participations)}
    assert participations[("a-rejoin", "b-rejoin")] is False
    assert ("a-missing", "b-missing") in participations and ("a-early", "b-early") in participations


async def test_not04_an_import_in_batches_equals_one_at_a_time_both_orders(pair):
    """A whole import consumed in batches, planning first then importer first: same state as one event
    at a time (NOT-04, X-01)."""
    people = [f"b-{i}" for i in range(6)]
    starts = [T1 + timedelta(hours=i) for i in range(6)]
    batches = [
        [planned(f"a-{i}", s) for i, s in enumerate(starts)],
        [added(f"a-{i}", who) for i, who in enumerate(people[:3])],  # planning first for three people
        [contact(who) for who in people],
        [registration(who, s) for who, s in zip(people, starts, strict=True)],
        [added(f"a-{i}", who) for i, who in enumerate(people) if i >= 3],  # importer first for the others
    ]
    for events in batches:
        await compare(pair, events)
    batched = pair[0]
    assert [a["action_id"] for a in sorted(await batched.rows(orm.appointments), key=lambda a: a["beneficiary_id"])
            ] == [f"a-{i}" for i in range(6)]


async def test_x02_a_batch_repeating_a_key_falls_back_to_one_event_at_a_time(pair):
    """Two items of one natural key see each other's writes: the same result as one at a time."""
    await both(pair, [registration("b-1", T1), planned("a-1", T2), planned("a-2", T3)])
    await compare(pair, [contact("b-1"), contact("b-1", 2, sms=False), contact("b-2")])
    await compare(pair, [planned("a-3", T4), planned("a-3", T5)])
    await compare(pair, [registration("b-2", T1), registration("b-2", T2), registration("b-1", T3, reg="r-x")])
    await compare(pair, [added("a-1", "b-1"), added("a-2", "b-1"), added("a-3", "b-2")])
    appointment = (await pair[0].rows(orm.appointments, registration_id="r-b-2"))[0]
    assert (appointment["action_id"], appointment["starts_at"]) == ("a-3", T5)  # a-3 was planned again at T5


# --- Bounded statements ---------------------------------------------------------------------------


async def test_x02_batches_of_200_events_issue_a_bounded_number_of_statements(pair):
    """Each batch handler reads and writes 200 events in at most 12 statements (a handler going back to
    per-event queries issues hundreds), with every path taken: known and new rows, moved
    appointments and their messages, actions planning announced first, participations again."""
    batched, single = pair
    people = [f"b-{i}" for i in range(200)]
    starts = [T1 + timedelta(minutes=30 * i) for i in range(200)]
    for n in pair:
        await n.one_by_one(
            [contact(who) for who in people[:100]] + [planned(f"a-{i}", starts[i]) for i in range(0, 200, 2)]
            + [registration(who, T1) for who in people[150:]]  # moved by the import below
            + [added(f"a-{i}", people[i]) for i in range(0, 100, 3)])
        # Joined before and removed since: joined again below.
        await n.one_by_one([ParticipantRemoved(action_id=f"a-{i}", beneficiary_id=people[i]) for i in range(0, 30, 6)])
        # A new set-up version: the registrations' batch reads it in full (the worst case).
        async with n.runtime.uow_factory() as uow:
            await load_setup(LoadSetup(SetupPart(rules=(
                Rule(ods="ACR2025", confirmation="any", template="ACR-SUIVI", delay_days=5),))), uow)
    counts = {}
    for events in ([planned(f"a-{i}", s) for i, s in enumerate(starts)],
                   [added(f"a-{i}", people[i]) for i in range(0, 200, 3)] + [
                       added(f"a-{i}", people[i]) for i in range(1, 200, 3)],
                   [contact(who, 2) for who in people],
                   [registration(who, s) for who, s in zip(people, starts, strict=True)],
                   [added(f"a-{i}", people[i]) for i in range(2, 200, 3)]):
        statements = await batched.batch(events)
        await single.one_by_one(events)
        counts[events[0].event_type + f"×{len(events)}"] = len(statements)
    assert all(count <= 12 for count in counts.values()), counts
    assert await batched.tables() == await single.tables()
    assert len(await batched.rows(orm.appointments)) == 200
    assert len(await batched.rows(orm.messages)) > 600
    assert sum(1 for a in await batched.rows(orm.appointments) if a["action_id"]) == 200


# --- Through the dispatcher, as the bus delivers an import ----------------------------------------


def import_rounds(first: str) -> list[tuple[str, list[Event]]]:
    """Each topic's events of two lists, as importer and planning emit them (one person, one slot per
    row); the second list moves half of the appointments to new slots."""
    people = [f"b-{i}" for i in range(12)]
    starts = [T1 + timedelta(hours=i) for i in range(12)]
    later = [s + timedelta(days=2) for s in starts]
    importer, planning = BY_PRODUCER["importer"], BY_PRODUCER["planning"]
    rounds = []
    for n, times in enumerate((starts, later)):
        moving = range(12) if n == 0 else range(0, 12, 2)
        imported: list[Event] = []
        planned_: list[Event] = []
        for i in moving:
            who = people[i]
            if n == 0:
                imported.append(contact(who))
            else:
                planned_.append(ParticipantRemoved(action_id=f"a-{i}-0", beneficiary_id=who))
            imported.append(registration(who, times[i], order=f"BDC-{i}" if n else None))
            planned_ += [planned(f"a-{i}-{n}", times[i]), added(f"a-{i}-{n}", who)]
        topics = [(importer, imported), (planning, planned_)]
        rounds += topics if first == "importer" else topics[::-1]
    return rounds


@pytest.mark.parametrize("first", ["importer", "planning"])
async def test_x02_an_import_consumed_in_polled_batches_equals_one_event_at_a_time(pair, first, caplog):
    """X-02 / NOT-04: each topic's run of events consumed as one polled batch (batch handlers, single
    handlers for the others, one transaction) leaves what one event at a time leaves, whichever
    service's events come first."""
    batched, single = pair
    assert set(batched.runtime.dispatcher.batch_handlers) == {
        "BeneficiaryRegistered", "RegistrationRecorded", "ActionPlanned", "ParticipantAdded"}
    caplog.set_level(logging.WARNING, logger="servicekit.dispatch")
    for topic, events in import_rounds(first):
        bodies = [envelope(e).model_dump(mode="json") for e in events]
        await batched.runtime.dispatcher.consume(bodies, topic)
        for body in bodies:
            await single.runtime.dispatcher(body, topic)
    assert not [r for r in caplog.records if "batch failed" in r.getMessage()]  # no silent fallback
    assert await batched.tables() == await single.tables()
    assert await batched.emitted() == await single.emitted()
    appointments = await batched.rows(orm.appointments)
    assert sorted((a["action_id"], a["order_number"]) for a in appointments if a["beneficiary_id"] == "b-2") == [
        ("a-2-1", "BDC-2")]
    assert all(a["action_id"] for a in appointments) and len(appointments) == 12
