"""Billing's read-outs: the catalogue summary (BIL-01) and the sales journal (BIL-11)."""

from collections.abc import Collection
from datetime import date
from typing import Any

from billing.domain.catalogue import summary
from billing.domain.journal import journal_csv
from billing.service_layer.invoicing import known_entity, referential, today


async def catalogue_summary(uow) -> dict[str, Any]:
    async with uow:
        catalogue = await uow.catalogue.get()
        resources, _sites = await referential(uow)
        return summary(catalogue, {code: r.ods for code, r in resources.items()}, today(uow))


async def journal(uow, first: date, last: date, legal_entity: str | None = None,
                  sites: Collection[str] | None = None) -> str:
    """``sites``: only the documents of these sites (SEC-02; None: all)."""
    async with uow:
        await known_entity(uow, legal_entity)
        rows = [r for r in await uow.invoices.listed("issued", legal_entity)
                if first <= r["issued_on"] <= last and (sites is None or r["site"] in sites)]
        catalogue = await uow.catalogue.get()
        resources, _sites = await referential(uow)
        by_id = {r["id"]: r for r in await uow.invoices.listed("issued")}
    customers, credited = {}, {}
    for row in rows:
        resource = resources.get(row["resource"])
        buyer = catalogue.buyers.get(row["funder"] or "")
        customers[row["id"]] = (resource.lead_contractor if resource and resource.co_contractor
                                else buyer.name if buyer else row["funder"] or "")
        if row["credits"]:
            credited[row["id"]] = by_id[row["credits"]]["number"]
    return journal_csv(rows, customers, credited)
