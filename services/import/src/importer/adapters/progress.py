"""How far the imports under way have got, by the id their uploader follows them with.

The uploader asks any replica (``GET /importer/imports/progress/{upload_id}``), not necessarily
the one importing: on PostgreSQL the progress is a row of ``import_progress``, written in a short
transaction of its own (the import's own transaction shows nothing until it commits). SQLite has
one writer at a time and the import holds it for its whole transaction: there the progress stays
in the process, which is the only one using that database file.
"""

import time
from datetime import timedelta
from typing import Protocol

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from servicekit.clock import Clock

from importer.adapters.orm import import_progress as _p

# A row not updated for this long belongs to an import whose process died: it is over.
STALE_AFTER = timedelta(minutes=10)
# Rows are applied faster than anyone polls: at most one write per this many seconds.
WRITE_EVERY_SECONDS = 0.2


class ImportProgress(Protocol):
    async def start(self, upload_id: str, total: int) -> None: ...

    async def advance(self, upload_id: str, done: int, total: int) -> None: ...

    async def finish(self, upload_id: str) -> None: ...

    async def get(self, upload_id: str) -> tuple[int, int] | None: ...


class MemoryImportProgress:
    def __init__(self) -> None:
        self._imports: dict[str, tuple[int, int]] = {}

    async def start(self, upload_id: str, total: int) -> None:
        self._imports[upload_id] = (0, total)

    async def advance(self, upload_id: str, done: int, total: int) -> None:
        self._imports[upload_id] = (done, total)

    async def finish(self, upload_id: str) -> None:
        self._imports.pop(upload_id, None)

    async def get(self, upload_id: str) -> tuple[int, int] | None:
        return self._imports.get(upload_id)


class SqlImportProgress:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock):
        self._sessions = sessions
        self._clock = clock
        self._written: dict[str, float] = {}  # upload id -> when its row was last written (monotonic)

    async def start(self, upload_id: str, total: int) -> None:
        now = self._clock.now()
        async with self._sessions() as session, session.begin():
            # The rows of imports whose process died go with the first import after them.
            await session.execute(delete(_p).where((_p.c.upload_id == upload_id)
                                                   | (_p.c.updated_at < now - STALE_AFTER)))
            await session.execute(insert(_p).values(upload_id=upload_id, done=0, total=total, updated_at=now))
        self._written[upload_id] = time.monotonic()

    async def advance(self, upload_id: str, done: int, total: int) -> None:
        if time.monotonic() - self._written.get(upload_id, 0.0) < WRITE_EVERY_SECONDS:
            return
        async with self._sessions() as session, session.begin():
            await session.execute(update(_p).where(_p.c.upload_id == upload_id)
                                  .values(done=done, total=total, updated_at=self._clock.now()))
        self._written[upload_id] = time.monotonic()

    async def finish(self, upload_id: str) -> None:
        self._written.pop(upload_id, None)
        async with self._sessions() as session, session.begin():
            await session.execute(delete(_p).where(_p.c.upload_id == upload_id))

    async def get(self, upload_id: str) -> tuple[int, int] | None:
        async with self._sessions() as session:
            row = (await session.execute(select(_p.c.done, _p.c.total).where(
                _p.c.upload_id == upload_id, _p.c.updated_at >= self._clock.now() - STALE_AFTER))).first()
        return (row.done, row.total) if row else None
