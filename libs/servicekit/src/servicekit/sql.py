"""Small SQL helpers that behave the same on PostgreSQL and SQLite."""

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Table, TypeDecorator, and_, insert, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession


async def bulk_insert(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert many rows in the session's transaction: one ``COPY`` on PostgreSQL, one
    ``executemany`` elsewhere.

    ``COPY`` skips SQLAlchemy's per-row parameter handling (the cost of a large import), so the
    values are prepared here as the column types would: ``TypeDecorator`` bind processing, JSON
    serialised, scalar Python-side defaults filled in. Every row must give the same columns.
    """
    if not rows:
        return
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        await session.execute(insert(table), list(rows))
        return
    names = list(rows[0])
    for column in table.columns:
        default = column.default
        if column.name not in names and default is not None and default.is_scalar:
            names.append(column.name)
    columns = [table.c[n] for n in names]
    prepare = [_copy_value(c, connection.dialect) for c in columns]
    defaults = {c.name: c.default.arg for c in columns if c.default is not None and c.default.is_scalar}
    records = [tuple(p(row[n] if n in row else defaults[n]) for n, p in zip(names, prepare, strict=True))
               for row in rows]
    raw = (await connection.get_raw_connection()).driver_connection
    if not raw.is_in_transaction():
        # SQLAlchemy's asyncpg adapter opens its transaction at the first statement: without one,
        # the COPY would commit on its own.
        await connection.execute(text("SELECT 1"))
    await raw.copy_records_to_table(table.name, records=records, columns=names, schema_name=table.schema)


def _copy_value(column, dialect):
    if isinstance(column.type, TypeDecorator):
        bind = column.type.process_bind_param
        return lambda value: bind(value, dialect)
    if isinstance(column.type, JSON):
        return lambda value: None if value is None else json.dumps(value)
    return lambda value: value


async def upsert(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows whose primary key is new, update the others; never delete.

    Portable on purpose (no dialect ``ON CONFLICT``), and rows that other tables point at keep
    their identity. Only the given rows' keys are looked up: projections call this once per event,
    so its cost must not grow with the table.
    """
    if not rows:
        return
    keys = [c.name for c in table.primary_key.columns]
    existing: set[tuple] = set()
    for start in range(0, len(rows), 500):
        wanted = [tuple(r[k] for k in keys) for r in rows[start:start + 500]]
        if len(keys) == 1:
            where = table.c[keys[0]].in_([w[0] for w in wanted])
        else:
            where = tuple_(*[table.c[k] for k in keys]).in_(wanted)
        existing |= {tuple(r) for r in (await session.execute(select(*[table.c[k] for k in keys]).where(where))).all()}
    new = [r for r in rows if tuple(r[k] for k in keys) not in existing]
    for row in rows:
        if tuple(row[k] for k in keys) in existing:
            await session.execute(update(table).where(and_(*[table.c[k] == row[k] for k in keys]))
                                  .values({c: v for c, v in row.items() if c not in keys}))
    await bulk_insert(session, table, new)


class UtcDateTime(TypeDecorator):
    """Timezone-aware datetimes stored in UTC on every backend (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: give a timezone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
