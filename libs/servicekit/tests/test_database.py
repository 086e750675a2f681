"""The service's database (servicekit.db): an error's text never carries the row's values (X-04),
since it is logged and kept with a dead letter."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from servicekit.db import Database


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request, sqlite_settings, pg_settings, tmp_path):
    settings = sqlite_settings if request.param == "sqlite" else pg_settings
    db = Database("kit", settings, tmp_path / "no-migrations")
    async with db.engine.begin() as conn:
        if db.is_postgres:
            await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{db.schema}"'))
            await conn.execute(text(f'SET search_path TO "{db.schema}"'))
        await conn.execute(text("CREATE TABLE people (ft_id varchar(20) PRIMARY KEY, email varchar(80))"))
    yield db
    await db.drop()
    await db.dispose()


async def test_x04_a_database_error_does_not_quote_the_personal_data_it_was_given(database):
    row = {"ft_id": "4567890D", "email": "francois.etienne@example.org"}
    insert = text("INSERT INTO people (ft_id, email) VALUES (:ft_id, :email)")
    async with database.engine.begin() as conn:
        await conn.execute(insert, row)
    with pytest.raises(IntegrityError) as raised:
        async with database.engine.begin() as conn:
            await conn.execute(insert, row)
    message = str(raised.value)
    assert "SQL parameters hidden" in message
    assert "francois.etienne@example.org" not in message


async def test_upsert_inserts_new_keys_updates_known_ones_and_leaves_the_rest(database):
    from sqlalchemy import Column, MetaData, String, Table, select

    from servicekit.sql import upsert

    metadata = MetaData(schema=database.schema)
    pairs = Table("pairs", metadata, Column("a", String(10), primary_key=True),
                  Column("b", String(10), primary_key=True), Column("value", String(10)))
    async with database.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    async with database.sessions() as session, session.begin():
        await upsert(session, pairs, [{"a": "x", "b": "1", "value": "old"}, {"a": "x", "b": "2", "value": "kept"}])
    rows = [{"a": "x", "b": "1", "value": "new"}] + [{"a": "y", "b": str(n), "value": "v"} for n in range(600)]
    async with database.sessions() as session, session.begin():
        await upsert(session, pairs, rows)  # more rows than one lookup takes
    async with database.sessions() as session:
        found = {(r.a, r.b): r.value for r in (await session.execute(select(pairs)))}
    assert len(found) == 602
    assert (found["x", "1"], found["x", "2"], found["y", "599"]) == ("new", "kept", "v")


async def test_x04_erased_rows_stay_neither_in_free_pages_nor_in_the_log(sqlite_settings, tmp_path):
    """X-04: on SQLite, rows deleted then scrubbed (``uow.scrub()`` after a purge) are nowhere in the
    database's files: ``secure_delete`` zeroes freed space, the checkpoint empties the write-ahead log."""
    from servicekit.uow import SqlAlchemyUnitOfWork

    db = Database("kit", sqlite_settings, tmp_path / "no-migrations")
    marker = "francois.etienne@example.org"
    async with db.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE people (ft_id varchar(20) PRIMARY KEY, email varchar(80))"))
        for n in range(200):
            email = marker if n % 2 else f"p{n}@example.org"
            await conn.execute(text("INSERT INTO people VALUES (:id, :email)"), {"id": f"{n:07d}A", "email": email})
    uow = SqlAlchemyUnitOfWork(db.sessions, None, "kit", None)
    await uow.scrub()  # the rows are in the database file now, as they are some time after being written
    async with db.engine.begin() as conn:
        await conn.execute(text("DELETE FROM people WHERE email = :email"), {"email": marker})
        # On, even where SQLite was not built with it on by default (Debian's is).
        assert (await conn.execute(text("PRAGMA secure_delete"))).scalar() == 1
    await uow.scrub()
    files = list(sqlite_settings.home.glob("kit.db*"))
    assert files
    assert not any(marker.encode() in path.read_bytes() for path in files)
    await db.dispose()
