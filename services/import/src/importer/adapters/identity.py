"""The server secret of the records' blind indexes (BEN-03, ``domain.duplicates``)."""

import asyncio
import secrets

from pydantic import SecretStr
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from importer.adapters import orm
from importer.domain.duplicates import IdentityKeys


class IdentitySecret:
    """``PRESTAFLOW_IDENTITY_SECRET`` when set (a deployment's Secret, kept apart from the database), otherwise
    one made at first use and kept in importer's own database (the embedded default, a trial)."""

    def __init__(self, configured: SecretStr | None, sessions: async_sessionmaker[AsyncSession]):
        self._configured, self._sessions = configured, sessions
        self._keys: IdentityKeys | None = None
        self._first = asyncio.Lock()  # two requests at once make one secret

    async def keys(self) -> IdentityKeys:
        async with self._first:
            if self._keys is None:
                secret = self._configured.get_secret_value() if self._configured else await self._stored()
                self._keys = IdentityKeys(secret.encode())
        return self._keys

    async def _stored(self) -> str:
        table = orm.identity_secret
        try:
            async with self._sessions() as session, session.begin():
                found = (await session.execute(select(table.c.secret).where(table.c.id == 1))).scalar()
                if found is None:
                    found = secrets.token_urlsafe(48)
                    await session.execute(insert(table).values(id=1, secret=found))
                return found
        except IntegrityError:  # another replica made it first: theirs is the one
            async with self._sessions() as session:
                return (await session.execute(select(table.c.secret).where(table.c.id == 1))).scalar_one()
