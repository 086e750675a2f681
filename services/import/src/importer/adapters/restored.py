"""Importer's records written back by an audit replay from importer's own events (OPS-04), in bulk as
the import writes them: the rows an event's items name are looked up in one query, the changed ones
updated and the new ones inserted together."""

from typing import Any

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from servicekit.sql import bulk_insert, existing_keys, update_rows

from importer.adapters import orm


class SqlRestoredRecords:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def put(self, table: Table, rows: list[tuple[str, dict[str, Any], dict[str, Any]]]) -> None:
        """Each ``(id, values, new)``: ``values`` set on the row ``id``, created with ``new`` too when
        absent; a row named twice ends as it would one item after the other."""
        merged: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
        for row_id, values, new in rows:
            if row_id in merged:
                merged[row_id][0].update(values)
            else:
                merged[row_id] = (dict(values), new)
        existing = {key[0] for key in await existing_keys(self.session, table, [(row_id,) for row_id in merged])}
        await update_rows(self.session, table, [{"id": row_id, **values} for row_id, (values, _) in merged.items()
                                                if row_id in existing])
        await bulk_insert(self.session, table, [{"id": row_id, **new, **values}
                                                for row_id, (values, new) in merged.items() if row_id not in existing])

    async def change(self, table: Table, rows: list[dict[str, Any]]) -> None:
        """Set each row's values on the row of its ``id``."""
        await update_rows(self.session, table, rows)


beneficiaries, enrolments, registrations, import_batches = (orm.beneficiaries, orm.enrolments, orm.registrations,
                                                            orm.import_batches)
