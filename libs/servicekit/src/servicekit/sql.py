"""Small SQL helpers that behave the same on PostgreSQL and SQLite."""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Table, TypeDecorator, and_, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession


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
    if new:
        await session.execute(insert(table), new)


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
