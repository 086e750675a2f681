"""A digest of a service's whole state: every table but the kit's delivery bookkeeping (outbox,
inbox, dead letters), rows in a stable order. Two databases with the same digest hold the same
state; replay tests and the audit compare them."""

import hashlib
import json
from typing import Any

from sqlalchemy import MetaData, select
from sqlalchemy.ext.asyncio import AsyncEngine

# Delivery bookkeeping, not state: event ids there are random, and a replay has no outbox of its own.
NOT_STATE = frozenset({"outbox", "inbox", "dead_letters", "alembic_version"})


async def table_rows(engine: AsyncEngine, schema: str | None = None) -> dict[str, list[list[Any]]]:
    """Each state table's rows as lists of values (columns in name order), sorted."""
    metadata = MetaData(schema=schema)
    async with engine.connect() as conn:
        await conn.run_sync(lambda sync: metadata.reflect(sync))
        tables: dict[str, list[list[Any]]] = {}
        for table in sorted(metadata.tables.values(), key=lambda t: t.name):
            if table.name in NOT_STATE:
                continue
            columns = sorted(table.columns, key=lambda c: c.name)
            rows = (await conn.execute(select(*columns))).all()
            tables[table.name] = sorted(([_plain(v) for v in row] for row in rows), key=json.dumps)
    return tables


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict | list):
        return json.loads(json.dumps(value, sort_keys=True, default=str))
    return str(value)


async def state_digest(engine: AsyncEngine, schema: str | None = None) -> str:
    rows = await table_rows(engine, schema)
    return hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()
