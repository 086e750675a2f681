"""bulk_insert: one COPY on PostgreSQL, executemany on SQLite, the same rows read back on both."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import JSON, Boolean, Column, ForeignKey, Integer, MetaData, String, Table, select, text

from servicekit.sql import UtcDateTime, bulk_insert

metadata = MetaData()
rows_table = Table(
    "bulk_rows", metadata,
    Column("id", Integer, primary_key=True),
    Column("label", String(50), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("data", JSON, nullable=True),
    Column("active", Boolean, nullable=False, default=True),
)


@pytest.fixture
async def sessions(sessions):
    """conftest's session factory, with this module's tables created on its backend."""
    async with sessions() as session:
        await (await session.connection()).run_sync(metadata.create_all)
        await session.commit()
    return sessions


async def test_bulk_insert_writes_typed_rows_inside_the_transaction(sessions):
    paris = timezone(timedelta(hours=1))
    rows = [{"id": i, "label": f"ligne {i} ; « guillemets »", "at": datetime(2025, 1, 6, 9, tzinfo=paris) + timedelta(minutes=i),
             "data": {"n": i, "liste": [1, "é"]} if i % 2 else None} for i in range(1, 1201)]

    async with sessions() as session:  # rolled back: nothing stays
        await bulk_insert(session, rows_table, rows)
        assert len((await session.execute(select(rows_table.c.id))).all()) == 1200
        await session.rollback()
    async with sessions() as session:
        assert (await session.execute(select(rows_table.c.id))).all() == []

    async with sessions() as session, session.begin():
        await bulk_insert(session, rows_table, rows)
    async with sessions() as session:
        read = [dict(r) for r in (await session.execute(select(rows_table).order_by(rows_table.c.id))).mappings()]
    assert len(read) == 1200
    assert read[0] == {"id": 1, "label": "ligne 1 ; « guillemets »", "at": datetime(2025, 1, 6, 8, 1, tzinfo=UTC),
                       "data": {"n": 1, "liste": [1, "é"]}, "active": True}
    assert read[1]["data"] is None and read[1]["active"] is True  # the column's default, filled in


children_table = Table("bulk_children", metadata, Column("id", Integer, primary_key=True),
                       Column("parent", Integer, ForeignKey("bulk_rows.id"), nullable=False))


async def test_a_copy_into_a_table_with_foreign_keys_checks_them_and_leaves_the_plan_setting_as_it_was(sessions):
    at = datetime(2025, 1, 6, 8, tzinfo=UTC)
    async with sessions() as session, session.begin():
        await bulk_insert(session, rows_table, [{"id": i, "label": "l", "at": at, "data": None} for i in range(1, 4)])
    async with sessions() as session:
        postgresql = session.get_bind().dialect.name == "postgresql"
        if postgresql:
            await session.execute(text("SET LOCAL plan_cache_mode = 'force_custom_plan'"))
        await bulk_insert(session, children_table, [{"id": i, "parent": 1 + i % 3} for i in range(100)])
        if postgresql:
            assert (await session.execute(text("SHOW plan_cache_mode"))).scalar() == "force_custom_plan"
        assert len((await session.execute(select(children_table.c.id))).all()) == 100
        await session.commit()
    with pytest.raises(Exception, match="(?i)foreign key"):
        async with sessions() as session, session.begin():
            if session.get_bind().dialect.name == "sqlite":
                await session.execute(text("PRAGMA foreign_keys = ON"))
            await bulk_insert(session, children_table, [{"id": 1000 + i, "parent": 99} for i in range(30)])


pairs_table = Table("bulk_pairs", metadata, Column("a", String(10), primary_key=True),
                    Column("b", String(10), primary_key=True))


async def test_upsert_updates_known_keys_inserts_new_ones_and_accepts_key_only_tables(sessions):
    from servicekit.sql import upsert

    at = datetime(2025, 1, 6, 8, tzinfo=UTC)
    async with sessions() as session, session.begin():
        await upsert(session, rows_table, [{"id": 1, "label": "un", "at": at, "data": None, "active": True},
                                           {"id": 2, "label": "deux", "at": at, "data": None, "active": True}])
        await upsert(session, pairs_table, [{"a": "x", "b": "y"}])
    async with sessions() as session, session.begin():
        # Rows giving different columns are updated each with its own; a key-only row is left alone.
        await upsert(session, rows_table, [{"id": 1, "label": "UN"}, {"id": 2, "active": False},
                                           {"id": 3, "label": "trois", "at": at, "data": [3], "active": True}])
        await upsert(session, pairs_table, [{"a": "x", "b": "y"}, {"a": "x", "b": "z"}])
    async with sessions() as session:
        read = [(r.id, r.label, r.active, r.data) for r in await session.execute(select(rows_table).order_by("id"))]
        pairs = [tuple(r) for r in await session.execute(select(pairs_table).order_by("a", "b"))]
    assert read == [(1, "UN", True, None), (2, "deux", False, None), (3, "trois", True, [3])]
    assert pairs == [("x", "y"), ("x", "z")]


async def test_update_rows_sets_each_rows_columns_and_the_last_row_of_a_repeated_key_wins(sessions):
    from servicekit.sql import update_rows

    at = datetime(2025, 1, 6, 8, tzinfo=UTC)
    async with sessions() as session, session.begin():
        await bulk_insert(session, rows_table, [{"id": i, "label": f"l{i}", "at": at, "data": None, "active": True}
                                                for i in range(1, 6)])
    paris = timezone(timedelta(hours=1))
    async with sessions() as session, session.begin():
        await update_rows(session, rows_table, [
            {"id": 1, "label": "un", "at": datetime(2025, 2, 1, 10, tzinfo=paris), "data": {"é": [1]}, "active": False},
            {"id": 2, "label": "deux", "at": at, "data": None, "active": True},
            {"id": 1, "label": "UN", "at": datetime(2025, 2, 1, 10, tzinfo=paris), "data": {"é": [2]}, "active": False},
            {"id": 3, "active": False}, {"id": 4, "active": False},
            {"id": 99, "active": False},  # unknown key: nothing to update, nothing inserted
            {"id": 5}])  # the key alone: left as it is
    async with sessions() as session:
        read = [(r.id, r.label, r.at, r.data, r.active) for r in
                await session.execute(select(rows_table).order_by(rows_table.c.id))]
    assert read == [(1, "UN", datetime(2025, 2, 1, 9, tzinfo=UTC), {"é": [2]}, False), (2, "deux", at, None, True),
                    (3, "l3", at, None, False), (4, "l4", at, None, False), (5, "l5", at, None, True)]


async def test_update_rows_keeps_json_lists_as_values_of_one_row(sessions):
    """A JSON list (planning's reasons of a refusal, say) is one row's value, not a dimension of the
    PostgreSQL array the rows travel in."""
    from servicekit.sql import update_rows

    at = datetime(2025, 1, 6, 8, tzinfo=UTC)
    async with sessions() as session, session.begin():
        await bulk_insert(session, rows_table, [{"id": i, "label": f"l{i}", "at": at, "data": None, "active": True}
                                                for i in range(1, 4)])
    async with sessions() as session, session.begin():
        await update_rows(session, rows_table, [{"id": 1, "data": ["Conseiller absent.", "Salle prise."]},
                                                {"id": 2, "data": ["Une seule raison."]}, {"id": 3, "data": None}])
    async with sessions() as session:
        read = [(r.id, r.data) for r in await session.execute(select(rows_table).order_by(rows_table.c.id))]
    assert read == [(1, ["Conseiller absent.", "Salle prise."]), (2, ["Une seule raison."]), (3, None)]


async def test_one_of_finds_the_rows_of_the_given_values_on_both_backends(sessions):
    from servicekit.sql import one_of

    at = datetime(2025, 1, 6, 8, tzinfo=UTC)
    async with sessions() as session, session.begin():
        await bulk_insert(session, rows_table, [{"id": i, "label": f"l{i}", "at": at + timedelta(hours=i),
                                                 "data": None, "active": True} for i in range(1, 1201)])
    async with sessions() as session:
        by_label = (await session.execute(select(rows_table.c.id).where(
            one_of(session, rows_table.c.label, ["l7", "l1200", "absent", "l7"])).order_by(rows_table.c.id))).scalars()
        by_time = (await session.execute(select(rows_table.c.id).where(
            one_of(session, rows_table.c.at, [at + timedelta(hours=3), at + timedelta(hours=5)])))).scalars()
        none = (await session.execute(select(rows_table.c.id).where(one_of(session, rows_table.c.id, [])))).all()
    assert list(by_label) == [7, 1200]
    assert sorted(by_time) == [3, 5]
    assert none == []
