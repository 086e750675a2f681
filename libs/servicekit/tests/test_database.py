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
