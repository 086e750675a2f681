"""Affectation's event handlers, one per event type, over multi-item events, on SQLite and the real
PostgreSQL (AFF-01, AFF-03, X-01, X-02): an event carrying many items (an import's actions,
participants and beneficiaries, planning's answers) leaves the projections and the worklist as the
same items one event at a time would, several items about one action apply in order, and a
redelivered event changes nothing.
"""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event as sa_event, select

from contracts import Envelope
from contracts.importer import (BeneficiariesMerged, BeneficiaryCorrected, BeneficiaryPurged, BeneficiaryPurgedItem,
                                BeneficiaryRegistered, BeneficiaryRegisteredItem)
from contracts.planning import (ActionCancelled, ActionCancelledItem, ActionChanged, ActionItem, ActionPlanned,
                                AssignmentApplied, AssignmentAppliedItem, AssignmentRefused, AssignmentRefusedItem,
                                ParticipantAdded, ParticipantAddedItem, ParticipantRemoved, ParticipantRemovedItem,
                                ReferentialChanged)
from contracts.registry import model_for
from servicekit.clock import FixedClock
from servicekit.pytest_plugin import service_databases

from affectation.adapters import orm
from affectation.bootstrap import bootstrap
from affectation.config import AffectationSettings
from affectation.domain.worklist import Assignment, Entry, entry_after_action
from affectation.entrypoints import consumers
from affectation.service_layer import handlers

CLOCK = FixedClock(datetime(2025, 1, 4, 9, 0, tzinfo=UTC))
STATEMENTS_PER_EVENT = 12  # with the inbox row and the commit: a bounded number, whatever the items
TABLES = (orm.actions, orm.participants, orm.beneficiaries, orm.worklist, orm.assignments, orm.kit.outbox)


def action(action_id: str, to_assign: bool = True, hour: int = 9, advisor: str | None = None,
           site: str = "ARM") -> ActionItem:
    starts_at = datetime(2025, 1, 14, hour, tzinfo=UTC)
    return ActionItem(action_id=action_id, advisor=advisor, action_type="diagnostic", ods="ACR2025", step=1,
                      resource="ACR2025-L12", mode="remote" if site == "DIST" else "on_site", site=site,
                      starts_at=starts_at, ends_at=starts_at + timedelta(hours=1), nature="individual",
                      max_participants=1, to_assign=to_assign)


def beneficiary(beneficiary_id: str, sealed: str) -> BeneficiaryRegisteredItem:
    return BeneficiaryRegisteredItem(beneficiary_id=beneficiary_id, sealed=sealed, accepts_email=True,
                                     accepts_sms=False)


def added(action_id: str, beneficiary_id: str, resource: str | None = "ACR2025-L12",
          ods: str | None = "ACR2025") -> ParticipantAddedItem:
    return ParticipantAddedItem(action_id=action_id, beneficiary_id=beneficiary_id, resource=resource, ods=ods)


def removed(action_id: str, beneficiary_id: str) -> ParticipantRemovedItem:
    return ParticipantRemovedItem(action_id=action_id, beneficiary_id=beneficiary_id, reason="Non confirmé")


def applied(assignment_id: str, action_id: str) -> AssignmentAppliedItem:
    return AssignmentAppliedItem(assignment_id=assignment_id, action_id=action_id, final_action_id=action_id)


def refused(assignment_id: str, action_id: str, *messages: str) -> AssignmentRefusedItem:
    return AssignmentRefusedItem(assignment_id=assignment_id, action_id=action_id, messages=messages)


EVENT_OF = {ActionItem: ActionPlanned, BeneficiaryRegisteredItem: BeneficiaryRegistered,
            ParticipantAddedItem: ParticipantAdded, ParticipantRemovedItem: ParticipantRemoved,
            ActionCancelledItem: ActionCancelled, AssignmentAppliedItem: AssignmentApplied,
            AssignmentRefusedItem: AssignmentRefused, BeneficiaryPurgedItem: BeneficiaryPurged}


def envelope(event_type, items) -> Envelope:
    return Envelope(event_id=str(uuid.uuid4()), type=event_type.event_type, version=event_type.event_version,
                    occurred_at=CLOCK.now(), producer=event_type.producer, key="bge",
                    payload={"items": [item.model_dump(mode="json") for item in items]})


@pytest.fixture(params=["sqlite", "postgresql"])
async def affectation_db(request, tmp_path):
    """Makes migrated affectation databases, all on one backend."""
    async with service_databases(request.param, tmp_path, bootstrap, AffectationSettings, CLOCK) as make:
        yield make


async def deliver(runtime, received: Envelope) -> str:
    """Through the service's dispatcher: inbox row, handler, commit (``processed`` or ``duplicate``)."""
    return await runtime.dispatcher.handle(received, runtime.dispatcher.handlers[received.type])


async def one_event(runtime, items, event_type=None) -> str:
    return await deliver(runtime, envelope(event_type or EVENT_OF[type(items[0])], items))


async def one_by_one(runtime, items, event_type=None) -> None:
    for item in items:
        await one_event(runtime, [item], event_type)


async def rows(runtime) -> dict[str, list]:
    async with runtime.database.sessions() as session:
        return {t.name: sorted((dict(r) for r in (await session.execute(select(t))).mappings()), key=repr)
                for t in TABLES}


async def earlier_state(runtime) -> None:
    """What affectation holds before the events under test: built one item per event, the same everywhere."""
    await one_by_one(runtime, [action("a-open"), action("a-pending"), action("a-closed"),
                               action("a-mine", to_assign=False, advisor="x")])
    await one_by_one(runtime, [beneficiary("b-old", "sealed-v1")])
    await one_by_one(runtime, [added("a-open", "b-old")])
    async with runtime.uow_factory() as uow:
        await uow.worklist.claim("a-pending", "assignment-1")  # an advisor was chosen, planning has not answered
        await uow.worklist.add_assignment(Assignment(
            "assignment-1", "a-pending", "cdurand", 3, "move", None, "ARM", "test", CLOCK.now()))
        await uow.worklist.load_entries(["a-closed"])
        uow.worklist.put_entry(Entry("a-closed", "closed"))
        await uow.commit()


EVENTS = [
    (None, [beneficiary("b-old", "sealed-v2"), beneficiary("b-1", "sealed-1"), beneficiary("b-2", "sealed-2")]),
    (ActionPlanned, [action("a-new"), action("a-new-mine", to_assign=False, advisor="y"), action("a-open", hour=10),
                     action("a-remote", site="DIST")]),
    (None, [added("a-open", "b-old"), added("a-new", "b-1"), added("a-remote", "b-2")]),
    # Assignments applied in planning: actions no longer to assign, whatever their entry's state.
    (ActionChanged, [action("a-pending", to_assign=False, advisor="cdurand"),
                     action("a-closed", to_assign=False, advisor="cdurand"),
                     action("a-new", to_assign=False, advisor="kbenamar"),
                     action("a-mine", to_assign=False, advisor="z")]),
]


async def test_aff01_multi_item_events_build_the_same_projections_and_worklist(affectation_db):
    """AFF-01, X-02: beneficiaries inserted or updated, actions already present or new, participants
    already there or new, worklist entries opened, assigned (keeping the pending assignment) or left."""
    single, listed = await affectation_db("single"), await affectation_db("listed")
    for runtime in (single, listed):
        await earlier_state(runtime)
    for event_type, items in EVENTS:
        await one_by_one(single, items, event_type)
        assert await one_event(listed, items, event_type) == "processed"
        assert await rows(listed) == await rows(single), type(items[0]).__name__

    state = await rows(single)
    entries = {w["action_id"]: (w["status"], w["assignment_id"]) for w in state["worklist"]}
    assert entries == {"a-open": ("open", None), "a-pending": ("assigned", "assignment-1"),
                       "a-closed": ("closed", None), "a-new": ("assigned", None), "a-remote": ("open", None)}
    assert {b["id"]: b["sealed"] for b in state["beneficiaries"]}["b-old"] == "sealed-v2"
    assert [a["starts_at"].hour for a in state["actions"] if a["id"] == "a-open"] == [10]
    assert len(state["participants"]) == 3 and state["outbox"] == []


LATER_EVENTS = [
    (None, [action("a-2", hour=11), action("a-3", hour=12), action("a-4", hour=13)]),
    (None, [added("a-2", "b-1"), added("a-2", "b-2"), added("a-3", "b-3"), added("a-4", "b-4")]),
    # a-open loses its only participant (closed), a-2 one of two (stays open).
    (None, [removed("a-open", "b-old"), removed("a-2", "b-1"), removed("a-3", "nobody")]),
    (None, [ActionCancelledItem(action_id="a-3"), ActionCancelledItem(action_id="a-unknown")]),
    (None, [BeneficiaryPurgedItem(beneficiary_id="b-old"), BeneficiaryPurgedItem(beneficiary_id="b-4")]),
]


async def test_aff01_removals_cancellations_and_purges_in_one_event_each(affectation_db):
    """AFF-01, X-02: an appointment left by all its participants or cancelled leaves the worklist; a
    purged beneficiary leaves nothing behind; the same as one item per event."""
    single, listed = await affectation_db("single"), await affectation_db("listed")
    for runtime in (single, listed):
        await earlier_state(runtime)
    for event_type, items in LATER_EVENTS:
        await one_by_one(single, items, event_type)
        await one_event(listed, items, event_type)
        assert await rows(listed) == await rows(single), type(items[0]).__name__

    state = await rows(listed)
    entries = {w["action_id"]: w["status"] for w in state["worklist"]}
    assert (entries["a-open"], entries["a-2"], entries["a-3"], entries["a-4"]) == ("closed", "open", "closed", "open")
    assert [a["status"] for a in state["actions"] if a["id"] == "a-3"] == ["cancelled"]
    assert "b-old" not in {b["id"] for b in state["beneficiaries"]}
    assert {(p["action_id"], p["beneficiary_id"]) for p in state["participants"]} == {("a-2", "b-2"), ("a-3", "b-3")}


async def prepare_answers(runtime) -> None:
    """Four appointments chosen (pending), for planning to answer."""
    await one_event(runtime, [action(f"a-{n}", hour=9 + n) for n in range(4)])
    async with runtime.uow_factory() as uow:
        for n in range(4):
            await uow.worklist.claim(f"a-{n}", f"s-{n}")
            await uow.worklist.add_assignment(Assignment(
                f"s-{n}", f"a-{n}", "cdurand", 3, "move", None, "ARM", "test", CLOCK.now()))
        await uow.commit()


async def test_aff03_planning_answers_in_one_event(affectation_db):
    """AFF-03: applied assignments are assigned; refused ones come back open with planning's reasons,
    unless a later choice replaced them; the same as one answer per event."""
    single, listed = await affectation_db("single"), await affectation_db("listed")
    answers = [[applied("s-0", "a-0"), applied("s-1", "a-1")],
               [refused("s-2", "a-2", "« Claire DURAND » a déjà une action."),
                refused("s-3", "a-3", "Première raison.", "Seconde raison."),
                refused("stale", "a-0", "Pas pour ce choix-ci.")]]
    for runtime in (single, listed):
        await prepare_answers(runtime)
    for items in answers:
        await one_by_one(single, items)
        await one_event(listed, items)
        assert await rows(listed) == await rows(single), type(items[0]).__name__

    state = await rows(listed)
    entries = {w["action_id"]: (w["status"], w["assignment_id"], w["refusal"]) for w in state["worklist"]}
    assert entries == {"a-0": ("assigned", "s-0", None), "a-1": ("assigned", "s-1", None),
                       "a-2": ("open", None, ["« Claire DURAND » a déjà une action."]),
                       "a-3": ("open", None, ["Première raison.", "Seconde raison."])}
    assert {a["id"]: a["outcome"] for a in state["assignments"]} == {
        "s-0": "applied", "s-1": "applied", "s-2": "refused", "s-3": "refused"}


async def test_aff01_several_items_about_one_action_apply_in_order(affectation_db):
    """X-02: one event naming one row several times ends as the items one by one would (the last word
    wins, an action no longer to assign leaves the worklist, an entry refused then chosen again keeps
    the new choice)."""
    single, listed = await affectation_db("single"), await affectation_db("listed")
    for runtime in (single, listed):
        await earlier_state(runtime)
    sequences = [
        (None, [beneficiary("b-1", "first"), beneficiary("b-1", "second")]),
        (ActionPlanned, [action("a-twice"), action("a-twice", to_assign=False)]),
        (ActionChanged, [action("a-back", to_assign=False, advisor="x"), action("a-back", hour=10),
                         action("a-back", hour=11)]),
        (None, [added("a-twice", "b-1", None, None)] * 2 + [added("a-back", "b-1"), added("a-back", "b-2")]),
        (None, [removed("a-back", "b-1"), removed("a-back", "b-2"), removed("a-back", "b-2")]),
        (None, [refused("assignment-1", "a-pending", "Refusé."), refused("assignment-1", "a-pending", "Encore.")]),
        (None, [ActionCancelledItem(action_id="a-open"), ActionCancelledItem(action_id="a-open")]),
        (None, [applied("assignment-1", "a-pending"), applied("assignment-2", "a-pending")]),
    ]
    for event_type, items in sequences:
        await one_by_one(single, items, event_type)
        await one_event(listed, items, event_type)
        assert await rows(listed) == await rows(single), type(items[0]).__name__
    state = await rows(single)
    assert [b["sealed"] for b in state["beneficiaries"] if b["id"] == "b-1"] == ["second"]
    entries = {w["action_id"]: (w["status"], w["assignment_id"], w["refusal"]) for w in state["worklist"]}
    assert entries["a-twice"] == ("assigned", None, None)
    assert entries["a-back"] == ("closed", None, None)  # opened by its change, closed once nobody is left
    assert [a["starts_at"].hour for a in state["actions"] if a["id"] == "a-back"] == [11]
    assert entries["a-open"] == ("closed", None, None)
    assert entries["a-pending"] == ("assigned", "assignment-2", None)


async def test_aff01_a_redelivered_event_changes_nothing(affectation_db):
    """X-01: the inbox skips an event already applied; and applying its items again (a replay past the
    inbox) leaves the same rows too."""
    runtime = await affectation_db("redelivery")
    await earlier_state(runtime)
    await prepare_answers(runtime)
    events = [envelope(event_type or EVENT_OF[type(items[0])], items) for event_type, items in EVENTS + LATER_EVENTS]
    events += [envelope(AssignmentApplied, [applied("s-0", "a-0")]),
               envelope(AssignmentRefused, [refused("s-1", "a-1", "Non."), refused("s-2", "a-2", "Non plus.")])]
    for received in events:
        assert await deliver(runtime, received) == "processed"
        before = await rows(runtime)
        assert await deliver(runtime, received) == "duplicate"
        assert await rows(runtime) == before, received.type
        async with runtime.uow_factory() as uow:
            await handlers.EVENT_HANDLERS[model_for(received.type)](model_for(received.type).model_validate(
                received.payload), uow)
        assert await rows(runtime) == before, received.type


@pytest.mark.parametrize("kind", ["BeneficiaryRegistered", "ActionPlanned", "ParticipantAdded", "ActionChanged"])
async def test_aff01_an_import_sized_event_takes_a_bounded_number_of_statements(affectation_db, kind):
    """AFF-01 at import scale: one event of 200 items, half about rows already there, read and written
    in at most a dozen statements; going back to per-item queries makes this fail."""
    runtime = await affectation_db("count")
    await earlier_state(runtime)
    ids = [f"x-{n}" for n in range(200)]
    await one_event(runtime, [action(i) for i in ids[:100]])
    await one_event(runtime, [beneficiary(f"b-{n}", "v1") for n in range(100)])
    await one_event(runtime, [added(i, "b", None, None) for i in ids[:100]])
    event_type, items = {
        "BeneficiaryRegistered": (None, [beneficiary(f"b-{n}", "v2") for n in range(200)]),
        "ActionPlanned": (ActionPlanned, [action(i, hour=10) for i in ids]),
        "ParticipantAdded": (None, [added(i, "b", None, None) for i in ids]),
        "ActionChanged": (ActionChanged, [action(i, to_assign=n % 3 == 0, advisor=None if n % 3 == 0 else "c")
                                          for n, i in enumerate(ids)]),
    }[kind]
    statements = []
    sa_event.listen(runtime.database.engine.sync_engine, "before_cursor_execute",
                    lambda *args: statements.append(args[2]))
    await one_event(runtime, items, event_type)
    assert len(statements) <= STATEMENTS_PER_EVENT, "\n".join(statements)

    state = await rows(runtime)
    counts = {"BeneficiaryRegistered": len([b for b in state["beneficiaries"] if b["sealed"] == "v2"]),
              "ActionPlanned": len([a for a in state["actions"] if a["id"].startswith("x-")]),
              "ParticipantAdded": len([p for p in state["participants"] if p["beneficiary_id"] == "b"]),
              "ActionChanged": len([w for w in state["worklist"] if w["action_id"].startswith("x-")
                                    and w["status"] == ("open" if int(w["action_id"][2:]) % 3 == 0 else "assigned")])}
    # ActionChanged: the 100 earlier entries (66 now assigned, 34 still open) and 33 new actions to assign.
    assert counts[kind] == {"ActionChanged": 133}.get(kind, 200)


def test_aff01_worklist_entry_after_an_action_change():
    assert entry_after_action("a", True, None) == Entry("a", "open")
    assert entry_after_action("a", True, Entry("a", "closed")) is None
    assert entry_after_action("a", False, None) is None
    assert entry_after_action("a", False, Entry("a", "pending", "s1")) == Entry("a", "assigned", "s1")
    assert entry_after_action("a", False, Entry("a", "closed", "s1")) is None


def test_aff01_one_handler_for_each_event_type_it_reads():
    assert set(handlers.EVENT_HANDLERS) == {
        ReferentialChanged, ActionPlanned, ActionChanged, ActionCancelled, ParticipantAdded, ParticipantRemoved,
        BeneficiaryRegistered, BeneficiaryCorrected, BeneficiaryPurged, BeneficiariesMerged, AssignmentApplied,
        AssignmentRefused}
    assert consumers.SUBSCRIPTIONS
