"""Small SQL helpers that behave the same on PostgreSQL and SQLite."""

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (ARRAY, JSON, ColumnElement, DateTime, Table, Text, TypeDecorator, and_, any_, bindparam, cast,
                        func, insert, select, text, update)
from sqlalchemy.ext.asyncio import AsyncSession


# Values in one ``IN (...)``: well under both backends' limits on bound parameters.
IN_CHUNK = 1000


def chunks(values: Iterable[Any], size: int = IN_CHUNK) -> list[list[Any]]:
    """Distinct values, in order, cut to fit one ``IN (...)`` each."""
    distinct = list(dict.fromkeys(values))
    return [distinct[i:i + size] for i in range(0, len(distinct), size)]


def one_of(session: AsyncSession, column: ColumnElement[Any], values: Iterable[Any]) -> ColumnElement[bool]:
    """``column IN (values)``, as one array parameter on PostgreSQL (``column = ANY($1)``).

    An expanding ``IN`` renders a bound parameter per value in Python at every execution, and each
    list length is a new statement for the server to prepare: for the lists of a batch (up to
    ``IN_CHUNK`` ids) that was a visible share of an import's time. (``servicekit.db`` asks
    PostgreSQL for custom plans: a generic plan of ``= ANY($1)`` made while a table was small
    compares each row scanned with every value once the table has grown.)"""
    values = list(values)
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


class JsonText(str):
    """A value for a JSON column that is already encoded (an envelope): stored as it is."""


# Below this many rows a plain INSERT is quicker than COPY's extra round trips (one API request's
# outbox rows, say).
COPY_FROM_ROWS = 20


async def bulk_insert(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert many rows in the session's transaction: one ``COPY`` on PostgreSQL, one
    ``executemany`` elsewhere.

    ``COPY`` skips SQLAlchemy's per-row parameter handling (the cost of a large import), so the
    values are prepared here as the column types would: ``TypeDecorator`` bind processing, JSON
    serialised, scalar Python-side defaults filled in. Every row must give the same columns.

    PostgreSQL checks each inserted row's foreign keys with a query of its own, and under the
    services' ``force_custom_plan`` (``servicekit.db``) plans that query again for every row (a COPY
    of 10,000 actions with four foreign keys took 2.7 s instead of 0.8 s). Those checks are
    primary-key lookups whose cached plan stays right however the tables grow, so a COPY into a table
    with foreign keys runs with the plan cache on, and the setting goes back after.
    """
    if not rows:
        return
    connection = await session.connection()
    if connection.dialect.name != "postgresql" or len(rows) < COPY_FROM_ROWS:
        # Text already encoded (an envelope) is stored as it is, character for character: the
        # event chain hashes that text (OPS-04). Other JSON values SQLAlchemy's JSON type encodes.
        as_text = (lambda k: cast(bindparam(k, type_=Text), table.c[k].type)) if connection.dialect.name == "postgresql" \
            else (lambda k: bindparam(k, type_=Text))
        verbatim = {k: as_text(k) for k, v in rows[0].items() if isinstance(v, JsonText)}
        await session.execute(insert(table).values(verbatim) if verbatim else insert(table), rows)
        return
    names = list(rows[0])
    for column in table.columns:
        default = column.default
        if column.name not in names and default is not None and default.is_scalar:
            names.append(column.name)
    # Column by column: one comprehension per column is much cheaper than a call per value.
    given = len(rows[0])
    values = [[row[n] for row in rows] for n in names[:given]]
    values += [[table.c[n].default.arg] * len(rows) for n in names[given:]]
    for i, name in enumerate(names):
        if prepare := _copy_value(table.c[name], connection.dialect):
            values[i] = [prepare(v) for v in values[i]]
    records = list(zip(*values, strict=True))
    raw = (await connection.get_raw_connection()).driver_connection
    if not raw.is_in_transaction():
        # SQLAlchemy's asyncpg adapter opens its transaction at the first statement: without one,
        # the COPY would commit on its own.
        await connection.execute(text("SELECT 1"))
    if not table.foreign_keys:
        await raw.copy_records_to_table(table.name, records=records, columns=names, schema_name=table.schema)
        return
    previous = await raw.fetchval(
        "SELECT current_setting('plan_cache_mode'), set_config('plan_cache_mode', 'auto', true)")
    await raw.copy_records_to_table(table.name, records=records, columns=names, schema_name=table.schema)
    await raw.execute(f"SELECT set_config('plan_cache_mode', '{previous}', true)")


def _copy_value(column, dialect):
    """How a value of ``column`` goes into a COPY record; None when it goes as it is."""
    if isinstance(column.type, TypeDecorator):
        bind = column.type.process_bind_param
        return lambda value: bind(value, dialect)
    if isinstance(column.type, JSON):
        return lambda value: value if value is None or isinstance(value, JsonText) else json.dumps(value)
    return None


async def upsert(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows whose primary key is new, update the others; never delete.

    Portable on purpose (no dialect ``ON CONFLICT``), and rows that other tables point at keep
    their identity. Only the given rows' keys are looked up (projections call this for every
    batch of events: its cost must not grow with the table), the updates go as one executemany per
    set of columns and the new rows as one bulk insert. The rows' keys must be distinct.
    """
    if not rows:
        return
    keys = [c.name for c in table.primary_key.columns]
    existing = await existing_keys(session, table, [tuple(r[k] for k in keys) for r in rows])
    await update_rows(session, table, [r for r in rows if tuple(r[k] for k in keys) in existing])
    await bulk_insert(session, table, [r for r in rows if tuple(r[k] for k in keys) not in existing])


async def existing_keys(session: AsyncSession, table: Table, keys: Iterable[tuple]) -> set[tuple]:
    """Which of these primary keys (tuples, in the key's column order) the table holds.

    Looked up by the key's first column, which the primary key's index serves on both backends (a
    row-value ``IN`` over the whole key is not served by it on PostgreSQL); the rest is matched here."""
    columns = list(table.primary_key.columns)
    wanted, found = set(keys), set()
    for part in chunks(k[0] for k in wanted):
        rows = await session.execute(select(*columns).where(one_of(session, columns[0], part)))
        found |= {key for r in rows if (key := tuple(r)) in wanted}
    return found


async def update_rows(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Update rows found by primary key: one statement per set of updated columns.

    On PostgreSQL that statement joins the table to the rows given as arrays (``UPDATE ... FROM
    (SELECT unnest($1), unnest($2) ...)``); elsewhere it is an executemany. A key given twice in one
    set gets the last of its rows, as the executemany would leave it. JSON values travel as their
    text (a JSON list would otherwise be read as a dimension of the array) and are cast back."""
    keys = [c.name for c in table.primary_key.columns]
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(c for c in row if c not in keys), []).append(row)
    postgresql = session.get_bind().dialect.name == "postgresql"
    for columns, group in groups.items():
        if not columns:
            continue  # nothing but the key: the row is already what it should be
        if postgresql and len(group) > 1:
            last = list({tuple(r[k] for k in keys): r for r in group}.values())
            given = select(*[_unnested(table.c[c], [r[c] for r in last]).label(c)
                             for c in (*keys, *columns)]).subquery("given")
            await session.execute(update(table).where(and_(*[table.c[k] == given.c[k] for k in keys]))
                                  .values({c: given.c[c] for c in columns}))
            continue
        await session.execute(
            update(table).where(and_(*[table.c[k] == bindparam(f"key_{k}") for k in keys]))
            .values({c: bindparam(f"new_{c}") for c in columns}),
            [{f"key_{k}": r[k] for k in keys} | {f"new_{c}": r[c] for c in columns} for r in group])


def _unnested(column, values: list[Any]) -> ColumnElement[Any]:
    """``unnest($n)`` of one column's values for ``update_rows`` on PostgreSQL."""
    if isinstance(column.type, JSON):
        texts = [None if v is None else v if isinstance(v, JsonText) else json.dumps(v) for v in values]
        return cast(func.unnest(bindparam(f"given_{column.name}", texts, type_=ARRAY(Text))), column.type)
    return func.unnest(bindparam(f"given_{column.name}", values, type_=ARRAY(column.type)))


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
