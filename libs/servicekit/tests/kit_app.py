"""A minimal service for servicekit's own tests: one table of notes and the kit tables."""

from datetime import UTC, datetime

from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from contracts.planning import ReferentialChanged
from servicekit.clock import FixedClock
from servicekit.tables import add_kit_tables
from servicekit.uow import SqlAlchemyUnitOfWork

metadata = MetaData()
kit = add_kit_tables(metadata)
notes = Table("notes", metadata, Column("id", Integer, primary_key=True), Column("text", String(50)))
CLOCK = FixedClock(datetime(2025, 1, 4, 9, 0, tzinfo=UTC))


def referential_changed(version: int = 1) -> ReferentialChanged:
    return ReferentialChanged(version=version, structure=None, antennes=(), sites=(), advisors=(), ods=(),
                              resources=())


class NotesUnitOfWork(SqlAlchemyUnitOfWork):
    async def add_note(self, text: str) -> None:
        await self.session.execute(insert(notes).values(text=text))

    async def notes(self) -> list[str]:
        return list((await self.session.execute(select(notes.c.text).order_by(notes.c.id))).scalars())


async def make_sessions(url: str, schema: str | None = None):
    args = {"server_settings": {"search_path": schema}} if schema else {}
    engine = create_async_engine(url, connect_args=args)
    async with engine.begin() as conn:
        if schema:
            from sqlalchemy import text
            await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        await conn.run_sync(metadata.create_all)
    return engine, async_sessionmaker(engine, expire_on_commit=False)


