from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from servicekit.sql import upsert

from notify.adapters import orm
from notify.domain.setup import NotificationSetup, Rule, Template


class SqlSetupRepository:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def get(self) -> NotificationSetup:
        s = self.session
        version = (await s.execute(select(orm.setup_versions.c.version)
                                   .order_by(orm.setup_versions.c.version.desc()).limit(1))).scalar()
        templates = [Template(**r) for r in (await s.execute(
            select(orm.templates).order_by(orm.templates.c.code))).mappings()]
        rules = [Rule(ods=r["ods_code"], confirmation=r["confirmation"], template=r["template_code"],
                      delay_days=r["delay_days"])
                 for r in (await s.execute(select(orm.rules).order_by(orm.rules.c.key))).mappings()]
        return NotificationSetup(version=version or 0, templates={t.code: t for t in templates},
                                 rules={r.key: r for r in rules})

    async def save(self, setup: NotificationSetup, changed_at: datetime) -> None:
        s = self.session
        await upsert(s, orm.templates, [t.model_dump() for t in setup.templates.values()])
        await upsert(s, orm.rules, [{"key": k, "ods_code": r.ods, "confirmation": r.confirmation,
                                     "template_code": r.template, "delay_days": r.delay_days}
                                    for k, r in setup.rules.items()])
        await s.execute(insert(orm.setup_versions).values(
            version=setup.version, changed_at=changed_at, digest=setup.digest(),
            snapshot=setup.model_dump(mode="json")))
