"""Alembic ``env.py`` body shared by every service: ``run(metadata)`` is all a service's env.py does.

Called programmatically (``Database.migrate``) the connection comes in ``config.attributes``;
called from the ``alembic`` command line it connects to ``PRESTAFLOW_DATABASE_URL``.
"""

import asyncio
import os

from alembic import context
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine


def _migrate(connection: Connection, metadata: MetaData) -> None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run(metadata: MetaData, service: str) -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _migrate(connection, metadata)
        return
    url = os.environ.get("PRESTAFLOW_DATABASE_URL", f"sqlite+aiosqlite:///{service}.db")
    schema = os.environ.get("PRESTAFLOW_DB_SCHEMA_PREFIX", "") + service
    args = {"server_settings": {"search_path": schema}} if url.startswith("postgresql") else {}

    async def online() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool, connect_args=args)
        async with engine.connect() as conn:
            await conn.run_sync(_migrate, metadata)
            await conn.commit()
        await engine.dispose()

    asyncio.run(online())
