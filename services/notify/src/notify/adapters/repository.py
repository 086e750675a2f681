from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from servicekit.sql import upsert

from notify.adapters import orm
from notify.domain.setup import NotificationSetup, Rule, Template


class SetupCache:
    """The last set-up read, by version: versions are immutable, so one query tells whether the cached
    copy is current (every event and every message reads the templates and rules)."""

    def __init__(self) -> None:
        self.setup: NotificationSetup | None = None


class SqlSetupRepository:
    def __init__(self, session: AsyncSession, cache: SetupCache | None = None):
        self.session = session
        self.cache = cache or SetupCache()
        self._current: NotificationSetup | None = None  # checked in this transaction

    async def get(self) -> NotificationSetup:
        """The current set-up; callers must not mutate it (``merged_with`` returns a copy)."""
        if self._current is not None:
            return self._current
        version = (await self.session.execute(select(orm.setup_versions.c.version)
                                              .order_by(orm.setup_versions.c.version.desc()).limit(1))).scalar() or 0
        if self.cache.setup is None or self.cache.setup.version != version:
            self.cache.setup = await self._load(version)
        self._current = self.cache.setup
        return self._current

    async def _load(self, version: int) -> NotificationSetup:
        s = self.session
        templates = [Template(**r) for r in (await s.execute(
            select(orm.templates).order_by(orm.templates.c.code))).mappings()]
        rules = [Rule(ods=r["ods_code"], confirmation=r["confirmation"], template=r["template_code"],
                      delay_days=r["delay_days"])
                 for r in (await s.execute(select(orm.rules).order_by(orm.rules.c.key))).mappings()]
        return NotificationSetup(version=version, templates={t.code: t for t in templates},
                                 rules={r.key: r for r in rules})

    async def save(self, setup: NotificationSetup, changed_at: datetime) -> None:
        self._current = None
        s = self.session
        await upsert(s, orm.templates, [t.model_dump() for t in setup.templates.values()])
        await upsert(s, orm.rules, [{"key": k, "ods_code": r.ods, "confirmation": r.confirmation,
                                     "template_code": r.template, "delay_days": r.delay_days}
                                    for k, r in setup.rules.items()])
        await s.execute(insert(orm.setup_versions).values(
            version=setup.version, changed_at=changed_at, digest=setup.digest(),
            snapshot=setup.model_dump(mode="json")))

    async def delete_template(self, code: str) -> None:
        self._current = None
        await self.session.execute(delete(orm.templates).where(orm.templates.c.code == code))

    async def delete_rule(self, key: str) -> None:
        self._current = None
        await self.session.execute(delete(orm.rules).where(orm.rules.c.key == key))
