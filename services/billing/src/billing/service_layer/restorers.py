"""The audit's replay (OPS-04): what billing's commands decided, written back from billing's own events.

Each restorer writes the rows the command wrote, with the event's numbers, amounts and dates, and emits
the event's items again so that the invoices' versions end as the live ones. The documents themselves
(the CII XML and the Factur-X PDF) name the beneficiary and never travel in an event: the events carry
their SHA-256 (and the PDF's size), and the bootstrap leaves those two columns out of the digest."""

from typing import Any

from contracts.billing import (ChorusStatusItem, CreditNoteIssued, InvoiceDeposited, InvoiceDepositFailed,
                               InvoiceIntegrated, InvoiceIssued, InvoiceRejected, InvoiceWritten, IssuedDocument)

from billing.service_layer.invoicing import CREDITED_FIELDS, emit_redraft, redraft


async def _sequence(uow, item: IssuedDocument) -> int:
    """The document's place in its legal entity's sequence: carried by the event, else read from its number
    (``{base}{préfixe}F{yy}{sequence}``, events written before the field)."""
    if item.sequence is not None:
        return item.sequence
    catalogue = await uow.catalogue.get()
    head = f"{catalogue.base_number or ''}{catalogue.legal_entities[item.legal_entity].invoice_prefix}F"
    return int(item.number.removeprefix(head)[2:])


async def _numbered(uow, item: IssuedDocument) -> dict[str, Any]:
    sequence = await _sequence(uow, item)
    await uow.invoices.restore_sequence(item.legal_entity, sequence)
    return {"status": "issued", "number": item.number, "sequence": sequence, "issued_on": item.issued_on,
            "chorus_status": "pending"}


async def restore_invoices(event: InvoiceIssued, uow) -> None:
    """BIL-05: each draft issued under the event's number and date; the numbering row follows."""
    async with uow:
        for item in event.items:
            await uow.invoices.update(item.document_id, **await _numbered(uow, item))
        uow.emit_items(InvoiceIssued, event.items)
        await uow.commit()


async def restore_credit_notes(event: CreditNoteIssued, uow) -> None:
    """BIL-08: each credit note as issued (the cancelled invoice's fields, the event's number, date and
    reason), the invoice marked credited and the journey's new draft, with their events."""
    async with uow:
        redrafts = []
        for item in event.items:
            invoice = await uow.invoices.by_number(item.credited_number)
            fields = {k: invoice[k] for k in CREDITED_FIELDS}
            await uow.invoices.add_new([fields | await _numbered(uow, item) | {
                "id": item.document_id, "kind": "credit_note", "problems": [], "credits": invoice["id"],
                "reason": item.reason, "chorus_attempts": 0}])
            await uow.invoices.update(invoice["id"], credited_by=item.document_id)
            redrafts.append(await redraft(uow, fields, item.document_id))
        uow.emit_items(CreditNoteIssued, event.items)
        for reissue in redrafts:
            emit_redraft(uow, reissue)
        await uow.commit()


def _chorus_restorer(event_type, status: str):
    """BIL-07/12: a document's Chorus Pro state from the nightly run's event, stamped with its time."""

    async def restore(event, uow) -> None:
        async with uow:
            for item in event.items:
                await uow.invoices.update(item.document_id, chorus_at=uow.clock.now(),
                                          **await _chorus_values(uow, item, status))
            uow.emit_items(event_type, event.items)
            await uow.commit()

    return restore


async def _chorus_values(uow, item: ChorusStatusItem, status: str) -> dict[str, Any]:
    values: dict[str, Any] = {"chorus_status": status}
    if status == "integrated":
        return values
    if status in ("written", "deposited", "failed") or item.flow_id is None:  # a try at sending (not a flow's report)
        row = await uow.invoices.get(item.document_id)
        values["chorus_attempts"] = row["chorus_attempts"] + 1
    if status == "deposited":
        values["chorus_flow"] = item.flow_id
    values["chorus_reason"] = item.reason
    return values


RESTORERS = {InvoiceIssued: restore_invoices, CreditNoteIssued: restore_credit_notes,
             InvoiceWritten: _chorus_restorer(InvoiceWritten, "written"),
             InvoiceDeposited: _chorus_restorer(InvoiceDeposited, "deposited"),
             InvoiceDepositFailed: _chorus_restorer(InvoiceDepositFailed, "failed"),
             InvoiceIntegrated: _chorus_restorer(InvoiceIntegrated, "integrated"),
             InvoiceRejected: _chorus_restorer(InvoiceRejected, "rejected")}
