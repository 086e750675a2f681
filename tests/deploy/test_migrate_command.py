"""OPS-01: the pods' init container, ``python -m <service> migrate``, brings the service's schema to
head on the real PostgreSQL and exits (so the service container starts after it); run again, it
changes nothing; with the database unreachable it fails, so the pod never serves."""

import os
import subprocess
import sys
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from servicekit.pytest_plugin import PG_URL, drop_schemas


def migrate(service: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", service, "migrate"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PRESTAFLOW_BUS": "memory://", **env})


@pytest.fixture
async def prefix():
    name = f"t{uuid.uuid4().hex[:8]}_"
    yield name
    await drop_schemas(name)


async def versions(schema: str) -> list[str]:
    engine = create_async_engine(PG_URL)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(text(f'SELECT version_num FROM "{schema}".alembic_version'))).scalars())
    finally:
        await engine.dispose()


@pytest.mark.parametrize("service", ["planning", "importer"])
async def test_ops01_migrate_command_migrates_the_schema_and_exits(service, prefix):
    done = migrate(service, PRESTAFLOW_DATABASE_URL=PG_URL, PRESTAFLOW_DB_SCHEMA_PREFIX=prefix)
    assert done.returncode == 0, done.stderr
    head = await versions(f"{prefix}{service}")
    assert len(head) == 1
    again = migrate(service, PRESTAFLOW_DATABASE_URL=PG_URL, PRESTAFLOW_DB_SCHEMA_PREFIX=prefix)
    assert again.returncode == 0, again.stderr
    assert await versions(f"{prefix}{service}") == head


def test_ops01_migrate_command_fails_when_the_database_is_unreachable():
    done = migrate("planning", PRESTAFLOW_DATABASE_URL="postgresql+asyncpg://nobody@127.0.0.1:1/none",
                   PRESTAFLOW_DB_SCHEMA_PREFIX="x_")
    assert done.returncode != 0
