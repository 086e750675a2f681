"""BEN-02: the *accord RGPD*. Notify takes the personal link when it sends the GDPR mail (NOT-05):
the status becomes *demandé*; the person opening the link records the *accord numérique*; staff
send the request again or enter an *accord papier*. Each change is an event (X-01)."""

from dataclasses import replace
from datetime import date
from typing import Any

from contracts.importer import (GdprAgreementRecorded, GdprAgreementRecordedItem, GdprAgreementRequested,
                                GdprAgreementRequestedItem)
from servicekit.errors import NotFound

from importer.adapters.gdpr_links import AgreementLinks
from importer.domain.gdpr import LinkRefused, check_paper, check_request


def _unknown(beneficiary_id: str) -> NotFound:
    return NotFound([f"Bénéficiaire « {beneficiary_id} » introuvable."])


async def _locked(uow, beneficiary_id: str):
    """One GDPR change of a person at a time (a link opened twice at once records one agreement)."""
    await uow.exclusive(f"gdpr:{beneficiary_id}")
    return await uow.gdpr.get(beneficiary_id)


async def take_link(beneficiary_id: str, uow, links: AgreementLinks) -> dict[str, Any]:
    """Notify is sending the GDPR mail: its personal link, the status *demandé* now. Once an
    agreement is recorded there is no link (``None``): the mail goes without one."""
    async with uow:
        agreement = await _locked(uow, beneficiary_id)
        if await uow.gdpr.contact(beneficiary_id) is None:
            raise _unknown(beneficiary_id)
        if agreement.agreed:
            return {"link": None, "expires_at": None, "gdpr": agreement.view()}
        now = uow.clock.now()
        link, expires = links.mint(beneficiary_id, now)
        await uow.gdpr.requested(beneficiary_id, now)
        uow.emit_items(GdprAgreementRequested, [GdprAgreementRequestedItem(
            beneficiary_id=beneficiary_id, requested_at=now, source="mail")])
        await uow.commit()
    return {"link": link, "expires_at": expires.isoformat(),
            "gdpr": replace(agreement, status="requested", requested_at=now).view()}


async def request_again(beneficiary_id: str, uow) -> dict[str, Any]:
    """Staff send the request again (the GDPR mail with a new link), while the status is not an agreement."""
    async with uow:
        agreement = await _locked(uow, beneficiary_id)
        contact = await uow.gdpr.contact(beneficiary_id)
        if contact is None:
            raise _unknown(beneficiary_id)
        check_request(agreement, email=contact["email"], accepts_email=contact["accepts_email"])
        now = uow.clock.now()
        await uow.gdpr.requested(beneficiary_id, now)
        uow.emit_items(GdprAgreementRequested, [GdprAgreementRequestedItem(
            beneficiary_id=beneficiary_id, requested_at=now, source="staff")])
        await uow.commit()
    return replace(agreement, status="requested", requested_at=now).view()


async def record_paper(beneficiary_id: str, uow, paper_date: date | None = None) -> dict[str, Any]:
    """Staff enter an *accord papier* (who: the command's user, SEC-04)."""
    async with uow:
        agreement = await _locked(uow, beneficiary_id)
        if await uow.gdpr.contact(beneficiary_id) is None:
            raise _unknown(beneficiary_id)
        now = uow.clock.now()
        check_paper(agreement, paper_date, now.date())
        await uow.gdpr.agreed(beneficiary_id, "paper", now, paper_date, uow.actor)
        uow.emit_items(GdprAgreementRecorded, [GdprAgreementRecordedItem(
            beneficiary_id=beneficiary_id, form="paper", agreed_at=now, paper_date=paper_date)])
        await uow.commit()
    return replace(agreement, status="paper", agreed_at=now, paper_date=paper_date, recorded_by=uow.actor).view()


async def record_digital(token: str, uow, links: AgreementLinks) -> dict[str, Any]:
    """The person opened the link: the *accord numérique*, once. A forged, used or expired link, or
    one of a record that already has an agreement or is gone, raises ``LinkRefused``; nothing changes."""
    claims = links.read(token)
    async with uow:
        agreement = await _locked(uow, claims.beneficiary_id)
        if await uow.gdpr.link_used(claims.link_id):
            raise LinkRefused("used", agreement)
        if agreement.agreed:
            raise LinkRefused("agreed", agreement)
        now = uow.clock.now()
        if claims.expires_at <= now:
            raise LinkRefused("expired", agreement)
        if await uow.gdpr.contact(claims.beneficiary_id) is None:
            raise LinkRefused("unknown", agreement)
        await uow.gdpr.use_link(claims.link_id, claims.beneficiary_id, now)
        await uow.gdpr.agreed(claims.beneficiary_id, "digital", now)
        uow.emit_items(GdprAgreementRecorded, [GdprAgreementRecordedItem(
            beneficiary_id=claims.beneficiary_id, form="digital", agreed_at=now, link_id=claims.link_id)])
        await uow.commit()
    return replace(agreement, status="digital", agreed_at=now).view()


async def restore_requests(event: GdprAgreementRequested, uow) -> None:
    """Audit replay (OPS-04): the statuses importer's own commands decided, from its events."""
    async with uow:
        for item in event.items:
            if not (await uow.gdpr.get(item.beneficiary_id)).agreed:
                await uow.gdpr.requested(item.beneficiary_id, item.requested_at)
        uow.emit_items(GdprAgreementRequested, event.items)  # the aggregates' versions, as live
        await uow.commit()


async def restore_agreements(event: GdprAgreementRecorded, uow) -> None:
    async with uow:
        for item in event.items:
            if item.link_id:
                await uow.gdpr.use_link(item.link_id, item.beneficiary_id, item.agreed_at)
            await uow.gdpr.agreed(item.beneficiary_id, item.form, item.agreed_at, item.paper_date,
                                  uow.actor if item.form == "paper" else None)
        uow.emit_items(GdprAgreementRecorded, event.items)
        await uow.commit()


RESTORERS = {GdprAgreementRequested: restore_requests, GdprAgreementRecorded: restore_agreements}
