"""BEN-03: ``servicekit.merges`` re-points a merged beneficiary's rows to the kept one; a key the kept one
already holds keeps the kept one's row; a condition leaves rows (counted); the same merge twice moves nothing."""

from datetime import UTC, datetime

from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from servicekit.merges import Repoint, SqlMerges, add_merges_table

metadata = MetaData()
participants = Table("participants", metadata, Column("action_id", String(10), primary_key=True),
                     Column("beneficiary_id", String(10), primary_key=True), Column("presence", String(5)))
invoices = Table("invoices", metadata, Column("id", Integer, primary_key=True),
                 Column("beneficiary_id", String(10)), Column("status", String(10)))
contacts = Table("contacts", metadata, Column("beneficiary_id", String(10), primary_key=True),
                 Column("email", String(50)))
merges = add_merges_table(metadata)
TARGETS = (Repoint("participations", participants, "beneficiary_id", unique_with=("action_id",)),
           Repoint("brouillons", invoices, "beneficiary_id", only=lambda t: t.c.status == "draft", left="émises"),
           Repoint("contact", contacts, "beneficiary_id", unique=True))
AT = datetime(2025, 5, 5, 8, 0, tzinfo=UTC)


async def test_ben03_rows_are_repointed_clashes_keep_the_kept_row_and_twice_moves_nothing(tmp_path):
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'merges.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    sessions = async_sessionmaker(engine)
    async with sessions() as s, s.begin():
        await s.execute(insert(participants), [
            {"action_id": "a1", "beneficiary_id": "keep", "presence": "oui"},
            {"action_id": "a1", "beneficiary_id": "other", "presence": None},
            {"action_id": "a2", "beneficiary_id": "other", "presence": "non"}])
        await s.execute(insert(invoices), [{"id": 1, "beneficiary_id": "other", "status": "draft"},
                                           {"id": 2, "beneficiary_id": "other", "status": "issued"}])
        await s.execute(insert(contacts), [{"beneficiary_id": "other", "email": "o@example.org"}])
        changes = await SqlMerges(s, merges, TARGETS).follow("other", "keep", AT)
    assert changes == {"participations (doublons retirés)": 1, "participations": 1, "brouillons": 1, "émises": 1,
                       "contact": 1}
    async with sessions() as s, s.begin():
        rows = sorted(tuple(r) for r in await s.execute(select(participants)))
        assert rows == [("a1", "keep", "oui"), ("a2", "keep", "non")]
        assert dict(tuple(r) for r in await s.execute(select(invoices.c.id, invoices.c.beneficiary_id))) == {
            1: "keep", 2: "other"}
        assert [tuple(r) for r in await s.execute(select(contacts))] == [("keep", "o@example.org")]
        assert await SqlMerges(s, merges, TARGETS).follow("other", "keep", AT) is None
        listed = await SqlMerges(s, merges).listing()
    assert [(m["merged_id"], m["kept_id"], m["changes"]) for m in listed] == [("other", "keep", changes)]
    await engine.dispose()
