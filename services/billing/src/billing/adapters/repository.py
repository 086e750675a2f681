from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.planning import ReferentialChanged
from servicekit.sql import upsert

from billing.adapters import orm
from billing.domain.catalogue import AntenneEntity, Buyer, Catalogue, LegalEntity, Tariff


class SqlCatalogueRepository:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def _rows(self, table, order):
        return (await self.session.execute(select(table).order_by(order))).mappings().all()

    async def get(self) -> Catalogue:
        s = self.session
        version = (await s.execute(select(orm.catalogue_versions.c.version)
                                   .order_by(orm.catalogue_versions.c.version.desc()).limit(1))).scalar()
        base = (await s.execute(select(orm.installation.c.base_number))).scalar()
        tariffs = [Tariff(ods=r["ods_code"], action_type=r["action_type"], resource=r["resource_code"],
                          funder=r["funder"], site=r["site_code"], start=r["start"], end=r["end"],
                          amount_eur=r["amount_eur"], unit=r["unit"], rule=r["rule"],
                          without_quote=r["without_quote"])
                   for r in await self._rows(orm.tariffs, orm.tariffs.c.id)]
        return Catalogue(
            version=version or 0, base_number=base,
            legal_entities={r["code"]: LegalEntity(**r) for r in await self._rows(orm.legal_entities,
                                                                                  orm.legal_entities.c.code)},
            antennes={r["antenne_code"]: AntenneEntity(code=r["antenne_code"], legal_entity=r["legal_entity_code"])
                      for r in await self._rows(orm.antenne_entities, orm.antenne_entities.c.antenne_code)},
            buyers={r["code"]: Buyer(**r) for r in await self._rows(orm.buyers, orm.buyers.c.code)},
            tariffs={Catalogue.tariff_id(t): t for t in tariffs},
        )

    async def save(self, cat: Catalogue, changed_at: datetime) -> None:
        s = self.session
        await upsert(s, orm.installation, [{"id": 1, "base_number": cat.base_number}])
        await upsert(s, orm.legal_entities, [e.model_dump() for e in cat.legal_entities.values()])
        await upsert(s, orm.antenne_entities, [{"antenne_code": a.code, "legal_entity_code": a.legal_entity}
                                               for a in cat.antennes.values()])
        await upsert(s, orm.buyers, [b.model_dump() for b in cat.buyers.values()])
        await upsert(s, orm.tariffs, [{
            "id": tid, "ods_code": t.ods, "action_type": t.action_type, "resource_code": t.resource,
            "funder": t.funder, "site_code": t.site, "start": t.start, "end": t.end, "amount_eur": t.amount_eur,
            "unit": t.unit, "rule": t.rule, "without_quote": t.without_quote} for tid, t in cat.tariffs.items()])
        await s.execute(insert(orm.catalogue_versions).values(
            version=cat.version, changed_at=changed_at, digest=cat.digest(), snapshot=cat.model_dump(mode="json")))


class SqlReferentialProjection:
    """Billing's copy of the ressources (market, lot, mandataire) and sites (address for invoices)."""

    def __init__(self, session: AsyncSession):
        self.session = session

    async def version(self) -> int:
        return (await self.session.execute(select(orm.referential_state.c.version))).scalar() or 0

    async def replace(self, event: ReferentialChanged) -> None:
        s = self.session
        for table in (orm.referential_state, orm.ref_resources, orm.ref_sites):
            await s.execute(delete(table))
        await s.execute(insert(orm.referential_state).values(id=1, version=event.version))
        if event.resources:
            await s.execute(insert(orm.ref_resources), [
                {"code": r.code, "name": r.name, "antenne_code": r.antenne, "ods_code": r.ods,
                 "market_number": r.market_number, "lot_number": r.lot_number,
                 "lead_contractor": r.lead_contractor, "funder": r.funder} for r in event.resources])
        if event.sites:
            await s.execute(insert(orm.ref_sites), [
                {"code": x.code, "name": x.name, "antenne_code": x.antenne, "address": x.address}
                for x in event.sites])

    async def snapshot(self) -> dict[str, Any]:
        s = self.session
        return {
            "version": await self.version(),
            "resources": [dict(r) for r in (await s.execute(
                select(orm.ref_resources).order_by(orm.ref_resources.c.code))).mappings()],
            "sites": [dict(r) for r in (await s.execute(select(orm.ref_sites).order_by(orm.ref_sites.c.code))).mappings()],
        }
