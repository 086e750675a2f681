"""Importer's records written back by an audit replay from importer's own events (OPS-04): each row by
its id, changed if there, else created with what only a new row gets."""

from typing import Any

from sqlalchemy import Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from importer.adapters import orm


class SqlRestoredRecords:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def put(self, table: Table, row_id: str, values: dict[str, Any], new: dict[str, Any] | None = None) -> None:
        """Set ``values`` on the row ``row_id`` of ``table``; without one, create it with ``new`` too."""
        if values:
            found = (await self.session.execute(update(table).where(table.c.id == row_id).values(**values))).rowcount
        else:
            found = (await self.session.execute(select(table.c.id).where(table.c.id == row_id))).first() is not None
        if not found:
            await self.session.execute(insert(table).values(id=row_id, **(new or {}), **values))

    async def change(self, table: Table, row_id: str, **values: Any) -> None:
        await self.session.execute(update(table).where(table.c.id == row_id).values(**values))


beneficiaries, enrolments, registrations, import_batches = (orm.beneficiaries, orm.enrolments, orm.registrations,
                                                            orm.import_batches)
