"""Scheduled work run by one replica at a time: a lease held as a PostgreSQL advisory lock.

The 19:00 notification batch, the nightly Chorus deposit, the daily closing and the hourly purge
are each due once, whatever the number of replicas. The replica that takes the service's
session-level advisory lock (``pg_try_advisory_lock``) on a connection of its own is the leader
and runs the service's periodic jobs; the others try again every ``retry_seconds``. The lock lives
as long as that connection: a leader that dies, or loses its database connection, frees it and the
next replica to try takes over. On SQLite (one process by construction) the process always leads.
"""

import asyncio
import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from servicekit.db import Database

log = logging.getLogger("servicekit.leader")


class Leadership:
    def __init__(self, database: Database, name: str = "scheduled-jobs", retry_seconds: float = 5.0):
        self.database = database
        self.lock_name = f"{name}:{database.schema}"
        self.retry_seconds = retry_seconds
        self._conn: AsyncConnection | None = None
        self._lock = asyncio.Lock()  # the service's jobs ask at once: one connection, one lock

    async def held(self) -> bool:
        """Whether this replica leads now: keeps the lease it has (checking its connection still
        answers), or tries to take it."""
        if not self.database.is_postgres:
            return True
        async with self._lock:
            return await self._hold()

    async def _hold(self) -> bool:
        if self._conn is not None:
            try:
                await self._conn.execute(text("SELECT 1"))
                return True
            except Exception:  # noqa: BLE001 - a lost connection lost the lock with it
                log.warning("scheduled-jobs lease lost", extra={"service": self.database.service})
                await self._forget(invalidate=True)
        conn = await self.database.engine.connect()
        try:
            taken = (await conn.execute(text("SELECT pg_try_advisory_lock(hashtext(:name))"),
                                        {"name": self.lock_name})).scalar_one()
            await conn.commit()
        except BaseException:
            await conn.close()
            raise
        if not taken:
            await conn.close()
            return False
        self._conn = conn
        log.info("scheduled-jobs lease taken", extra={"service": self.database.service})
        return True

    async def release(self) -> None:
        """Give the lease up (at shutdown), so that another replica takes over at once."""
        async with self._lock:
            if self._conn is None:
                return
            try:
                await self._conn.execute(text("SELECT pg_advisory_unlock(hashtext(:name))"),
                                         {"name": self.lock_name})
                await self._conn.commit()
                await self._forget()
            except Exception:  # noqa: BLE001 - closing the connection for good frees the lock too
                await self._forget(invalidate=True)

    async def _forget(self, invalidate: bool = False) -> None:
        """Drop the lease's connection; ``invalidate`` closes it for good rather than pooling it (a
        pooled connection would keep a session lock)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                if invalidate:
                    await conn.invalidate()
                await conn.close()
            except Exception:  # noqa: BLE001 - the connection is already gone
                pass
