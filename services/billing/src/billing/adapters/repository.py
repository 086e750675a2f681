from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.planning import ReferentialChanged
from servicekit.sql import bulk_insert, existing_keys, one_of, upsert

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
        # Each legal entity's numbering row, created once with its first load (BIL-05).
        known = await existing_keys(s, orm.numbering, [(code,) for code in cat.legal_entities])
        await bulk_insert(s, orm.numbering, [{"legal_entity": code, "last_sequence": 0}
                                             for code in cat.legal_entities if (code,) not in known])
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


class SqlInvoiceRepository:
    """Drafts, issued invoices and credit notes; the numbering rows (BIL-03 to BIL-08)."""

    # What listings read: everything but the documents themselves.
    LISTED = [c for c in orm.invoices.c if c.name not in ("xml", "pdf")]

    def __init__(self, session: AsyncSession):
        self.session = session

    async def add_new(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Insert the rows whose id is new; the others (a redelivered closing) are left as they are."""
        known = await existing_keys(self.session, orm.invoices, [(r["id"],) for r in rows])
        fresh = [r for r in rows if (r["id"],) not in known]
        await bulk_insert(self.session, orm.invoices, fresh)
        return fresh

    async def get(self, invoice_id: str) -> dict[str, Any] | None:
        query = select(*self.LISTED).where(orm.invoices.c.id == invoice_id)
        row = (await self.session.execute(query)).mappings().first()
        return dict(row) if row else None

    async def by_number(self, number: str) -> dict[str, Any] | None:
        row = (await self.session.execute(select(*self.LISTED).where(orm.invoices.c.number == number))).mappings().first()
        return dict(row) if row else None

    async def of_enrolments(self, enrolment_ids: list[str]) -> list[dict[str, Any]]:
        rows = await self.session.execute(select(*self.LISTED).where(
            one_of(self.session, orm.invoices.c.enrolment_id, enrolment_ids)))
        return [dict(r) for r in rows.mappings()]

    async def listed(self, status: str, legal_entity: str | None = None, kind: str | None = None
                     ) -> list[dict[str, Any]]:
        query = select(*self.LISTED).where(orm.invoices.c.status == status)
        if legal_entity:
            query = query.where(orm.invoices.c.legal_entity == legal_entity)
        if kind:
            query = query.where(orm.invoices.c.kind == kind)
        order = orm.invoices.c.number if status == "issued" else orm.invoices.c.closed_on
        return [dict(r) for r in (await self.session.execute(query.order_by(order, orm.invoices.c.id))).mappings()]

    async def update(self, invoice_id: str, **values: Any) -> None:
        await self.session.execute(update(orm.invoices).where(orm.invoices.c.id == invoice_id).values(**values))

    async def update_if(self, invoice_id: str, condition: dict[str, Any], **values: Any) -> bool:
        """Update the row only if its columns still hold ``condition`` (None: NULL); False if they do not."""
        table = orm.invoices
        where = [table.c.id == invoice_id] + [table.c[k].is_(None) if v is None else table.c[k] == v
                                              for k, v in condition.items()]
        return (await self.session.execute(update(table).where(*where).values(**values))).rowcount == 1

    async def document(self, invoice_id: str, column: str) -> Any:
        return (await self.session.execute(select(orm.invoices.c[column]).where(orm.invoices.c.id == invoice_id))).scalar()

    async def for_chorus(self, statuses: tuple[str, ...]) -> list[dict[str, Any]]:
        """Issued documents in these Chorus states, in number order."""
        rows = await self.session.execute(select(*self.LISTED).where(
            orm.invoices.c.status == "issued", orm.invoices.c.chorus_status.in_(statuses)).order_by(orm.invoices.c.number))
        return [dict(r) for r in rows.mappings()]

    async def without_pdf(self) -> list[str]:
        rows = await self.session.execute(select(orm.invoices.c.id).where(
            orm.invoices.c.status == "issued", orm.invoices.c.pdf.is_(None)).order_by(orm.invoices.c.number))
        return list(rows.scalars())

    async def restore_sequence(self, legal_entity: str, sequence: int) -> None:
        """The audit's replay (OPS-04): the sequence has reached ``sequence`` (a number restored from the log)."""
        table = orm.numbering
        last = (await self.session.execute(select(table.c.last_sequence)
                                           .where(table.c.legal_entity == legal_entity))).scalar()
        if last is None:
            await self.session.execute(insert(table).values(legal_entity=legal_entity, last_sequence=sequence))
        elif last < sequence:
            await self.session.execute(update(table).where(table.c.legal_entity == legal_entity)
                                       .values(last_sequence=sequence))

    async def allocate(self, legal_entity: str) -> int:
        """The next number of ``legal_entity``'s sequence; its row stays locked until the transaction ends."""
        table = orm.numbering
        last = (await self.session.execute(select(table.c.last_sequence).where(table.c.legal_entity == legal_entity)
                                           .with_for_update())).scalar()
        if last is None:  # a legal entity saved before numbering rows existed
            await self.session.execute(insert(table).values(legal_entity=legal_entity, last_sequence=0))
            last = 0
        await self.session.execute(update(table).where(table.c.legal_entity == legal_entity)
                                   .values(last_sequence=last + 1))
        return last + 1


class SqlBeneficiaries:
    """Beneficiaries' sealed identity, kept from importer's ``BeneficiaryRegistered``."""

    def __init__(self, session: AsyncSession):
        self.session = session

    async def put(self, rows: list[dict[str, str]]) -> None:
        await upsert(self.session, orm.beneficiaries, rows)

    async def sealed(self, beneficiary_ids: list[str]) -> dict[str, str]:
        rows = await self.session.execute(select(orm.beneficiaries).where(
            one_of(self.session, orm.beneficiaries.c.beneficiary_id, beneficiary_ids)))
        return {r.beneficiary_id: r.sealed for r in rows}

    async def forget(self, beneficiary_ids: list[str]) -> None:
        await self.session.execute(delete(orm.beneficiaries).where(
            one_of(self.session, orm.beneficiaries.c.beneficiary_id, beneficiary_ids)))
