"""What managers read about journeys: deliverables (PRC-06), the dashboard (PRC-04), the alerts (PRC-05)
and each beneficiary's timeline (PRC-09, PRC-08); and the events of other services planning keeps
for them (importer's sealed identities, billing's invoice events, notify's messages)."""

import hashlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from contracts.billing import (CreditNoteIssued, InvoiceDeposited, InvoiceDrafted, InvoiceIntegrated,
                               InvoiceIssued, InvoiceRejected)
from contracts.importer import BeneficiaryCorrected, BeneficiaryRegistered
from contracts.notify import MessageNotSent, MessageSent
from contracts.planning import DeliverableGeneratedItem, DeliverablesGenerated
from servicekit.clock import PARIS
from servicekit.errors import NotFound, RefusedInput
from servicekit.ids import derived_id

from planning.domain import journey_views as views
from planning.domain import journeys as rules
from planning.domain.journeys import INITIAL_OUTCOMES, local_day
from planning.service_layer.journeys import Journey, _journey, with_actions

KINDS = ("bilan", "emargement")


# Events other services emit, kept in planning's own tables.

async def record_identities(event: BeneficiaryRegistered | BeneficiaryCorrected, uow) -> None:
    """The sealed identity of each record, as created, re-imported or corrected by staff (BEN-01)."""
    async with uow:
        await uow.views.put_identities((i.beneficiary_id, i.sealed) for i in event.items)
        await uow.commit()


async def _invoice_events(uow, rows: list[dict[str, Any]]) -> None:
    async with uow:
        owners = await uow.views.document_owners(r["document_id"] for r in rows if r["enrolment_id"] is None)
        for row in rows:
            if row["beneficiary_id"] is None and row["document_id"] in owners:
                row["beneficiary_id"] = owners[row["document_id"]][1]
        now = uow.clock.now()  # while answering an event: when it happened
        await uow.views.add_invoice_events([r | {"at": r.get("at") or now} for r in rows])
        await uow.commit()


async def record_invoices_drafted(event: InvoiceDrafted, uow) -> None:
    await _invoice_events(uow, [{
        "document_id": i.invoice_id, "enrolment_id": i.enrolment_id, "beneficiary_id": i.beneficiary_id,
        "status": "drafted", "number": None, "amount": i.amount and str(i.amount),
        "detail": "; ".join(i.problems) or None} for i in event.items])


async def record_invoices_issued(event: InvoiceIssued, uow) -> None:
    await _invoice_events(uow, [_issued(i, "issued") for i in event.items])


async def record_credit_notes_issued(event: CreditNoteIssued, uow) -> None:
    await _invoice_events(uow, [_issued(i, "credited") for i in event.items])


def _issued(item, status: str) -> dict[str, Any]:
    return {"document_id": item.document_id, "enrolment_id": item.enrolment_id, "beneficiary_id": item.beneficiary_id,
            "status": status, "number": item.number, "amount": str(item.amount),
            "detail": item.credited_number and f"avoir de la facture {item.credited_number}"}


def _chorus(event, status: str) -> list[dict[str, Any]]:
    return [{"document_id": i.document_id, "enrolment_id": i.enrolment_id, "beneficiary_id": None,
             "status": status, "number": i.number, "amount": None, "detail": i.reason, "at": i.at}
            for i in event.items]


async def record_invoices_deposited(event: InvoiceDeposited, uow) -> None:
    await _invoice_events(uow, _chorus(event, "deposited"))


async def record_invoices_integrated(event: InvoiceIntegrated, uow) -> None:
    await _invoice_events(uow, _chorus(event, "integrated"))


async def record_invoices_rejected(event: InvoiceRejected, uow) -> None:
    await _invoice_events(uow, _chorus(event, "rejected"))


async def _messages(uow, items, sent: bool) -> None:
    async with uow:
        now = uow.clock.now()  # while answering an event: when it happened (notify sent it, or gave up)
        await uow.views.put_messages([{
            "message_id": i.message_id, "beneficiary_id": i.beneficiary_id, "registration_id": i.registration_id,
            "template": i.template, "channel": i.channel, "kind": i.kind, "sent": sent,
            "reason": None if sent else i.reason, "at": now} for i in items])
        await uow.commit()


async def record_messages_sent(event: MessageSent, uow) -> None:
    await _messages(uow, event.items, True)


async def record_messages_not_sent(event: MessageNotSent, uow) -> None:
    await _messages(uow, event.items, False)


EVENT_HANDLERS = {
    BeneficiaryRegistered: record_identities,
    BeneficiaryCorrected: record_identities,
    InvoiceDrafted: record_invoices_drafted,
    InvoiceIssued: record_invoices_issued,
    CreditNoteIssued: record_credit_notes_issued,
    InvoiceDeposited: record_invoices_deposited,
    InvoiceIntegrated: record_invoices_integrated,
    InvoiceRejected: record_invoices_rejected,
    MessageSent: record_messages_sent,
    MessageNotSent: record_messages_not_sent,
}


async def _identities(uow, keys, beneficiary_ids: Iterable[str]) -> dict[str, dict[str, Any] | None]:
    sealed = await uow.views.sealed(beneficiary_ids)
    return await keys.unseal_all(sealed) if sealed and keys is not None else {}


# Deliverables (PRC-06).

def _day(value: date | None) -> str:
    return f"{value:%d/%m/%Y}" if value else "non renseignée"


def deliverable_context(journey: Journey, ref, identity: dict[str, Any] | None, today: date) -> dict[str, Any]:
    """What both templates read: the person, the journey, its actions and its form, as text."""
    e, form = journey.enrolment, journey.enrolment.form
    ods, resource, site = ref.ods.get(e.ods), ref.resources.get(e.resource), ref.sites.get(e.site)
    identity, ended = identity or {}, rules.outcome(form)
    rows = [views.action_row(a, ref) for a in journey.actions]
    return {
        "person": {"last_name": identity.get("last_name"), "first_name": identity.get("first_name"),
                   "ft_id": identity.get("ft_id")},
        "journey": {"ods": e.ods, "ods_name": ods.name if ods else e.ods, "resource": e.resource,
                    "market_number": resource.market_number if resource else "-",
                    "lot_number": resource.lot_number if resource else "-",
                    "site_name": site.name if site else e.site, "order_number": form.order_number,
                    "start_on": _day(e.start_on), "end_on": _day(e.end_on), "structure": ref.structure.name},
        "form": {"prescriber": form.prescriber, "agency_code": form.agency_code,
                 "prestappli_initial_on": _day(form.prestappli_initial_on),
                 "prestappli_final_on": _day(form.prestappli_final_on),
                 "initial_interview_on": _day(form.initial_interview_on),
                 "initial_outcome": INITIAL_OUTCOMES.get(form.initial_outcome or "", "non renseignée"),
                 "outcome_on": _day(ended[1] if ended else form.outcome_on), "situation": e.situation,
                 "bilan_reason": form.bilan_reason, "bilan_detail": form.bilan_detail,
                 "early_exit_reason": form.early_exit_reason, "abandon_reason": form.abandon_reason},
        "actions": rows, "attended": sum(1 for a in journey.actions if a.presence == "oui"),
        "advisors": ", ".join(views.advisors_of(journey.actions, ref)) or "-",
        "generated_on": _day(today),
    }


@dataclass(frozen=True)
class Deliverables:
    """Renders and reads the PDFs: the templates folder, the renderer's pool, importer's keys."""

    templates: Any  # servicekit.pdf.Templates
    renderer: Any  # servicekit.pdf.PdfRenderer
    keys: Any  # servicekit.keys.HttpKeySource

    def jobs(self, context: dict[str, Any], title: str) -> list[Any]:
        return [self.templates.job(f"{kind}.html", context, metadata={"title": f"{title} {kind}"}) for kind in KINDS]


async def generate_deliverables(enrolment_id: str, uow, tools: Deliverables) -> dict[str, Any]:
    """PRC-06: the *bilan* and the *émargement* of one enrolment, after the six checks (each failure a
    message, no file). Each PDF is kept with its SHA-256; regenerating adds new numbers."""
    async with uow:
        journey = await _journey(uow, enrolment_id)
        problems = views.deliverable_problems(journey.enrolment, journey.actions)
        if problems:
            raise RefusedInput(problems)
        ref = await uow.referential.get()
        identity = (await _identities(uow, tools.keys, [journey.enrolment.beneficiary_id])).get(
            journey.enrolment.beneficiary_id)
    now = uow.clock.now()
    context = deliverable_context(journey, ref, identity, local_day(now))
    pdfs = await tools.renderer.render_all(tools.jobs(context, journey.enrolment.ods))
    return (await store_deliverables(uow, [(journey, pdfs)], now))[0]


async def store_deliverables(uow, rendered: Sequence[tuple[Journey, Sequence[bytes]]], now: datetime
                             ) -> list[dict[str, Any]]:
    async with uow:
        stored = []
        for journey, pdfs in rendered:
            e = journey.enrolment
            await uow.enrolments.get(e.id, lock=True)  # two generations at once: one number each
            numbers = await uow.views.next_numbers(e.id)
            rows = []
            for kind, pdf in zip(KINDS, pdfs, strict=True):
                number = numbers.get(kind, 1)
                rows.append({"id": derived_id("deliverable", e.id, kind, str(number)), "enrolment_id": e.id,
                             "beneficiary_id": e.beneficiary_id, "kind": kind, "number": number,
                             "generated_at": now, "sha256": hashlib.sha256(pdf).hexdigest(), "size": len(pdf),
                             "content": pdf})
            await uow.views.add_deliverables(rows)
            uow.emit_items(DeliverablesGenerated, [DeliverableGeneratedItem(
                deliverable_id=r["id"], **{k: r[k] for k in _ANNOUNCED}) for r in rows])
            stored.append({"enrolment_id": e.id, "documents": [_meta(r) for r in rows]})
        await uow.commit()
    return stored


_ANNOUNCED = ("enrolment_id", "beneficiary_id", "kind", "number", "generated_at", "sha256", "size")


def _meta(row: dict[str, Any]) -> dict[str, Any]:
    return {"kind": row["kind"], "number": row["number"], "sha256": row["sha256"], "size": row["size"],
            "generated_at": row["generated_at"].isoformat(),
            "file": f"{row['kind']}_{row['enrolment_id']}_{row['number']}.pdf"}


async def list_deliverables(enrolment_id: str, uow) -> list[dict[str, Any]]:
    async with uow:
        await _journey(uow, enrolment_id)
        return [_meta(r) for r in await uow.views.deliverables([enrolment_id])]


async def deliverable_pdf(enrolment_id: str, kind: str, number: int | None, uow) -> tuple[dict[str, Any], bytes]:
    if kind not in KINDS:
        raise NotFound([f"Livrable « {kind} » inconnu (bilan ou emargement)."])
    async with uow:
        row = await uow.views.content(enrolment_id, kind, number)
    if row is None:
        raise NotFound([f"Aucun livrable {kind} généré pour le parcours « {enrolment_id} »"
                        + (f" sous le n° {number}." if number else " (journey deliverables).")])
    return _meta(row), row["content"]


# Dashboard (PRC-04) and alerts (PRC-05).

@dataclass(frozen=True)
class DashboardQuery:
    starts_from: date | None = None
    starts_to: date | None = None  # inclusive
    resource: str | None = None
    everyone: bool = False  # also the enrolments not (yet) on the dashboard, flagged
    sites: Collection[str] | None = None  # SEC-02: only the enrolments of these sites (None: all)


async def dashboard(query: DashboardQuery, uow, keys) -> list[dict[str, Any]]:
    """PRC-04: the enrolments whose ODS start is in the period (of the ressource), with an action
    planned and the form started (``everyone``: the others too, ``on_dashboard`` false), by start
    then name."""
    if query.starts_from and query.starts_to and query.starts_to < query.starts_from:
        raise RefusedInput([f"Période : le {_day(query.starts_to)} (--to) est avant le "
                            f"{_day(query.starts_from)} (--from)."])
    async with uow:
        found = await uow.enrolments.search(
            resource=query.resource, starts_from=query.starts_from,
            starts_before=query.starts_to and date.fromordinal(query.starts_to.toordinal() + 1))
        found = [e for e in found if query.sites is None or e.site in query.sites]
        journeys = [(j, views.appears_on_dashboard(j.enrolment, j.actions)) for j in await with_actions(uow, found)]
        journeys = [(j, shown) for j, shown in journeys if shown or query.everyone]
        ref = await uow.referential.get()
        invoices = views.invoice_statuses(await uow.views.invoice_events(
            enrolment_ids=[j.enrolment.id for j, _ in journeys]))
        identities = await _identities(uow, keys, {j.enrolment.beneficiary_id for j, _ in journeys})
    now = uow.clock.now()
    rows = [views.dashboard_row(j.enrolment, j.actions, now, ref, identities.get(j.enrolment.beneficiary_id),
                                invoices.get(j.enrolment.id)) | {"on_dashboard": shown} for j, shown in journeys]
    return sorted(rows, key=lambda r: (r["start_on"], r["last_name"] or "", r["first_name"] or "", r["id"]))


async def alerts(uow, invoice_days: int, keys=None, sites: Collection[str] | None = None) -> list[dict[str, Any]]:
    """PRC-05's three alerts, each enrolment with its reason (and the person's name when ``keys``),
    grouped by alert in the seed's order; ``sites``: only the enrolments of these sites (SEC-02)."""
    async with uow:
        opened = [e for e in await uow.enrolments.search(status="open") if sites is None or e.site in sites]
        closed = [e for e in await uow.enrolments.search(status="closed") if sites is None or e.site in sites]
        journeys = await with_actions(uow, opened + closed)
        invoices = views.invoice_statuses(await uow.views.invoice_events(enrolment_ids=[e.id for e in closed]))
        found = views.alerts_of(((j.enrolment, j.actions) for j in journeys), uow.clock.now(), invoices,
                                invoice_days)
        identities = await _identities(uow, keys, {a.beneficiary_id for a in found})
    order = list(views.ALERT_TITLES)
    return [{"alert": a.code, "title": a.title, "enrolment_id": a.enrolment_id, "beneficiary_id": a.beneficiary_id,
             "last_name": (identities.get(a.beneficiary_id) or {}).get("last_name"),
             "first_name": (identities.get(a.beneficiary_id) or {}).get("first_name"),
             "reason": a.reason} for a in sorted(found, key=lambda a: (order.index(a.code), a.enrolment_id))]


# Timeline (PRC-09, PRC-08).

async def timeline(beneficiary_id: str, uow, sites: Collection[str] | None = None) -> list[dict[str, Any]]:
    """One beneficiary's history in time order: enrolments and their form, dates and closings, actions
    planned, cancelled or left (with the reason), presence, deliverables, messages and invoices.
    ``sites`` (SEC-02): unknown unless one of their enrolments or actions is on one of these sites."""
    async with uow:
        enrolments = (await uow.enrolments.of_beneficiaries([beneficiary_id])).get(beneficiary_id, [])
        participations = await uow.views.participations(beneficiary_id)
        seen = sites is None or any(site in sites for site in [e.site for e in enrolments]
                                    + [p["site_code"] for p in participations])
        if not (enrolments or participations) or not seen:
            raise NotFound([f"Bénéficiaire « {beneficiary_id} » inconnu du planning."])
        history = await uow.enrolments.history([e.id for e in enrolments])
        changes: dict[str, list[dict[str, Any]]] = {}
        for change in await uow.views.action_changes(p["action_id"] for p in participations):
            changes.setdefault(change["action_id"], []).append(change)
        documents = await uow.views.deliverables(beneficiary_ids=[beneficiary_id])
        messages = await uow.views.messages([beneficiary_id])
        invoices = await uow.views.invoice_events(enrolment_ids=[e.id for e in enrolments])
        ref = await uow.referential.get()
    lines = [views.history_line(h) for h in history]
    lines += [line for p in participations
              for line in views.participation_lines(p, ref, changes.get(p["action_id"], []))]
    lines += [views.deliverable_line(d) for d in documents]
    lines += [views.message_line(m) for m in messages]
    lines += [views.invoice_line(i) for i in invoices]
    lines.sort(key=lambda line: (line["at"], line["order"]))
    return [{k: (v.astimezone(PARIS).isoformat() if isinstance(v, datetime) else v) for k, v in line.items()
             if k != "order"} for line in lines]
