"""Affectation's batch handlers against its one-event handlers, on SQLite and the real PostgreSQL (AFF-01,
X-01, X-02): the events an import produces per row (``BeneficiaryRegistered``, ``ActionPlanned``,
``ParticipantAdded``, and ``ActionChanged`` after assignments) give the same projections and worklist
whether they come one by one or in a batch, and a batch costs a few statements whatever its size.
"""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event as sa_event, select

from contracts import Envelope
from contracts.importer import BeneficiaryRegistered
from contracts.planning import ActionChanged, ActionFields, ActionPlanned, ParticipantAdded
from servicekit.clock import FixedClock
from servicekit.dispatch import Received
from servicekit.pytest_plugin import service_databases

from affectation.adapters import orm
from affectation.bootstrap import bootstrap
from affectation.config import AffectationSettings
from affectation.domain.worklist import entry_after_action
from affectation.service_layer import handlers

CLOCK = FixedClock(datetime(2025, 1, 4, 9, 0, tzinfo=UTC))
STATEMENTS_PER_BATCH = 12  # a bounded number, whatever the batch's size
SINGLE = {ActionPlanned: handlers.record_action, ActionChanged: handlers.record_action,
          ParticipantAdded: handlers.record_participant_added, BeneficiaryRegistered: handlers.record_beneficiary}
TABLES = (orm.actions, orm.participants, orm.beneficiaries, orm.worklist, orm.assignments, orm.kit.outbox)


def action(action_id: str, to_assign: bool = True, hour: int = 9, advisor: str | None = None,
           site: str = "ARM") -> ActionFields:
    starts_at = datetime(2025, 1, 14, hour, tzinfo=UTC)
    return ActionFields(action_id=action_id, advisor=advisor, action_type="diagnostic", ods="ACR2025", step=1,
                        resource="ACR2025-L12", mode="remote" if site == "DIST" else "on_site", site=site,
                        starts_at=starts_at, ends_at=starts_at + timedelta(hours=1), nature="individual",
                        max_participants=1, to_assign=to_assign)


def beneficiary(beneficiary_id: str, sealed: str) -> BeneficiaryRegistered:
    return BeneficiaryRegistered(beneficiary_id=beneficiary_id, sealed=sealed, accepts_email=True, accepts_sms=False)


def received(events) -> list[Received]:
    return [Received(Envelope(event_id=uuid.uuid4(), type=e.event_type, version=e.event_version,
                              occurred_at=CLOCK.now(), producer="planning", key="k", payload=e.model_dump(mode="json")),
                     e) for e in events]


@pytest.fixture(params=["sqlite", "postgresql"])
async def affectation_db(request, tmp_path):
    """Makes migrated affectation databases, all on one backend."""
    async with service_databases(request.param, tmp_path, bootstrap, AffectationSettings, CLOCK) as make:
        yield make


async def apply_one_by_one(runtime, items: list[Received]) -> None:
    for item in items:
        async with runtime.uow_factory() as uow:
            uow.answering(item.envelope)
            await SINGLE[type(item.event)](item.event, uow)


async def apply_batch(runtime, items: list[Received]) -> None:
    """In one transaction held open as the dispatcher holds it: the handler's commit only flushes."""
    async with runtime.uow_factory() as uow:
        uow.hold()
        await handlers.BATCH_HANDLERS[type(items[0].event)](items, uow)
        await uow.release()


async def rows(runtime) -> dict[str, list]:
    async with runtime.database.sessions() as session:
        return {t.name: sorted((dict(r) for r in (await session.execute(select(t))).mappings()), key=repr)
                for t in TABLES}


async def earlier_state(runtime) -> None:
    """What affectation holds before the batches: built with the one-event handlers, the same everywhere."""
    await apply_one_by_one(runtime, received([
        ActionPlanned(action=action("a-open")), ActionPlanned(action=action("a-pending")),
        ActionPlanned(action=action("a-closed")), ActionPlanned(action=action("a-mine", to_assign=False, advisor="x")),
        beneficiary("b-old", "sealed-v1"), ParticipantAdded(action_id="a-open", beneficiary_id="b-old",
                                                             resource="ACR2025-L12", ods="ACR2025")]))
    async with runtime.uow_factory() as uow:
        await uow.worklist.claim("a-pending", "assignment-1")  # an advisor was chosen, planning has not answered
        await uow.worklist.set_entry("a-closed", "closed")
        await uow.commit()


BATCHES = [
    [beneficiary("b-old", "sealed-v2"), beneficiary("b-1", "sealed-1"), beneficiary("b-2", "sealed-2")],
    [ActionPlanned(action=action("a-new")), ActionPlanned(action=action("a-new-mine", to_assign=False, advisor="y")),
     ActionPlanned(action=action("a-open", hour=10)), ActionPlanned(action=action("a-remote", site="DIST"))],
    [ParticipantAdded(action_id="a-open", beneficiary_id="b-old", resource="ACR2025-L12", ods="ACR2025"),
     ParticipantAdded(action_id="a-new", beneficiary_id="b-1", resource="ACR2025-L12", ods="ACR2025"),
     ParticipantAdded(action_id="a-remote", beneficiary_id="b-2", resource="ACR2025-L12", ods="ACR2025")],
    # Assignments applied in planning: actions no longer to assign, whatever their entry's state.
    [ActionChanged(action=action("a-pending", to_assign=False, advisor="cdurand")),
     ActionChanged(action=action("a-closed", to_assign=False, advisor="cdurand")),
     ActionChanged(action=action("a-new", to_assign=False, advisor="kbenamar")),
     ActionChanged(action=action("a-mine", to_assign=False, advisor="z"))],
]


async def test_aff01_batches_build_the_same_projections_and_worklist(affectation_db):
    """AFF-01, X-02: beneficiaries inserted or updated, actions already present or new, participants
    already there or new, worklist entries opened, assigned (keeping the pending assignment) or left."""
    single, batch = await affectation_db("single"), await affectation_db("batch")
    for runtime in (single, batch):
        await earlier_state(runtime)
    for events in BATCHES:
        items = received(events)
        await apply_one_by_one(single, items)
        await apply_batch(batch, items)
        assert await rows(batch) == await rows(single), [type(e).__name__ for e in events]

    state = await rows(single)
    entries = {w["action_id"]: (w["status"], w["assignment_id"]) for w in state["worklist"]}
    assert entries == {"a-open": ("open", None), "a-pending": ("assigned", "assignment-1"),
                       "a-closed": ("closed", None), "a-new": ("assigned", None), "a-remote": ("open", None)}
    assert {b["id"]: b["sealed"] for b in state["beneficiaries"]}["b-old"] == "sealed-v2"
    assert [a["starts_at"].hour for a in state["actions"] if a["id"] == "a-open"] == [10]
    assert len(state["participants"]) == 3 and state["outbox"] == []


async def test_aff01_batch_touching_one_row_twice_falls_back_in_order(affectation_db):
    """X-02: the dispatcher sends distinct keys, but a list naming one row twice still ends as the events
    one by one would (the last word wins, an action no longer to assign leaves the worklist)."""
    single, batch = await affectation_db("single"), await affectation_db("batch")
    for runtime in (single, batch):
        await earlier_state(runtime)
    for events in ([beneficiary("b-1", "first"), beneficiary("b-1", "second")],
                   [ActionPlanned(action=action("a-twice")), ActionPlanned(action=action("a-twice", to_assign=False))],
                   [ParticipantAdded(action_id="a-twice", beneficiary_id="b-1", resource=None, ods=None)] * 2):
        items = received(events)
        await apply_one_by_one(single, items)
        await apply_batch(batch, items)
    assert await rows(batch) == await rows(single)
    state = await rows(single)
    assert [b["sealed"] for b in state["beneficiaries"] if b["id"] == "b-1"] == ["second"]
    assert [(w["status"]) for w in state["worklist"] if w["action_id"] == "a-twice"] == ["assigned"]


@pytest.mark.parametrize("kind", ["BeneficiaryRegistered", "ActionPlanned", "ParticipantAdded", "ActionChanged"])
async def test_aff01_a_batch_of_200_events_takes_a_bounded_number_of_statements(affectation_db, kind):
    """AFF-01 at import scale: 200 events of one type, half about rows already there, in at most a dozen
    statements; going back to per-event queries makes this fail."""
    runtime = await affectation_db("count")
    await earlier_state(runtime)
    ids = [f"x-{n}" for n in range(200)]
    await apply_batch(runtime, received([ActionPlanned(action=action(i)) for i in ids[:100]]))
    await apply_batch(runtime, received([beneficiary(f"b-{n}", "v1") for n in range(100)]))
    await apply_batch(runtime, received([ParticipantAdded(action_id=i, beneficiary_id="b", resource=None, ods=None)
                                         for i in ids[:100]]))
    events = {
        "BeneficiaryRegistered": [beneficiary(f"b-{n}", "v2") for n in range(200)],
        "ActionPlanned": [ActionPlanned(action=action(i, hour=10)) for i in ids],
        "ParticipantAdded": [ParticipantAdded(action_id=i, beneficiary_id="b", resource=None, ods=None) for i in ids],
        "ActionChanged": [ActionChanged(action=action(i, to_assign=n % 3 == 0, advisor=None if n % 3 == 0 else "c"))
                          for n, i in enumerate(ids)],
    }[kind]
    statements = []
    sa_event.listen(runtime.database.engine.sync_engine, "before_cursor_execute",
                    lambda *args: statements.append(args[2]))
    await apply_batch(runtime, received(events))
    assert len(statements) <= STATEMENTS_PER_BATCH, "\n".join(statements)

    state = await rows(runtime)
    counts = {"BeneficiaryRegistered": len([b for b in state["beneficiaries"] if b["sealed"] == "v2"]),
              "ActionPlanned": len([a for a in state["actions"] if a["id"].startswith("x-")]),
              "ParticipantAdded": len([p for p in state["participants"] if p["beneficiary_id"] == "b"]),
              "ActionChanged": len([w for w in state["worklist"] if w["action_id"].startswith("x-")
                                    and w["status"] == ("open" if int(w["action_id"][2:]) % 3 == 0 else "assigned")])}
    # ActionChanged: the 100 earlier entries (66 now assigned, 34 still open) and 33 new actions to assign.
    assert counts[kind] == {"ActionChanged": 133}.get(kind, 200)


def test_aff01_worklist_entry_after_an_action_change():
    assert entry_after_action(True, None) == ("open", None)
    assert entry_after_action(True, {"status": "closed", "assignment_id": None}) is None
    assert entry_after_action(False, None) is None
    assert entry_after_action(False, {"status": "pending", "assignment_id": "s1"}) == ("assigned", "s1")
    assert entry_after_action(False, {"status": "closed", "assignment_id": "s1"}) is None


def test_aff01_batch_handlers_are_registered_for_an_imports_events():
    assert set(handlers.BATCH_HANDLERS) == {ActionPlanned, ActionChanged, ParticipantAdded, BeneficiaryRegistered}
