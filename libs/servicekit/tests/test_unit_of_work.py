"""Unit of work: one transaction, rolled back unless committed; outbox and inbox in it (X-02)."""


from sqlalchemy import func, select

from servicekit.uow import UnitOfWork

from kit_app import CLOCK, NotesUnitOfWork, kit, referential_changed


def uow_for(sessions, woken: list | None = None) -> NotesUnitOfWork:
    wake = (lambda committed: woken.append(len(committed))) if woken is not None else (lambda committed: None)
    return NotesUnitOfWork(sessions, kit, "planning", CLOCK, on_commit=wake)


async def count(sessions, table) -> int:
    async with sessions() as s:
        return (await s.execute(select(func.count()).select_from(table))).scalar()


async def test_x02_changes_and_events_are_rolled_back_unless_committed(sessions):
    async with uow_for(sessions) as uow:
        await uow.add_note("kept only if committed")
        uow.emit(referential_changed(), key="referential")
    async with uow_for(sessions) as uow:
        assert await uow.notes() == []
    assert await count(sessions, kit.outbox) == 0


async def test_x02_commit_writes_state_and_outbox_together_and_wakes_the_relay(sessions):
    woken: list = []
    async with uow_for(sessions, woken) as uow:
        await uow.add_note("a")
        envelope = uow.emit(referential_changed(), key="referential")
        await uow.commit()
    async with sessions() as s:
        row = (await s.execute(select(kit.outbox))).mappings().one()
    assert row["event_id"] == str(envelope.event_id)
    assert row["topic"] == "prestaflow.planning.events" and row["key"] == "referential"
    assert row["published_at"] is None
    assert row["envelope"]["payload"]["version"] == 1
    assert woken == [1]


async def test_x02_an_exception_inside_the_block_rolls_back(sessions):
    try:
        async with uow_for(sessions) as uow:
            await uow.add_note("lost")
            uow.emit(referential_changed(), key="referential")
            raise RuntimeError("handler bug")
    except RuntimeError:
        pass
    assert await count(sessions, kit.outbox) == 0
    async with uow_for(sessions) as uow:
        assert await uow.notes() == []


async def test_x02_inbox_row_shares_the_transaction(sessions):
    envelope = uow_for(sessions).envelope(referential_changed(), key="referential")
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
        assert await uow.claim(uow.envelope(referential_changed(), key="referential"))  # another event


async def test_envelopes_carry_correlation_and_causation(sessions):
    async with uow_for(sessions) as uow:
        uow.caused_by("import-42", "event-7")
        envelope = uow.emit(referential_changed(), key="referential")
    assert (envelope.correlation_id, envelope.causation_id, envelope.producer) == ("import-42", "event-7", "planning")
    assert envelope.occurred_at == CLOCK.now()


async def test_unit_of_work_is_reentrant_for_handlers_called_by_the_dispatcher(sessions):
    uow = uow_for(sessions)
    async with uow:
        async with uow:  # what a handler does inside the dispatcher's block
            await uow.add_note("inner")
        await uow.commit()
    assert isinstance(uow, UnitOfWork)
    async with uow_for(sessions) as check:
        assert await check.notes() == ["inner"]
