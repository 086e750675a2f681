"""The nightly Chorus Pro run (BIL-07, BIL-12): every issued document not yet deposited is sent, then
the reports of the flows deposited are read until integrated or rejected.

Each document's new state is committed on its own, with its event (``InvoiceDeposited``,
``InvoiceDepositFailed``, ``InvoiceIntegrated``, ``InvoiceRejected``): a run stopped halfway keeps what it did. A document
Chorus could not be reached for stays ``failed`` and is sent again by the next run. Without
credentials the flows are written to a folder (state ``written``, ``InvoiceWritten``) for a manual upload.
The events of a deposit or a writing carry the PDF's SHA-256 and size (the PDF itself names the person).
"""

import hashlib
from datetime import datetime
from typing import Any

from contracts.billing import (ChorusStatusItem, InvoiceDeposited, InvoiceDepositFailed, InvoiceIntegrated,
                               InvoiceRejected, InvoiceWritten)
from servicekit.clock import PARIS

from billing.service_layer.invoicing import Invoicing, pdf_of

TO_SEND = ("pending", "failed")


def _status(row: dict[str, Any], at: datetime, pdf: bytes | None = None, **values: Any) -> ChorusStatusItem:
    if pdf is not None:
        values |= {"pdf_sha256": hashlib.sha256(pdf).hexdigest(), "pdf_size": len(pdf)}
    return ChorusStatusItem(document_id=row["id"], number=row["number"], enrolment_id=row["enrolment_id"], at=at,
                            **values)


async def _save(uow, row: dict[str, Any], event=None, item: ChorusStatusItem | None = None, **values: Any) -> None:
    async with uow:
        await uow.invoices.update(row["id"], chorus_at=uow.clock.now(), **values)
        if event is not None:
            uow.emit_items(event, [item])
        await uow.commit()


async def deposit_night(uow, invoicing: Invoicing, chorus, polls: int = 3, poll_wait=None) -> dict[str, Any]:
    """The night's run, now: what was sent, written, integrated or rejected, one French line each."""
    lines: list[str] = []
    async with uow:
        to_send = await uow.invoices.for_chorus(TO_SEND)
    night = f"{uow.clock.now().astimezone(PARIS):%Y-%m-%d}"
    for row in to_send:
        pdf = await pdf_of(uow, invoicing, row["number"])
        filename = f"{row['number']}.pdf"
        attempts = row["chorus_attempts"] + 1
        if chorus.mode == "folder":
            path = chorus.write(night, filename, pdf)
            await _save(uow, row, InvoiceWritten, _status(row, uow.clock.now(), pdf), chorus_status="written",
                        chorus_attempts=attempts, chorus_reason=None)
            lines.append(f"{row['number']} : écrit dans {path.parent.name}/{path.name} (dépôt manuel)")
            continue
        try:
            deposit = await chorus.deposit(filename, pdf)
        except Exception as exc:  # ChorusUnavailable: kept for the next run
            await _save(uow, row, InvoiceDepositFailed, _status(row, uow.clock.now(), pdf, reason=str(exc)),
                        chorus_status="failed", chorus_attempts=attempts, chorus_reason=str(exc))
            lines.append(f"{row['number']} : non déposé, {exc}")
            continue
        now = uow.clock.now()
        if not deposit.accepted:
            await _save(uow, row, InvoiceRejected, _status(row, now, pdf, reason=deposit.reason),
                        chorus_status="rejected", chorus_attempts=attempts, chorus_reason=deposit.reason)
            lines.append(f"{row['number']} : refusé au dépôt : {deposit.reason}")
            continue
        await _save(uow, row, InvoiceDeposited, _status(row, now, pdf, flow_id=deposit.flow_id),
                    chorus_status="deposited", chorus_attempts=attempts, chorus_flow=deposit.flow_id,
                    chorus_reason=None)
        lines.append(f"{row['number']} : déposé (flux {deposit.flow_id})")
    if chorus.mode == "api":
        lines += await poll_reports(uow, chorus, polls, poll_wait)
    return {"mode": chorus.mode, "folder": str(getattr(chorus, "folder", "")), "lines": lines}


async def poll_reports(uow, chorus, polls: int, poll_wait=None) -> list[str]:
    """Read each deposited flow's report, up to ``polls`` rounds, until integrated or rejected."""
    lines = []
    for round_ in range(polls):
        async with uow:
            deposited = await uow.invoices.for_chorus(("deposited",))
        if not deposited:
            break
        if round_ and poll_wait is not None:
            await poll_wait()
        for row in deposited:
            try:
                report = await chorus.report(row["chorus_flow"])
            except Exception as exc:
                lines.append(f"{row['number']} : compte rendu illisible pour l'instant ({exc})")
                continue
            now = uow.clock.now()
            if report.state == "integrated":
                await _save(uow, row, InvoiceIntegrated, _status(row, now, flow_id=row["chorus_flow"]),
                            chorus_status="integrated")
                lines.append(f"{row['number']} : intégré par Chorus Pro")
            elif report.state == "rejected":
                await _save(uow, row, InvoiceRejected, _status(row, now, flow_id=row["chorus_flow"],
                                                               reason=report.reason),
                            chorus_status="rejected", chorus_reason=report.reason)
                lines.append(f"{row['number']} : rejeté par Chorus Pro : {report.reason}")
    return lines
