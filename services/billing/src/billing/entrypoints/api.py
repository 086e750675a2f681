"""Billing's HTTP API (under /billing)."""

from datetime import date
from typing import Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from servicekit.auth import Scope, right, scope
from servicekit.runtime import ServiceRuntime

from billing.domain.catalogue import CataloguePart
from billing.service_layer import handlers, invoicing, reports


class CreditNoteRequest(BaseModel):
    number: str = Field(description="Number of the issued invoice to cancel.", examples=["14JUNF2500001"])
    reason: str = Field(description="Why (printed on the avoir).", examples=["Date de bilan erronée"])
    legal_entity: str | None = Field(default=None, description="The caller's legal entity, when it acts for one.")


def _pdf(content: bytes, name: str) -> Response:
    return Response(content, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}"'})


def build_router(runtime: ServiceRuntime) -> APIRouter:
    router = APIRouter(tags=["billing"])
    tools = runtime.invoicing

    async def site_antennes() -> list[tuple[str, str]]:
        async with runtime.uow_factory() as uow:
            return [(s["code"], s["antenne_code"]) for s in (await uow.referential.snapshot())["sites"]]

    # SEC-02: invoices, credit notes and their exports of the sites of the antennes the caller covers
    in_scope = scope(site_antennes)

    async def document_site(sites: Scope, invoice_id: str | None = None, number: str | None = None) -> str | None:
        """The site of a draft (by id) or an issued document (by number); None when unscoped or unknown
        (the handler answers 404)."""
        if sites.codes is None:
            return None
        async with runtime.uow_factory() as uow:
            row = await (uow.invoices.get(invoice_id) if invoice_id is not None else uow.invoices.by_number(number))
        return row["site"] if row else None

    @router.put("/catalogue", dependencies=[right("facturation", "write")])
    async def put_catalogue(part: CataloguePart, dry_run: bool = False) -> dict[str, Any]:
        """Merge legal entities, antennes' legal entity, buyers and tariffs; 422 with French messages."""
        return await handlers.load_catalogue(handlers.LoadCatalogue(part, dry_run), runtime.uow_factory())

    @router.get("/catalogue", dependencies=[right("facturation", "read")])
    async def get_catalogue() -> dict[str, Any]:
        async with runtime.uow_factory() as uow:
            cat = await uow.catalogue.get()
        return cat.model_dump(mode="json") | {"tariffs": [t.model_dump(mode="json") for t in cat.tariffs.values()]}

    @router.get("/catalogue/summary", dependencies=[right("facturation", "read")])
    async def catalogue_summary() -> dict[str, Any]:
        """BIL-01: tariffs in force, ending within 30 days, ended, future; ressources without a tariff."""
        return await reports.catalogue_summary(runtime.uow_factory())

    @router.get("/referential", dependencies=[right("facturation", "read")])
    async def get_referential_projection() -> dict[str, Any]:
        """What billing knows of the referential: ressources and sites."""
        async with runtime.uow_factory() as uow:
            return await uow.referential.snapshot()

    @router.get("/invoices/pending", dependencies=[right("facturation", "read")])
    async def pending(legal_entity: str | None = None, sites: Scope = in_scope) -> list[dict[str, Any]]:
        """*Factures à émettre sans devis* (BIL-03): drafts, with the reasons of those not issuable, and
        issued invoices whose journey was reopened (``action: avoir``)."""
        return sites.keep(await invoicing.pending(runtime.uow_factory(), legal_entity), "site")

    @router.get("/invoices/issued", dependencies=[right("facturation", "read")])
    async def issued(legal_entity: str | None = None, sites: Scope = in_scope) -> list[dict[str, Any]]:
        """*Factures émises*: invoices and credit notes, in number order, with their Chorus Pro status."""
        return sites.keep(await invoicing.issued(runtime.uow_factory(), legal_entity), "site")

    @router.get("/invoices/{invoice_id}/preview", dependencies=[right("facturation", "read")])
    async def preview(invoice_id: str, legal_entity: str | None = None, sites: Scope = in_scope) -> Response:
        """BIL-10: the PDF marked *aperçu*, no number consumed."""
        if (site := await document_site(sites, invoice_id)) is not None:
            sites.readable(site, not_found=f"Facture « {invoice_id} » inconnue.")
        pdf = await invoicing.preview(runtime.uow_factory(), tools, invoice_id, legal_entity)
        return _pdf(pdf, f"apercu-{invoice_id}.pdf")

    @router.post("/invoices/{invoice_id}/issue", dependencies=[right("facturation", "write")])
    async def issue(invoice_id: str, legal_entity: str | None = None, sites: Scope = in_scope) -> dict[str, Any]:
        """BIL-05: *Générer* — validated (XSD, EN 16931) before its number; 422 with the rules broken."""
        if (site := await document_site(sites, invoice_id)) is not None:
            sites.changeable(site)
        return await invoicing.issue_invoice(invoicing.IssueInvoice(invoice_id, legal_entity), runtime.uow_factory(),
                                             tools)

    @router.post("/credit-notes", dependencies=[right("facturation", "write")])
    async def credit_note(body: CreditNoteRequest, sites: Scope = in_scope) -> dict[str, Any]:
        """BIL-08: an avoir cancelling an issued invoice, numbered in the same sequence."""
        if (site := await document_site(sites, number=body.number)) is not None:
            sites.changeable(site)
        return await invoicing.issue_credit_note(invoicing.IssueCreditNote(body.number, body.reason, body.legal_entity),
                                                 runtime.uow_factory(), tools)

    @router.get("/documents/{number}.pdf", dependencies=[right("facturation", "read")])
    async def document_pdf(number: str, sites: Scope = in_scope) -> Response:
        """An issued invoice's or credit note's Factur-X PDF."""
        if (site := await document_site(sites, number=number)) is not None:
            sites.readable(site, not_found=f"Facture ou avoir n° « {number} » inconnu.")
        return _pdf(await invoicing.pdf_of(runtime.uow_factory(), tools, number), f"{number}.pdf")

    @router.get("/journal.csv", dependencies=[right("facturation", "read")])
    async def journal(from_: date = Query(alias="from"), to: date = Query(), legal_entity: str | None = None,
                      sites: Scope = in_scope) -> Response:
        """BIL-11: the sales journal of a period (issue dates, both included), one line per document (of
        the sites the caller covers)."""
        content = await reports.journal(runtime.uow_factory(), from_, to, legal_entity, sites.codes)
        return Response(content.encode("utf-8"), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="journal-ventes-{from_}-{to}.csv"'})

    @router.post("/chorus/deposit", dependencies=[right("facturation", "write")])
    async def chorus_deposit(sites: Scope = in_scope) -> dict[str, Any]:
        """BIL-07/BIL-12: the night's Chorus Pro run, now (deposit, then reports); without credentials the
        flows are written to the folder for a manual upload. Every antenne's documents: 403 to a profile
        covering only some (SEC-02)."""
        sites.every_antenne("le dépôt Chorus Pro")
        return await runtime.deposit()

    @router.get("/chorus/status", dependencies=[right("facturation", "read")])
    async def chorus_status(legal_entity: str | None = None, sites: Scope = in_scope) -> list[dict[str, Any]]:
        """Each issued document's Chorus Pro state (pending, written, deposited, integrated, rejected with the
        reason, failed and retried next run)."""
        return sites.keep(await invoicing.issued(runtime.uow_factory(), legal_entity), "site")

    return router
