"""Drafts of closed journeys (BIL-03, BIL-04), réouvertures (PRC-10 / BIL-08), on PostgreSQL."""

from datetime import date
from decimal import Decimal

from contracts.planning import ODSClosed, ODSReopened, ODSReopenedItem

from billing.service_layer import handlers, invoicing

from billing_support import close, closed


async def test_bil03_bil04_one_draft_per_closed_journey_priced_by_outcome(pg_billing, keys):
    items = [closed("e1", "bilan"), closed("e2", "reoriente"), closed("e3", "abandon"),
             closed("e4", "sortie_anticipee"),
             closed("e5", "bilan", start=date(2024, 12, 20))]  # before the tariff's first day
    await close(pg_billing, keys, *items)
    rows = {r["enrolment_id"]: r for r in await invoicing.pending(pg_billing.uow_factory())}
    assert {k: (r["percentage"], r["amount"], r["issuable"]) for k, r in rows.items()} == {
        "e1": (100, Decimal("1200.00"), True), "e2": (15, Decimal("180.00"), True),
        "e3": (15, Decimal("180.00"), True), "e4": (100, Decimal("1200.00"), True),
        "e5": (100, None, False)}
    assert rows["e1"]["legal_entity"] == "BGE-HDF" and rows["e1"]["funder"] == "FT"
    assert rows["e5"]["problems"] == ["Aucun tarif en vigueur le 20/12/2024 pour l'ODS « ACR2025 », la ressource "
                                      "« ACR2025-L12 », le financeur « FT » et le site « ARM »."]


async def test_bil03_redelivered_closing_gives_one_invoice(pg_billing, keys):
    item = closed("e1")
    await close(pg_billing, keys, item)
    await handlers.draft_invoices(ODSClosed(items=(item,)), pg_billing.uow_factory())  # redelivered
    rows = await invoicing.pending(pg_billing.uow_factory())
    assert len(rows) == 1
    async with pg_billing.uow_factory() as uow:
        from sqlalchemy import select
        outbox = pg_billing.tables.outbox
        types = (await uow.session.execute(select(outbox.c.type))).scalars().all()
    assert types.count("InvoiceDrafted") == 1


async def test_prc10_reopening_drops_a_draft_and_lists_an_issued_invoice_for_a_credit_note(pg_billing, keys):
    await close(pg_billing, keys, closed("e1"), closed("e2"))
    rows = {r["enrolment_id"]: r for r in await invoicing.pending(pg_billing.uow_factory())}
    issued = await invoicing.issue_invoice(invoicing.IssueInvoice(rows["e2"]["id"]), pg_billing.uow_factory(),
                                           pg_billing.invoicing)
    reopened = ODSReopened(items=tuple(ODSReopenedItem(enrolment_id=e, closing=1, beneficiary_id=f"b-{e}",
                                                       reason="Date de bilan erronée", reopened_on=date(2025, 4, 16))
                                       for e in ("e1", "e2")))
    await handlers.reopen_journeys(reopened, pg_billing.uow_factory())
    pending = await invoicing.pending(pg_billing.uow_factory())
    assert [(r["enrolment_id"], r["status"], r.get("action"), r["number"]) for r in pending] == [
        ("e2", "issued", "avoir", issued["number"])]
    assert pending[0]["to_credit"] == "Date de bilan erronée"


def test_bil04_amounts_are_rounded_half_up_to_the_cent():
    from billing.domain.invoices import amount_of
    assert amount_of(Decimal("1234.56"), 15) == Decimal("185.18")
    assert amount_of(Decimal("1234.30"), 15) == Decimal("185.15")  # 185.145 -> 185.15
    assert amount_of(Decimal("999.99"), 100) == Decimal("999.99")
