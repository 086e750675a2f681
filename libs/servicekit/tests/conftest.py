import uuid

import pytest

from servicekit.pytest_plugin import PG_URL, drop_schemas

from kit_app import make_sessions


@pytest.fixture(params=["sqlite", "postgresql"])
async def sessions(request, tmp_path):
    """The kit's tables on SQLite and on the real PostgreSQL: the same code must behave the same."""
    if request.param == "sqlite":
        engine, factory = await make_sessions(f"sqlite+aiosqlite:///{tmp_path / 'kit.db'}")
        yield factory
        await engine.dispose()
    else:
        schema = f"t{uuid.uuid4().hex[:8]}_kit"
        engine, factory = await make_sessions(PG_URL, schema)
        yield factory
        await engine.dispose()
        await drop_schemas(schema)
