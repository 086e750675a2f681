from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.planning import ReferentialChanged
from servicekit.text import normalise_label

from importer.adapters import orm


class SqlReferentialProjection:
    """Importer's own copy of the ressources, ODS and France Travail site addresses."""

    def __init__(self, session: AsyncSession):
        self.session = session

    async def version(self) -> int:
        return (await self.session.execute(select(orm.referential_state.c.version))).scalar() or 0

    async def replace(self, event: ReferentialChanged) -> None:
        s = self.session
        for table in (orm.referential_state, orm.ref_resources, orm.ref_ods, orm.ref_site_addresses):
            await s.execute(delete(table))
        await s.execute(insert(orm.referential_state).values(
            id=1, version=event.version, structure_name=event.structure.name if event.structure else None,
            structure_siret=event.structure.siret if event.structure else None))
        rows = [{"code": r.code, "name": r.name, "antenne_code": r.antenne, "market_number": r.market_number,
                 "lot_number": r.lot_number, "ods_code": r.ods, "start": r.start, "end": r.end,
                 "active": r.active} for r in event.resources]
        if rows:
            await s.execute(insert(orm.ref_resources), rows)
        rows = [{"code": o.code, "name": o.name, "special_service": o.special_service} for o in event.ods]
        if rows:
            await s.execute(insert(orm.ref_ods), rows)
        rows = [{"normalised": normalise_label(a), "address": a, "site_code": site.code, "remote": site.remote}
                for site in event.sites for a in site.france_travail_addresses]
        if rows:
            await s.execute(insert(orm.ref_site_addresses), rows)

    async def import_target(self, resource_code: str):
        from importer.domain.imports import ImportTarget

        s = self.session
        resource = (await s.execute(select(orm.ref_resources).where(orm.ref_resources.c.code == resource_code))
                    ).mappings().first()
        siret = (await s.execute(select(orm.referential_state.c.structure_siret))).scalar()
        addresses = {r.normalised: (r.site_code, r.remote) for r in await s.execute(select(orm.ref_site_addresses))}
        return ImportTarget(
            resource_code=resource_code, market_number=resource["market_number"] if resource else None,
            ods_codes=(resource["ods_code"],) if resource and resource["ods_code"] else (),
            active=bool(resource and resource["active"]), structure_siret=siret, addresses=addresses)

    async def snapshot(self) -> dict[str, Any]:
        s = self.session
        state = (await s.execute(select(orm.referential_state))).mappings().first()
        return {
            "version": state["version"] if state else 0,
            "structure_siret": state["structure_siret"] if state else None,
            "resources": [dict(r) | {"start": r["start"].isoformat(), "end": r["end"].isoformat()} for r in (
                await s.execute(select(orm.ref_resources).order_by(orm.ref_resources.c.code))).mappings()],
            "ods": [dict(r) for r in (await s.execute(select(orm.ref_ods).order_by(orm.ref_ods.c.code))).mappings()],
            "site_addresses": [dict(r) for r in (await s.execute(
                select(orm.ref_site_addresses).order_by(orm.ref_site_addresses.c.normalised))).mappings()],
        }
