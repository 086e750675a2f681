"""Notify's handlers fed list events (an import's or a series' items in one event), against the same
items fed one event each, on SQLite and PostgreSQL.

Each scenario runs in two databases from the same state: once with the items together (consecutive
items of one type in one event, as servicekit emits them), once with one event per item. Both must
leave the same rows in every notify table and emit the same items (NOT-04, NOT-06, X-01, X-02),
including when several items of one event are about the same appointment, action or person; an
event delivered again changes nothing; a handler's statements do not grow with its items.
"""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event as sa_event, select

from contracts import Envelope
from contracts.base import ListEvent
from contracts.importer import (BeneficiaryPurged, BeneficiaryRegistered, ParticipantConfirmed,
                                ParticipantNotConfirmed, RegistrationCancelled, RegistrationRecorded)
from contracts.planning import (ActionCancelled, ActionChanged, ActionItem, ActionPlanned, ParticipantAdded,
                                ParticipantRemoved, PresenceValidated)
from contracts.topics import BY_PRODUCER
from servicekit.bus import Bus
from servicekit.clock import PARIS, FixedClock

from notify.adapters import orm
from notify.bootstrap import bootstrap
from notify.domain.appointments import message_id
from notify.domain.messages import dedup_key
from notify.domain.schedule import reminder_due_at
from notify.domain.setup import Rule, SetupPart, Template
from notify.service_layer.setup import LoadSetup, load_setup

KIT = {t.name for t in (orm.kit.outbox, orm.kit.inbox, orm.kit.dead_letters, orm.kit.aggregate_versions,
                         orm.kit.event_chain)}
NOTIFY_TABLES = [t for t in orm.metadata.sorted_tables if t.name not in KIT]
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


# --- Events as notify receives them: one item each, put together by ``together`` ---------------


def one(event_type: type[ListEvent], **fields: Any) -> ListEvent:
    return event_type(items=(event_type.item_type(**fields),))


def contact(who: str, version: int = 1, email: bool = True, sms: bool = True) -> ListEvent:
    return one(BeneficiaryRegistered, beneficiary_id=who, sealed=f"scellé-{who}-{version}", accepts_email=email,
               accepts_sms=sms)


def registration(who: str, starts_at: datetime, reg: str | None = None, order: str | None = None,
                 site: str = "ARM", remote: bool = False, ods: str = "ACR2025") -> ListEvent:
    return one(RegistrationRecorded, registration_id=reg or f"r-{who}", beneficiary_id=who, enrolment_id=f"e-{who}",
               resource="ACR2025-L12", ods=ods, site=site, starts_at=starts_at, remote=remote, order_number=order,
               list_kind="J-10")


def action(action_id: str, starts_at: datetime, site: str | None = "ARM", mode: str = "on_site",
           nature: str = "individual") -> ActionItem:
    return ActionItem(action_id=action_id, advisor=None, action_type="diagnostic", ods="ACR2025", step=1,
                      resource="ACR2025-L12", mode=mode, site=site, starts_at=starts_at,
                      ends_at=starts_at + timedelta(hours=1), nature=nature,
                      max_participants=1 if nature == "individual" else 8, to_assign=True)


def planned(*args: Any, **kwargs: Any) -> ListEvent:
    return ActionPlanned(items=(action(*args, **kwargs),))


def changed(*args: Any, **kwargs: Any) -> ListEvent:
    return ActionChanged(items=(action(*args, **kwargs),))


def added(action_id: str, who: str, ods: str | None = "ACR2025") -> ListEvent:
    return one(ParticipantAdded, action_id=action_id, beneficiary_id=who, resource="ACR2025-L12", ods=ods)


def removed(action_id: str, who: str) -> ListEvent:
    return one(ParticipantRemoved, action_id=action_id, beneficiary_id=who)


def confirmed(who: str, starts_at: datetime, order: str, reg: str | None = None) -> ListEvent:
    return one(ParticipantConfirmed, registration_id=reg or f"r-{who}", beneficiary_id=who, enrolment_id=f"e-{who}",
               order_number=order, starts_at=starts_at)


def not_confirmed(who: str, starts_at: datetime, reg: str | None = None) -> ListEvent:
    return one(ParticipantNotConfirmed, registration_id=reg or f"r-{who}", beneficiary_id=who,
               enrolment_id=f"e-{who}", starts_at=starts_at, reason="no_order_number")


def desinscrit(who: str, starts_at: datetime, reg: str | None = None) -> ListEvent:
    return one(RegistrationCancelled, registration_id=reg or f"r-{who}", beneficiary_id=who, starts_at=starts_at)


def together(events: list[ListEvent]) -> list[ListEvent]:
    """Consecutive events of one type as one event with all their items, as servicekit emits them."""
    out: list[ListEvent] = []
    for e in events:
        if out and type(out[-1]) is type(e):
            out[-1] = type(e)(items=out[-1].items + e.items)
        else:
            out.append(e)
    return out


def envelope(e: ListEvent) -> dict[str, Any]:
    return Envelope(event_id=uuid.uuid4(), type=e.event_type, version=e.event_version, occurred_at=NOW,
                    producer=e.producer, key="bge", payload=e.model_dump(mode="json")).model_dump(mode="json")


# --- Notify without its API or postman, fed through its dispatcher ------------------------------


class Notify:
    def __init__(self, settings):
        self.runtime = bootstrap(Bus("memory://"), settings, FixedClock(NOW))
        self.statements: list[str] | None = None
        sa_event.listen(self.runtime.database.engine.sync_engine, "before_cursor_execute", self._count)

    def _count(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if self.statements is not None:
            self.statements.append(statement)

    async def start(self) -> "Notify":
        await self.runtime.database.migrate()
        async with self.runtime.uow_factory() as uow:
            await load_setup(LoadSetup(SETUP), uow)
        return self

    async def deliver(self, bodies: list[dict[str, Any]]) -> None:
        for body in bodies:
            await self.runtime.dispatcher(body, BY_PRODUCER[body["producer"]])

    async def feed(self, events: list[ListEvent]) -> list[dict[str, Any]]:
        """Each event through the dispatcher, as the bus delivers it; the envelopes fed."""
        bodies = [envelope(e) for e in events]
        await self.deliver(bodies)
        return bodies

    async def counted(self, e: ListEvent) -> int:
        """Statements one event's transaction issued."""
        self.statements = []
        try:
            await self.feed([e])
        finally:
            statements, self.statements = self.statements, None
        return len(statements)

    async def run(self, uow_work: Callable[[Any], Any]) -> None:
        async with self.runtime.uow_factory() as uow:
            await uow_work(uow)
            await uow.commit()

    async def tables(self) -> dict[str, list[tuple]]:
        async with self.runtime.database.sessions() as session:
            return {t.name: sorted((tuple(r) for r in (await session.execute(select(t))).all()), key=repr)
                    for t in NOTIFY_TABLES}

    async def emitted(self) -> list[tuple[str, dict]]:
        """Every item emitted, in order, whatever events carried them."""
        outbox = orm.kit.outbox
        async with self.runtime.database.sessions() as session:
            rows = (await session.execute(select(outbox.c.type, outbox.c.envelope).order_by(outbox.c.id))).all()
        return [(kind, item) for kind, envelope in rows for item in envelope["payload"].get("items", [envelope["payload"]])]

    async def rows(self, table, **where: Any) -> list[dict[str, Any]]:
        async with self.runtime.database.sessions() as session:
            query = select(table).where(*[table.c[k] == v for k, v in where.items()])
            return [dict(r) for r in (await session.execute(query)).mappings()]


@pytest.fixture(params=["sqlite", "postgresql"])
async def pair(request, tmp_path, sqlite_settings, pg_settings):
    """Two notify databases on one backend: ``listed`` (items together) and ``single`` (one each)."""
    if request.param == "sqlite":
        settings = [sqlite_settings.model_copy(update={"home": tmp_path / name}) for name in ("listed", "single")]
    else:  # both schemas start with the fixture's prefix: dropped with it
        settings = [pg_settings.model_copy(update={"db_schema_prefix": f"{pg_settings.db_schema_prefix}{name}_"})
                    for name in ("l", "s")]
    listed, single = Notify(settings[0]), Notify(settings[1])
    try:
        yield await listed.start(), await single.start()
    finally:
        await listed.runtime.stop()
        await single.runtime.stop()


async def both(pair, events: list[ListEvent]) -> None:
    for n in pair:
        await n.feed(events)


async def compare(pair, events: list[ListEvent]) -> "Notify":
    """The items together in one database, one event each in the other: same rows, same items emitted.
    The list events delivered again change nothing."""
    listed, single = pair
    bodies = await listed.feed(together(events))
    await single.feed(events)
    state = await listed.tables(), await listed.emitted()
    assert state[0] == await single.tables()
    assert state[1] == await single.emitted()
    await listed.deliver(bodies)  # redelivered (a consumer restarted before acknowledging)
    assert (await listed.tables(), await listed.emitted()) == state
    return listed


# --- Each handler over many items equals its items one at a time ---------------------------------


async def test_x02_contacts_in_one_event(pair):
    """A known contact is updated (its readable fields kept until unsealed), new ones are added; a
    person twice in the event keeps the last item."""
    await both(pair, [contact("b-known", email=True, sms=False)])
    for n in pair:
        await n.run(lambda uow: uow.contacts.unsealed("b-known", "scellé-b-known-1", {
            "civility": "Mme", "first_name": "Léa", "last_name": "DUPONT", "email": "lea@example.org",
            "phone": None}))
    n = await compare(pair, [contact("b-known", 2, email=False, sms=True), contact("b-1"), contact("b-2"),
                             contact("b-3", email=False), contact("b-1", 2, sms=False)])
    known = (await n.rows(orm.contacts, beneficiary_id="b-known"))[0]
    assert (known["sealed"], known["first_name"], known["accepts_email"]) == ("scellé-b-known-2", "Léa", False)
    again = (await n.rows(orm.contacts, beneficiary_id="b-1"))[0]
    assert (again["sealed"], again["accepts_sms"]) == ("scellé-b-1-2", False)
    assert len(await n.rows(orm.contacts)) == 4


async def test_x02_actions_in_one_event(pair):
    """A known action is planned again (moved, and no longer cancelled), new ones are added, one is
    planned twice in the event."""
    await both(pair, [planned("a-known", T1), planned("a-cancelled", T2), one(ActionCancelled, action_id="a-cancelled")])
    n = await compare(pair, [planned("a-known", T2, site="LIL", mode="remote"), planned("a-cancelled", T3),
                             planned("a-1", T4, site=None), planned("a-2", T5, nature="collective"),
                             planned("a-1", T5)])
    known = (await n.rows(orm.actions, action_id="a-known"))[0]
    assert (known["starts_at"], known["site"], known["mode"]) == (T2, "LIL", "remote")
    assert [a["cancelled"] for a in await n.rows(orm.actions, action_id="a-cancelled")] == [False]
    assert [a["starts_at"] for a in await n.rows(orm.actions, action_id="a-1")] == [T5]
    assert len(await n.rows(orm.actions)) == 4


async def registrations_state(pair) -> None:
    """What notify knows before the registrations: some appointments and their messages, actions
    planning announced first, some of them already held by an appointment."""
    await both(pair, [
        registration("b-moved", T1),  # moved below: its reminder and later rules follow
        registration("b-twice", T1, reg="r-twice-1"),  # the access mail is once per person
        registration("b-cancel", T1), desinscrit("b-cancel", T1),
        registration("b-conf", T2, order="BDC-1"), confirmed("b-conf", T2, "BDC-1"),
        # Planning was quicker: the actions and participants came before the registrations.
        planned("a-pf", T3), added("a-pf", "b-pf"),
        planned("a-coll", T4, nature="collective"), added("a-coll", "b-c1"), added("a-coll", "b-c2"),
        planned("a-held", T5), added("a-held", "b-other"), registration("b-other", T5), added("a-held", "b-held"),
        planned("a-left", T1), added("a-left", "b-left"), removed("a-left", "b-left"),
    ])


async def test_not04_registrations_in_one_event(pair):
    """NOT-04 / NOT-06: appointments created, moved or already known, linked to the action planning
    announced first (once per action), messages prepared once per recipient × rule × appointment;
    an appointment already past prepares nothing before it."""
    await registrations_state(pair)
    n = await compare(pair, [
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
        removed("a-rejoin", "b-rejoin"),
        registration("b-already", T4), planned("a-already", T4), added("a-already", "b-already"),
        registration("b-two", T1, reg="r-two-a"), registration("b-two", T4, reg="r-two-b"),
        planned("a-two-old", T4), added("a-two-old", "b-two"), planned("a-two-new", T5),
        registration("b-ods", T1), planned("a-ods", T1),
        registration("b-past", PAST), planned("a-past", PAST + timedelta(hours=2)),
        planned("a-early", T1),  # its participant registers later
    ])


async def test_not04_participants_in_one_event(pair):
    """NOT-04: each participant's appointment joins the action and follows its time (its pending
    messages with it); an action joined again, an unknown action, another ODS, no appointment yet."""
    await participants_state(pair)
    n = await compare(pair, [
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


async def test_not04_j2_cancellations_moves_presences_and_purges_in_one_event(pair):
    """NOT-04 / NOT-05 / X-04: confirmations, non-confirmations, désinscriptions, moved and cancelled
    actions, validated presences and purges, each type as one event: same messages cancelled and
    prepared, same ``MessageNotSent`` items, as one event per item."""
    people = [f"b-{i}" for i in range(8)]
    await both(pair, [contact(who) for who in people] + [registration(who, T1 + timedelta(hours=i))
                                                         for i, who in enumerate(people)]
               + [planned(f"a-{i}", T1 + timedelta(hours=i)) for i in range(8)]
               + [added(f"a-{i}", who) for i, who in enumerate(people)])
    await compare(pair, [confirmed("b-0", T1, "BDC-0"), confirmed("b-1", T1 + timedelta(hours=1), "BDC-1")])
    await compare(pair, [not_confirmed("b-2", T1 + timedelta(hours=2)), not_confirmed("b-1", T1 + timedelta(hours=1))])
    await compare(pair, [desinscrit("b-3", T1 + timedelta(hours=3)), desinscrit("b-unknown", T1)])
    await compare(pair, [changed("a-4", T2), changed("a-5", T3, site="LIL", mode="remote"),
                         changed("a-missing", T3)])
    await compare(pair, [one(ActionCancelled, action_id="a-5"), one(ActionCancelled, action_id="a-6")])
    await compare(pair, [one(PresenceValidated, action_id=f"a-{i}", beneficiary_id=who, presence=presence,
                             action_starts_at=PAST) for i, (who, presence) in
                         enumerate([("b-0", "oui"), ("b-1", "non"), ("b-0", "oui"), ("b-2", "oui")])])
    n = await compare(pair, [one(BeneficiaryPurged, beneficiary_id=who) for who in ("b-6", "b-7", "b-6")])
    assert await n.rows(orm.appointments, beneficiary_id="b-6") == []
    assert {m["status"] for m in await n.rows(orm.messages, beneficiary_id="b-7")} == {"cancelled"}
    assert len(await n.rows(orm.messages, purpose="gdpr")) == 2


async def test_x02_items_about_one_aggregate_see_each_other_in_order(pair):
    """Several items of one event about the same appointment, action or person: each sees what the
    items before it did, as one event at a time."""
    await both(pair, [registration("b-1", T1), planned("a-1", T2), planned("a-2", T3), contact("b-2")])
    await compare(pair, [planned("a-3", T4), planned("a-3", T5)])
    # A new registration moved twice, a known one moved there and back, a new person's two appointments.
    await compare(pair, [registration("b-2", T1), registration("b-2", T2, order="BDC-2"), registration("b-2", T3),
                         registration("b-1", T4), registration("b-1", T1),
                         registration("b-3", T4, reg="r-3a"), registration("b-3", T5, reg="r-3b")])
    # One person joins two actions in a row, another joins an action planned twice above.
    await compare(pair, [added("a-1", "b-1"), added("a-2", "b-1"), added("a-3", "b-2"), added("a-1", "b-3"),
                         added("a-2", "b-3")])
    appointment = (await pair[0].rows(orm.appointments, registration_id="r-b-2"))[0]
    assert (appointment["action_id"], appointment["starts_at"]) == ("a-3", T5)  # a-3 was planned again at T5
    # An action moved twice, a confirmation given twice then taken back twice.
    await compare(pair, [changed("a-2", T4), changed("a-2", T5, site="LIL")])
    await compare(pair, [confirmed("b-2", T5, "BDC-2"), confirmed("b-2", T5, "BDC-3")])
    await compare(pair, [not_confirmed("b-2", T5), not_confirmed("b-2", T5)])
    await compare(pair, [removed("a-1", "b-3"), removed("a-1", "b-3"), removed("a-9", "b-9")])
    await compare(pair, [added("a-1", "b-3"), added("a-1", "b-3")])
    await compare(pair, [one(ActionCancelled, action_id="a-2"), one(ActionCancelled, action_id="a-2")])


async def test_not04_a_whole_import_as_list_events_both_orders(pair):
    """A whole import as list events, planning first then importer first: same state as one event
    per item (NOT-04, X-01)."""
    people = [f"b-{i}" for i in range(6)]
    starts = [T1 + timedelta(hours=i) for i in range(6)]
    for events in (
        [planned(f"a-{i}", s) for i, s in enumerate(starts)],
        [added(f"a-{i}", who) for i, who in enumerate(people[:3])],  # planning first for three people
        [contact(who) for who in people],
        [registration(who, s) for who, s in zip(people, starts, strict=True)],
        [added(f"a-{i}", who) for i, who in enumerate(people) if i >= 3],  # importer first for the others
        # The J-2 list moves half of them: the old participation removed, the new slot joined.
        [removed(f"a-{i}", people[i]) for i in range(0, 6, 2)],
        [registration(people[i], starts[i] + timedelta(days=2), order=f"BDC-{i}") for i in range(0, 6, 2)],
        [planned(f"a-{i}-2", starts[i] + timedelta(days=2)) for i in range(0, 6, 2)],
        [added(f"a-{i}-2", people[i]) for i in range(0, 6, 2)],
    ):
        await compare(pair, events)
    appointments = sorted(await pair[0].rows(orm.appointments), key=lambda a: a["beneficiary_id"])
    assert [a["action_id"] for a in appointments] == ["a-0-2", "a-1", "a-2-2", "a-3", "a-4-2", "a-5"]


# --- Statements do not grow with the items ---------------------------------------------------------


async def test_x02_an_event_of_200_items_issues_no_more_statements_than_one_of_20(pair):
    """Each handler reads what its items need at once and writes in bulk: an event of 200 items issues
    no more statements than one of 20 (a handler going back to per-item queries issues hundreds)."""
    listed, _ = pair
    counts: dict[str, list[int]] = {}
    for size in (20, 200):
        people = [f"b-{size}-{i}" for i in range(size)]
        starts = [T1 + timedelta(minutes=30 * i) for i in range(size)]
        for name, events in (
            ("contacts", [contact(who) for who in people]),
            ("actions", [planned(f"a-{size}-{i}", s) for i, s in enumerate(starts)]),
            ("registrations", [registration(who, T1) for who in people]),  # moved by the participants
            ("participants", [added(f"a-{size}-{i}", who) for i, who in enumerate(people)]),
            ("moves", [changed(f"a-{size}-{i}", s + timedelta(days=1)) for i, s in enumerate(starts)]),
            ("confirmations", [confirmed(who, T1, f"BDC-{who}") for who in people]),
            ("cancellations", [one(ActionCancelled, action_id=f"a-{size}-{i}") for i in range(size)]),
            ("purges", [one(BeneficiaryPurged, beneficiary_id=who) for who in people]),
        ):
            counts.setdefault(name, []).append(await listed.counted(together(events)[0]))
    assert all(large <= small for small, large in counts.values()), counts
