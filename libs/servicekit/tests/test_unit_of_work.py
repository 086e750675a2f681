"""Unit of work: one transaction, rolled back unless committed; outbox and inbox in it (X-02); what a
handler emits becomes list events keyed by the structure, chunked, with aggregate versions."""

import json

from sqlalchemy import func, select

from contracts.base import MAX_EVENT_BYTES, MAX_ITEMS
from contracts.planning import ActionCancelled, ActionCancelledItem, ParticipantRemoved, ParticipantRemovedItem
from servicekit.testing import envelope_of
from servicekit.uow import OUTBOX_SLICE, UnitOfWork

from kit_app import CLOCK, NotesUnitOfWork, kit, referential_changed


def uow_for(sessions, woken: list | None = None, structure: str = "bge-hdf") -> NotesUnitOfWork:
    wake = (lambda committed: woken.append(len(committed))) if woken is not None else (lambda committed: None)
    return NotesUnitOfWork(sessions, kit, "planning", CLOCK, on_commit=wake, structure=structure)


async def count(sessions, table) -> int:
    async with sessions() as s:
        return (await s.execute(select(func.count()).select_from(table))).scalar()


async def outbox(sessions) -> list[dict]:
    async with sessions() as s:
        rows = (await s.execute(select(kit.outbox).order_by(kit.outbox.c.id))).mappings().all()
    return [dict(r) for r in rows]


def cancelled(action_id: str, reason: str | None = None) -> ActionCancelledItem:
    return ActionCancelledItem(action_id=action_id, reason=reason)


async def test_x02_changes_and_events_are_rolled_back_unless_committed(sessions):
    async with uow_for(sessions) as uow:
        await uow.add_note("kept only if committed")
        uow.emit(referential_changed())
        uow.emit_items(ActionCancelled, [cancelled("a1")])
    async with uow_for(sessions) as uow:
        assert await uow.notes() == []
    assert await count(sessions, kit.outbox) == 0
    assert await count(sessions, kit.aggregate_versions) == 0


async def test_x02_commit_writes_state_and_outbox_together_and_wakes_the_relay(sessions):
    woken: list = []
    async with uow_for(sessions, woken) as uow:
        await uow.add_note("a")
        uow.emit(referential_changed())
        await uow.commit()
    row = (await outbox(sessions))[0]
    assert row["topic"] == "prestaflow.planning.events"
    assert row["key"] == "bge-hdf"  # the structure, whatever the event is about
    assert row["published_at"] is None
    assert row["envelope"]["payload"]["version"] == 1 and row["envelope"]["key"] == "bge-hdf"
    assert woken == [1]


async def test_x02_an_exception_inside_the_block_rolls_back(sessions):
    try:
        async with uow_for(sessions) as uow:
            await uow.add_note("lost")
            uow.emit(referential_changed())
            raise RuntimeError("handler bug")
    except RuntimeError:
        pass
    assert await count(sessions, kit.outbox) == 0
    async with uow_for(sessions) as uow:
        assert await uow.notes() == []


async def test_x02_inbox_row_shares_the_transaction(sessions):
    envelope = envelope_of(referential_changed())
    async with uow_for(sessions) as uow:
        assert await uow.claim(envelope)
        assert not await uow.claim(envelope)  # claimed twice in one transaction: still once
    assert await count(sessions, kit.inbox) == 0  # not committed: the claim was rolled back
    async with uow_for(sessions) as uow:
        assert await uow.claim(envelope)
        await uow.commit()
    assert await count(sessions, kit.inbox) == 1
    async with uow_for(sessions) as uow:
        assert not await uow.claim(envelope)  # a redelivery
        assert await uow.claim(envelope_of(referential_changed()))  # another event


async def test_envelopes_carry_correlation_causation_and_actor(sessions):
    async with uow_for(sessions) as uow:
        uow.caused_by("import-42", "event-7", actor="mpetit")
        uow.emit(referential_changed())
        await uow.commit()
    envelope = (await outbox(sessions))[0]["envelope"]
    assert (envelope["correlation_id"], envelope["causation_id"], envelope["actor"], envelope["producer"]) == (
        "import-42", "event-7", "mpetit", "planning")
    assert envelope["occurred_at"] == "2025-01-04T09:00:00Z"


async def test_items_emitted_one_after_the_other_make_one_event_and_another_type_starts_a_new_one(sessions):
    async with uow_for(sessions) as uow:
        uow.emit_items(ParticipantRemoved, [ParticipantRemovedItem(action_id="a1", beneficiary_id="b1")])
        uow.emit_items(ParticipantRemoved, [ParticipantRemovedItem(action_id="a1", beneficiary_id="b2")])
        uow.emit_items(ActionCancelled, [cancelled("a1"), cancelled("a2")])
        uow.emit_items(ParticipantRemoved, [ParticipantRemovedItem(action_id="a2", beneficiary_id="b3")])
        await uow.commit()
    rows = await outbox(sessions)
    assert [r["type"] for r in rows] == ["ParticipantRemoved", "ActionCancelled", "ParticipantRemoved"]
    assert [[i["beneficiary_id"] for i in rows[0]["envelope"]["payload"]["items"]]] == [["b1", "b2"]]
    assert all(r["envelope"]["version"] == 2 for r in rows)


async def test_each_item_carries_its_aggregates_next_version_across_events_and_transactions(sessions):
    async with uow_for(sessions) as uow:
        uow.emit_items(ParticipantRemoved, [ParticipantRemovedItem(action_id="a1", beneficiary_id="b1")])
        uow.emit_items(ActionCancelled, [cancelled("a1"), cancelled("a2")])
        await uow.commit()
    async with uow_for(sessions) as uow:
        uow.emit_items(ActionCancelled, [cancelled("a2"), cancelled("a3")])
        await uow.commit()
    items = [[(i["action_id"], i["version"]) for i in r["envelope"]["payload"]["items"]] for r in await outbox(sessions)]
    assert items == [[("a1", 1)], [("a1", 2), ("a2", 1)], [("a2", 2), ("a3", 1)]]


async def test_a_long_list_is_cut_into_events_of_at_most_a_thousand_items_in_order(sessions):
    async with uow_for(sessions) as uow:
        uow.emit_items(ActionCancelled, [cancelled(f"a{i}") for i in range(2 * MAX_ITEMS + 5)])
        await uow.commit()
    rows = await outbox(sessions)
    sizes = [len(r["envelope"]["payload"]["items"]) for r in rows]
    assert sizes == [MAX_ITEMS, MAX_ITEMS, 5]
    ids = [i["action_id"] for r in rows for i in r["envelope"]["payload"]["items"]]
    assert ids == [f"a{i}" for i in range(2 * MAX_ITEMS + 5)]
    assert len({r["event_id"] for r in rows}) == 3


async def test_large_items_are_cut_so_that_no_event_passes_512_kib(sessions):
    reason = "x" * 2000  # 1,000 of these would be about 2 MB
    async with uow_for(sessions) as uow:
        uow.emit_items(ActionCancelled, [cancelled(f"a{i}", reason) for i in range(600)])
        await uow.commit()
    rows = await outbox(sessions)
    assert len(rows) > 2
    assert all(len(json.dumps(r["envelope"], separators=(",", ":")).encode()) <= MAX_EVENT_BYTES for r in rows)
    assert sum(len(r["envelope"]["payload"]["items"]) for r in rows) == 600


async def test_more_events_than_one_outbox_statement_holds_are_all_written_in_order(sessions):
    woken: list = []
    events = 2 * OUTBOX_SLICE + 3  # types alternate, so each emit is an event of its own
    async with uow_for(sessions, woken) as uow:
        for i in range(events):
            uow.emit_items(ActionCancelled if i % 2 else ParticipantRemoved,
                           [cancelled(f"a{i}")] if i % 2 else [ParticipantRemovedItem(action_id=f"a{i}",
                                                                                      beneficiary_id="b")])
        await uow.commit()
    rows = await outbox(sessions)
    assert [r["envelope"]["payload"]["items"][0]["action_id"] for r in rows] == [f"a{i}" for i in range(events)]
    assert woken == [events]


async def test_unit_of_work_is_reentrant_for_handlers_called_by_the_dispatcher(sessions):
    uow = uow_for(sessions)
    async with uow:
        async with uow:  # what a handler does inside the dispatcher's block
            await uow.add_note("inner")
        await uow.commit()
    assert isinstance(uow, UnitOfWork)
    async with uow_for(sessions) as check:
        assert await check.notes() == ["inner"]


async def test_ops04_concurrent_commits_chain_every_event_once_in_commit_order(sessions):
    """Each producer's events are chained by hash (OPS-04): units of work committing at the same time
    (on PostgreSQL, as two replicas would) still give one gap-free chain, each envelope naming the
    hash of the one committed before it, and the outbox holds each envelope's text as hashed."""
    import asyncio

    from sqlalchemy import Text, cast

    from contracts.envelope import GENESIS, event_hash

    async def emit(n: int) -> None:
        async with uow_for(sessions) as uow:
            await uow.add_note(f"note {n}")
            uow.emit_items(ActionCancelled, [cancelled(f"a{n}")])
            uow.emit(referential_changed(n + 1))
            await uow.commit()

    await asyncio.gather(*[emit(n) for n in range(12)])
    async with sessions() as s:
        raw = list((await s.execute(select(cast(kit.outbox.c.envelope, Text)).order_by(kit.outbox.c.id))).scalars())
        head = (await s.execute(select(kit.event_chain))).one()
    envelopes = [json.loads(text) for text in raw]
    assert [e["sequence"] for e in envelopes] == list(range(1, 25))
    assert envelopes[0]["previous_hash"] == GENESIS
    for before, text, envelope in zip(raw, raw[1:], envelopes[1:]):
        assert envelope["previous_hash"] == event_hash(before), envelope["sequence"]
        assert json.loads(text) == envelope
    assert (head.producer, head.sequence, head.last_hash) == ("planning", 24, event_hash(raw[-1]))
