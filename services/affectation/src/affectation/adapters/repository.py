from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.planning import ReferentialChanged

from affectation.adapters import orm


class SqlReferentialProjection:
    """Affectation's own copy of sites, advisors (with their sites) and ressources."""

    def __init__(self, session: AsyncSession):
        self.session = session

    async def version(self) -> int:
        return (await self.session.execute(select(orm.referential_state.c.version))).scalar() or 0

    async def replace(self, event: ReferentialChanged) -> None:
        s = self.session
        tables = (orm.referential_state, orm.ref_sites, orm.ref_advisors, orm.ref_advisor_sites, orm.ref_resources,
                  orm.ref_ods_sites)
        for table in tables:
            await s.execute(delete(table))
        rows = {
            orm.referential_state: [{"id": 1, "version": event.version}],
            orm.ref_sites: [{"code": x.code, "name": x.name, "antenne_code": x.antenne, "remote": x.remote,
                             "active": x.active} for x in event.sites],
            orm.ref_advisors: [{"code": a.code, "name": a.name, "remote": a.remote, "active": a.active}
                               for a in event.advisors],
            orm.ref_advisor_sites: [{"advisor_code": a.code, "site_code": c} for a in event.advisors for c in a.sites],
            orm.ref_resources: [{"code": r.code, "name": r.name, "antenne_code": r.antenne, "ods_code": r.ods,
                                 "active": r.active} for r in event.resources],
            orm.ref_ods_sites: [{"ods_code": o.code, "site_code": c} for o in event.ods for c in o.sites],
        }
        for table in tables:
            if rows[table]:
                await s.execute(insert(table), rows[table])

    async def snapshot(self) -> dict[str, Any]:
        s = self.session
        sites_of: dict[str, list[str]] = {}
        for r in await s.execute(select(orm.ref_advisor_sites).order_by(orm.ref_advisor_sites.c.site_code)):
            sites_of.setdefault(r.advisor_code, []).append(r.site_code)

        async def rows(table) -> list[dict[str, Any]]:
            return [dict(r) for r in (await s.execute(select(table).order_by(table.c.code))).mappings()]

        return {
            "version": await self.version(),
            "sites": await rows(orm.ref_sites),
            "advisors": [a | {"sites": sites_of.get(a["code"], [])} for a in await rows(orm.ref_advisors)],
            "resources": await rows(orm.ref_resources),
        }
