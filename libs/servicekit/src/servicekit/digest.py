"""A digest of a service's whole state (OPS-04): every table of the service's metadata but the kit's
delivery bookkeeping (outbox, inbox, dead letters, the head of the event chain) and what the
service's bootstrap names as caches, rows in a stable order. Tables are found in the metadata, so a
table added later is covered without being declared. Values are normalised (datetimes in UTC,
decimals as text, JSON with sorted keys), so that a replay into SQLite and the live PostgreSQL
database give the same digest for the same state. A column can be left out alone (``table.column``,
e.g. a personal value no event carries): the rest of its table is still compared."""

import hashlib
import json
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import MetaData, select
from sqlalchemy.ext.asyncio import AsyncEngine

# Delivery bookkeeping, not state: event ids there are random, and a replay has no outbox of its own.
NOT_STATE = frozenset({"outbox", "inbox", "dead_letters", "event_chain", "alembic_version"})


def state_tables(metadata: MetaData, not_state: frozenset[str] = frozenset()) -> list:
    """The tables that hold the service's state, by name (``not_state`` names tables, or columns as
    ``table.column``: those leave out the column only)."""
    excluded = NOT_STATE | not_state
    return sorted((t for t in metadata.tables.values() if t.name not in excluded), key=lambda t: t.name)


async def table_rows(engine: AsyncEngine, metadata: MetaData,
                     not_state: frozenset[str] = frozenset()) -> dict[str, list[list[Any]]]:
    """Each state table's rows as lists of plain values (columns in name order), sorted."""
    tables: dict[str, list[list[Any]]] = {}
    async with engine.connect() as conn:
        for table in state_tables(metadata, not_state):
            columns = sorted((c for c in table.columns if f"{table.name}.{c.name}" not in not_state),
                             key=lambda c: c.name)
            rows = (await conn.execute(select(*columns))).all()
            tables[table.name] = sorted(([_plain(v) for v in row] for row in rows), key=_text)
    return tables


def _text(row: list[Any]) -> str:
    return json.dumps(row, sort_keys=True, ensure_ascii=False)


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict | list):
        return json.loads(json.dumps(value, sort_keys=True, default=str))
    return str(value)


def digest_of(rows: dict[str, list[list[Any]]]) -> dict[str, Any]:
    """The whole state's digest and each table's (row count and SHA-256 of its sorted rows)."""
    tables = {name: {"rows": len(table_rows_),
                     "digest": hashlib.sha256("\n".join(map(_text, table_rows_)).encode()).hexdigest()}
              for name, table_rows_ in rows.items()}
    whole = hashlib.sha256("\n".join(f"{name} {t['digest']}" for name, t in sorted(tables.items())).encode())
    return {"digest": whole.hexdigest(), "tables": tables}


async def state_digest(engine: AsyncEngine, metadata: MetaData, not_state: frozenset[str] = frozenset()) -> dict:
    return digest_of(await table_rows(engine, metadata, not_state))
