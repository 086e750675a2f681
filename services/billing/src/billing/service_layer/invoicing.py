"""Invoices of closed journeys: drafts from ``ODSClosed`` (BIL-03/04), preview (BIL-10), issue with a
gap-free number (BIL-05/06/09), credit notes (BIL-08).

Issuing checks the CII XML (XSD and EN 16931 rules) first, with nothing locked; then the legal
entity's numbering row is locked FOR UPDATE, the number allocated, the invoice marked issued and
the transaction committed: the lock is held for these statements only. The PDF/A-3 is rendered
after the commit (from what was committed, so a crash before it only delays the PDF: it is
rendered again by :func:`render_missing`).
"""

import hashlib
import time
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Protocol

from contracts.billing import (CreditNoteIssued, CreditNoteIssuedItem, InvoiceDrafted, InvoiceDraftedItem,
                               InvoiceIssued, InvoiceIssuedItem)
from contracts.importer import BeneficiaryCorrected, BeneficiaryPurged, BeneficiaryRegistered
from contracts.planning import ODSClosed, ODSReopened
from servicekit import faults
from servicekit.clock import PARIS
from servicekit.errors import Conflict, NotFound, RefusedInput
from servicekit.ids import derived_id

from billing.domain.catalogue import Catalogue
from billing.domain.cii import cii_xml
from billing.domain.invoices import CREDIT_NOTE_TYPE, Closed, Resource, Site, invoice_number, price
from billing.domain.printing import Identity, Printed, printed


class Validator(Protocol):
    async def check(self, xml: bytes) -> list[str]: ...


class KeySource(Protocol):
    async def unseal_all(self, sealed: dict[str, str]) -> dict[str, dict[str, Any] | None]: ...


@dataclass
class Invoicing:
    """What issuing needs besides the unit of work (named in bootstrap.py)."""

    validator: Validator
    pdfs: Any  # billing.adapters.documents.InvoicePdfs
    keys: KeySource
    lock_hold_seconds: list[float]  # how long each allocation held its numbering row (bench)


# --- events ---------------------------------------------------------------------------------------------------------

def invoice_id(enrolment_id: str, closing: int) -> str:
    """One invoice per closing of an enrolment, whatever the deliveries of its ``ODSClosed``."""
    return derived_id("invoice", enrolment_id, closing)


async def draft_invoices(event: ODSClosed, uow) -> None:
    """BIL-03/04: one draft per closed journey, priced at the tariff in force on its start."""
    async with uow:
        catalogue = await uow.catalogue.get()
        resources, sites = await referential(uow)
        rows = []
        for item in event.items:
            closed = Closed(**item.model_dump(include=set(Closed.__dataclass_fields__)))
            pricing = price(catalogue, resources, sites, closed)
            rows.append({
                "id": invoice_id(item.enrolment_id, item.closing), "kind": "invoice", "status": "draft",
                **item.model_dump(include=set(Closed.__dataclass_fields__)),
                "legal_entity": pricing.legal_entity, "funder": pricing.funder,
                "tariff_amount": pricing.tariff_amount, "percentage": pricing.percentage, "amount": pricing.amount,
                "problems": pricing.problems, "chorus_attempts": 0})
        fresh = await uow.invoices.add_new(rows)
        uow.emit_items(InvoiceDrafted, [InvoiceDraftedItem(
            invoice_id=r["id"], enrolment_id=r["enrolment_id"], closing=r["closing"],
            beneficiary_id=r["beneficiary_id"], legal_entity=r["legal_entity"], amount=r["amount"],
            percentage=r["percentage"], problems=tuple(r["problems"])) for r in fresh])
        await uow.commit()


async def reopen_journeys(event: ODSReopened, uow) -> None:
    """PRC-10/BIL-08: a reopened journey's draft is dropped; an issued invoice is listed for a credit note."""
    async with uow:
        for item in event.items:
            row = await uow.invoices.get(invoice_id(item.enrolment_id, item.closing))
            if row is None:
                continue
            if row["status"] == "draft":
                await uow.invoices.update(row["id"], status="dropped")
            elif row["status"] == "issued" and not row["credited_by"]:
                await uow.invoices.update(row["id"], to_credit=item.reason)
        await uow.commit()


async def record_beneficiaries(event: BeneficiaryRegistered | BeneficiaryCorrected, uow) -> None:
    """The sealed identity of each beneficiary, for the name and identifiant France Travail on invoices;
    replaced when staff correct the record (BEN-01)."""
    async with uow:
        latest = {item.beneficiary_id: item.sealed for item in event.items}
        await uow.beneficiaries.put([{"beneficiary_id": b, "sealed": s} for b, s in latest.items()])
        await uow.commit()


async def forget_beneficiaries(event: BeneficiaryPurged, uow) -> None:
    async with uow:
        await uow.beneficiaries.forget([item.beneficiary_id for item in event.items])
        await uow.commit()


# --- reading ---------------------------------------------------------------------------------------------------------

async def referential(uow) -> tuple[dict[str, Resource], dict[str, Site]]:
    snapshot = await uow.referential.snapshot()
    resources = {r["code"]: Resource(r["code"], r["name"], r["antenne_code"], r["ods_code"], r["market_number"],
                                     r["lot_number"], r["lead_contractor"], r["funder"]) for r in snapshot["resources"]}
    sites = {s["code"]: Site(s["code"], s["name"], s["antenne_code"], s["address"]) for s in snapshot["sites"]}
    return resources, sites


def listed(row: dict[str, Any]) -> dict[str, Any]:
    """A row as the API and the command line show it."""
    keep = ("id", "kind", "status", "number", "issued_on", "enrolment_id", "closing", "beneficiary_id", "ods",
            "resource", "site", "ods_start", "ods_end", "order_number", "outcome", "outcome_date", "closed_on",
            "legal_entity", "funder", "tariff_amount", "percentage", "amount", "problems", "credits", "credited_by",
            "reason", "to_credit", "chorus_status", "chorus_flow", "chorus_reason", "chorus_attempts")
    view = {k: row.get(k) for k in keep}
    view["issuable"] = row["status"] == "draft" and not row["problems"]
    return view


async def known_entity(uow, legal_entity: str | None) -> None:
    """A legal entity named by a request must exist (BIL-02)."""
    if legal_entity and legal_entity not in (await uow.catalogue.get()).legal_entities:
        raise NotFound([f"Entité juridique « {legal_entity} » inconnue."])


async def pending(uow, legal_entity: str | None = None) -> list[dict[str, Any]]:
    """*Factures à émettre sans devis*: drafts (the issuable ones and the others with their reasons), and
    issued invoices whose journey was reopened (a credit note to issue)."""
    async with uow:
        await known_entity(uow, legal_entity)
        drafts = await uow.invoices.listed("draft", legal_entity)
        reopened = [r for r in await uow.invoices.listed("issued", legal_entity, "invoice")
                    if r["to_credit"] and not r["credited_by"]]
    return [listed(r) for r in drafts] + [listed(r) | {"action": "avoir"} for r in reopened]


async def issued(uow, legal_entity: str | None = None) -> list[dict[str, Any]]:
    async with uow:
        await known_entity(uow, legal_entity)
        return [listed(r) for r in await uow.invoices.listed("issued", legal_entity)]


# --- printing ---------------------------------------------------------------------------------------------------------

def today(uow) -> date:
    return uow.clock.now().astimezone(PARIS).date()


async def _identity(uow, keys: KeySource, beneficiary_id: str) -> Identity:
    sealed = await uow.beneficiaries.sealed([beneficiary_id])
    opened = (await keys.unseal_all(sealed)).get(beneficiary_id) if sealed else None
    if not opened:
        raise RefusedInput([f"Bénéficiaire {beneficiary_id} inconnu de la facturation (nom et identifiant France "
                            "Travail introuvables) : facture impossible à éditer."])
    name = " ".join(p for p in (opened.get("last_name"), opened.get("first_name")) if p)
    return Identity(name, opened.get("ft_id") or "")


async def _printed(uow, invoicing: Invoicing, row: dict[str, Any], number: str | None, issued_on: date,
                   credited: tuple[str, date] | None = None, catalogue: Catalogue | None = None,
                   reason: str | None = None) -> Printed:
    catalogue = catalogue or await uow.catalogue.get()
    resources, sites = await referential(uow)
    entity = catalogue.legal_entities.get(row["legal_entity"] or "")
    buyer = catalogue.buyers.get(row["funder"] or "")
    resource, site = resources.get(row["resource"]), sites.get(row["site"])
    missing = [what for what, found in (("entité juridique", entity), ("financeur", buyer), ("ressource", resource),
                                        ("site", site)) if found is None]
    if missing:
        raise RefusedInput([f"Facture {row['id']} : {', '.join(missing)} introuvable(s) dans la facturation."])
    identity = await _identity(uow, invoicing.keys, row["beneficiary_id"])
    return printed(row, entity, buyer, resource, site, identity, number, issued_on, credited, reason)


def _check_issuable(row: dict[str, Any] | None, wanted: str, legal_entity: str | None) -> dict[str, Any]:
    if row is None:
        raise NotFound([f"Facture « {wanted} » inconnue."])
    if legal_entity and row["legal_entity"] != legal_entity:
        raise RefusedInput([f"Facture « {wanted} » : elle relève de l'entité juridique « {row['legal_entity']} », "
                            f"pas de « {legal_entity} »."])
    if row["status"] != "draft":
        state = {"issued": f"déjà émise sous le n° {row['number']}", "dropped": "abandonnée (parcours rouvert)"}
        raise Conflict([f"Facture « {wanted} » {state.get(row['status'], row['status'])}."])
    if row["problems"]:
        raise RefusedInput([f"Facture « {wanted} » non émissible : {p}" for p in row["problems"]])
    return row


async def preview(uow, invoicing: Invoicing, draft_id: str, legal_entity: str | None = None) -> bytes:
    """BIL-10: the PDF the draft would be, marked *aperçu*, without a number; nothing changes."""
    async with uow:
        row = _check_issuable(await uow.invoices.get(draft_id), draft_id, legal_entity)
        document = await _printed(uow, invoicing, row, None, today(uow))
    (pdf,) = await invoicing.pdfs.render([invoicing.pdfs.job(document, None)])
    return pdf


# --- issuing ----------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class IssueInvoice:
    invoice_id: str
    legal_entity: str | None = None  # the caller's legal entity, when it acts for one


@dataclass(frozen=True)
class IssueCreditNote:
    number: str
    reason: str
    legal_entity: str | None = None


@dataclass(frozen=True)
class Numbering:
    """Where a document's number comes from: its legal entity's sequence, and the number's parts."""

    legal_entity: str
    base: str
    prefix: str

    @classmethod
    def of(cls, catalogue: Catalogue, legal_entity: str | None, label: str) -> "Numbering":
        entity = catalogue.legal_entities.get(legal_entity or "")
        if entity is None:
            raise RefusedInput([f"{label} : entité juridique « {legal_entity} » inconnue, aucun numéro attribué."])
        return cls(entity.code, catalogue.base_number or "", entity.invoice_prefix)

    def number(self, issued_on: date, sequence: int) -> str:
        return invoice_number(self.base, self.prefix, issued_on, sequence)


async def _validated(invoicing: Invoicing, document: Printed, numbering: Numbering, label: str) -> None:
    """BIL-09: the XML, with a number of the right shape, must pass before any number is given."""
    sample = replace(document.document, number=numbering.number(document.document.issued_on, 0))
    problems = await invoicing.validator.check(cii_xml(sample))
    if problems:
        raise RefusedInput([f"{label} refusée par la validation EN 16931, aucun numéro attribué : {p}"
                            for p in problems])


async def _allocate(uow, numbering: Numbering, document: Printed) -> tuple[str, int, bytes]:
    """The next number, allocated under the numbering row's lock, held until :func:`_commit_numbered`."""
    uow.lock_started = time.perf_counter()
    sequence = await uow.invoices.allocate(numbering.legal_entity)
    number = numbering.number(document.document.issued_on, sequence)
    xml = cii_xml(replace(document.document, number=number))
    faults.point("billing.number_allocated")
    return number, sequence, xml


async def _commit_numbered(uow, invoicing: Invoicing) -> None:
    await uow.commit()
    invoicing.lock_hold_seconds.append(time.perf_counter() - uow.lock_started)


async def issue_invoice(cmd: IssueInvoice, uow, invoicing: Invoicing) -> dict[str, Any]:
    """BIL-05: *Générer* — validate, number, issue; then the Factur-X PDF."""
    async with uow:
        await known_entity(uow, cmd.legal_entity)
        row = _check_issuable(await uow.invoices.get(cmd.invoice_id), cmd.invoice_id, cmd.legal_entity)
        catalogue = await uow.catalogue.get()
        numbering = Numbering.of(catalogue, row["legal_entity"], f"Facture « {cmd.invoice_id} »")
        document = await _printed(uow, invoicing, row, None, today(uow), catalogue=catalogue)
        await _validated(invoicing, document, numbering, "Facture")
        number, sequence, xml = await _allocate(uow, numbering, document)
        issued_on = document.document.issued_on
        if not await uow.invoices.update_if(row["id"], {"status": "draft"}, status="issued", number=number,
                                            sequence=sequence, issued_on=issued_on, xml=xml.decode("utf-8"),
                                            chorus_status="pending"):
            # A concurrent request issued it meanwhile: this transaction, and its number, are rolled back.
            _check_issuable(await uow.invoices.get(row["id"]), cmd.invoice_id, None)
        uow.emit_items(InvoiceIssued, [InvoiceIssuedItem(
            document_id=row["id"], kind="invoice", number=number, enrolment_id=row["enrolment_id"],
            beneficiary_id=row["beneficiary_id"], legal_entity=row["legal_entity"], issued_on=issued_on,
            amount=row["amount"], sequence=sequence, xml_sha256=hashlib.sha256(xml).hexdigest())])
        await _commit_numbered(uow, invoicing)
    await _render(uow, invoicing, row["id"], document, number, xml)
    return {"id": row["id"], "number": number, "amount": row["amount"], "issued_on": issued_on}


async def _render(uow, invoicing: Invoicing, document_id: str, document: Printed, number: str, xml: bytes) -> bytes:
    """The numbered PDF/A-3 with its XML, saved with the issued document."""
    label = "Avoir" if document.document.type_code == CREDIT_NOTE_TYPE else "Facture"
    context = document.context | {"number": number, "title": f"{label} {number}", "preview": False}
    (pdf,) = await invoicing.pdfs.render([invoicing.pdfs.job(Printed(document.document, context), xml)])
    async with uow:
        await uow.invoices.update(document_id, pdf=pdf)
        await uow.commit()
    return pdf


async def issue_credit_note(cmd: IssueCreditNote, uow, invoicing: Invoicing) -> dict[str, Any]:
    """BIL-08: an avoir (type 381) cancelling an issued invoice, numbered in the same sequence (BT-25 names
    the invoice); the journey gets a new draft, to be issued again when asked."""
    async with uow:
        await known_entity(uow, cmd.legal_entity)
        invoice = await uow.invoices.by_number(cmd.number)
        if invoice is None or invoice["kind"] != "invoice":
            raise NotFound([f"Facture n° « {cmd.number} » inconnue : aucun avoir émis."])
        if cmd.legal_entity and invoice["legal_entity"] != cmd.legal_entity:
            raise RefusedInput([f"Facture n° « {cmd.number} » : elle relève de l'entité juridique "
                                f"« {invoice['legal_entity']} », pas de « {cmd.legal_entity} »."])

        async def not_credited() -> None:
            current = await uow.invoices.get(invoice["id"])
            if current["credited_by"]:
                credit = await uow.invoices.get(current["credited_by"])
                raise Conflict([f"Facture n° « {cmd.number} » déjà annulée par l'avoir n° {credit['number']}."])

        await not_credited()
        if not cmd.reason.strip():
            raise RefusedInput(["Avoir : motif obligatoire (--reason)."])
        catalogue = await uow.catalogue.get()
        numbering = Numbering.of(catalogue, invoice["legal_entity"], f"Avoir sur « {cmd.number} »")
        document = await _printed(uow, invoicing, invoice, None, today(uow), (invoice["number"], invoice["issued_on"]),
                                  catalogue, cmd.reason.strip())
        await _validated(invoicing, document, numbering, "Avoir")
        number, sequence, xml = await _allocate(uow, numbering, document)
        issued_on = document.document.issued_on
        credit_id = derived_id("credit-note", invoice["id"])
        fields = {k: invoice[k] for k in CREDITED_FIELDS}
        await uow.invoices.add_new([fields | {
            "id": credit_id, "kind": "credit_note", "status": "issued", "problems": [], "number": number,
            "sequence": sequence, "issued_on": issued_on, "credits": invoice["id"], "reason": cmd.reason.strip(),
            "xml": xml.decode("utf-8"), "chorus_status": "pending", "chorus_attempts": 0}])
        if not await uow.invoices.update_if(invoice["id"], {"credited_by": None}, credited_by=credit_id):
            await not_credited()  # credited meanwhile by a concurrent request: all rolled back
        reissue = await redraft(uow, fields, credit_id)
        uow.emit_items(CreditNoteIssued, [CreditNoteIssuedItem(
            document_id=credit_id, kind="credit_note", number=number, enrolment_id=invoice["enrolment_id"],
            beneficiary_id=invoice["beneficiary_id"], legal_entity=invoice["legal_entity"], issued_on=issued_on,
            amount=invoice["amount"], credited_number=invoice["number"], sequence=sequence, reason=cmd.reason.strip(),
            xml_sha256=hashlib.sha256(xml).hexdigest())])
        emit_redraft(uow, reissue)
        await _commit_numbered(uow, invoicing)
    await _render(uow, invoicing, credit_id, document, number, xml)
    return {"id": credit_id, "number": number, "credits": cmd.number, "amount": invoice["amount"],
            "issued_on": issued_on, "reissue_id": reissue["id"]}


CREDITED_FIELDS = ("enrolment_id", "closing", "beneficiary_id", "ods", "resource", "site", "ods_start", "ods_end",
                   "order_number", "outcome", "outcome_date", "closed_on", "legal_entity", "funder", "tariff_amount",
                   "percentage", "amount")


async def redraft(uow, fields: dict[str, Any], credit_id: str) -> dict[str, Any]:
    """The journey a credit note cancelled can be invoiced again: a new draft, priced as the first one."""
    reissue = fields | {"id": derived_id("reissue", credit_id), "kind": "invoice", "status": "draft",
                        "problems": [], "chorus_attempts": 0}
    await uow.invoices.add_new([reissue])
    return reissue


def emit_redraft(uow, reissue: dict[str, Any]) -> None:
    uow.emit_items(InvoiceDrafted, [InvoiceDraftedItem(
        invoice_id=reissue["id"], enrolment_id=reissue["enrolment_id"], closing=reissue["closing"],
        beneficiary_id=reissue["beneficiary_id"], legal_entity=reissue["legal_entity"], amount=reissue["amount"],
        percentage=reissue["percentage"])])


async def pdf_of(uow, invoicing: Invoicing, number: str) -> bytes:
    """An issued document's PDF; rendered again from its committed XML when a crash lost it."""
    async with uow:
        row = await uow.invoices.by_number(number)
        if row is None:
            raise NotFound([f"Facture ou avoir n° « {number} » inconnu."])
        pdf = await uow.invoices.document(row["id"], "pdf")
    if pdf is None:
        pdf = await render_missing(uow, invoicing, row["id"])
    return pdf


async def render_missing(uow, invoicing: Invoicing, document_id: str | None = None) -> bytes | None:
    """The PDF of issued documents that have none yet (a process stopped between commit and PDF)."""
    async with uow:
        ids = [document_id] if document_id else await uow.invoices.without_pdf()
    pdf = None
    for one in ids:
        async with uow:
            row = await uow.invoices.get(one)
            credited = None
            if row["credits"]:
                credited_row = await uow.invoices.get(row["credits"])
                credited = (credited_row["number"], credited_row["issued_on"])
            document = await _printed(uow, invoicing, row, row["number"], row["issued_on"], credited,
                                      reason=row["reason"])
            xml = (await uow.invoices.document(one, "xml")).encode("utf-8")
        pdf = await _render(uow, invoicing, one, document, row["number"], xml)
    return pdf
