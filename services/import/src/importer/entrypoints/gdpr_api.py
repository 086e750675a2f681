"""BEN-02 routes (under /importer): the *accord RGPD* for staff, the personal link for notify, and
the public page the link opens (no account: the link proves itself, signed, expiring, single use)."""

import datetime as dt
from html import escape
from typing import Any

from fastapi import APIRouter, Body, Query
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from servicekit.auth import Scope, public, right, scope, services_only
from servicekit.errors import NotFound
from servicekit.runtime import ServiceRuntime

from importer.adapters.gdpr_links import AgreementLinks
from importer.domain.gdpr import LinkRefused
from importer.entrypoints.api import enrolled_on
from importer.service_layer import gdpr

MAX_TOKEN_CHARS = 2000

PAGES = {  # status, title, text: what the person reads (nothing about them, no name)
    "recorded": (200, "Merci, votre accord est enregistré",
                 "Votre accord au traitement de vos données personnelles, tel que le décrit le mail d'information "
                 "que vous avez reçu, est enregistré. Vous pouvez fermer cette page."),
    "forged": (400, "Lien invalide",
               "Ce lien n'est pas valide : rien n'a été enregistré. Ouvrez le lien tel qu'il figure dans le mail, "
               "en entier, ou demandez un nouveau lien à votre conseiller."),
    "expired": (410, "Lien expiré",
                "Ce lien a expiré : rien n'a été enregistré. Votre conseiller peut vous envoyer un nouveau lien, "
                "ou recueillir votre accord lors de votre prochain rendez-vous."),
    "used": (409, "Lien déjà utilisé",
             "Ce lien a déjà servi : votre accord est déjà enregistré. Rien n'a été modifié."),
    "agreed": (409, "Accord déjà enregistré",
               "Votre accord est déjà enregistré : ce lien n'est plus nécessaire. Rien n'a été modifié."),
    "unknown": (404, "Lien plus valable",
                "Ce lien ne correspond plus à aucun dossier : rien n'a été enregistré."),
}
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex",
           "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"}


def page(outcome: str) -> HTMLResponse:
    status, title, text = PAGES[outcome]
    body = (f'<!DOCTYPE html>\n<html lang="fr">\n<head><meta charset="utf-8"><meta name="viewport" '
            f'content="width=device-width, initial-scale=1"><title>{escape(title, quote=False)}</title></head>\n'
            '<body style="font-family: Arial, sans-serif; max-width: 40em; margin: 3em auto; padding: 0 1em;">\n'
            f"<h1>{escape(title, quote=False)}</h1>\n<p>{escape(text, quote=False)}</p>\n</body>\n</html>\n")
    return HTMLResponse(body, status_code=status, headers=HEADERS)


class PaperAgreement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: dt.date | None = Field(default=None, description="Date written on the signed form (default: not given).")


def build_router(runtime: ServiceRuntime, links: AgreementLinks) -> APIRouter:
    router = APIRouter(tags=["importer"])
    uow = runtime.uow_factory

    async def resource_antennes() -> list[tuple[str, str]]:
        async with uow() as u:
            return [(r["code"], r["antenne_code"]) for r in (await u.referential.snapshot())["resources"]]

    in_scope = scope(resource_antennes, "la ressource")

    async def readable(beneficiary_id: str, resources: Scope) -> None:
        """SEC-02: a record enrolled on a ressource of an antenne the caller covers (else 404)."""
        async with uow() as u:
            found = await u.people.listing(beneficiary_id)
        missing = f"Bénéficiaire « {beneficiary_id} » introuvable."
        if not found:
            raise NotFound([missing])
        resources.readable(*enrolled_on(found[0]), not_found=missing)

    @router.post("/beneficiaries/{beneficiary_id}/gdpr/request", dependencies=[right("import", "write")])
    async def request_gdpr_agreement(beneficiary_id: str, resources: Scope = in_scope) -> dict[str, Any]:
        """BEN-02: send the GDPR mail again with a new personal link (notify sends it); refused (409)
        once an agreement is recorded, or without an e-mail the person accepts mails at (422)."""
        await readable(beneficiary_id, resources)
        return await gdpr.request_again(beneficiary_id, uow())

    @router.post("/beneficiaries/{beneficiary_id}/gdpr/paper", dependencies=[right("import", "write")])
    async def record_paper_agreement(beneficiary_id: str, body: PaperAgreement = Body(default_factory=PaperAgreement),
                                     resources: Scope = in_scope) -> dict[str, Any]:
        """BEN-02: the person signed the paper form (*accord papier*, entered by the caller)."""
        await readable(beneficiary_id, resources)
        return await gdpr.record_paper(beneficiary_id, uow(), body.date)

    # SEC-03: notify alone sends the GDPR mail; no other service takes a person's link
    @router.post("/beneficiaries/{beneficiary_id}/gdpr/link",
                 dependencies=[services_only("import", lambda: ("notify",), "d'obtenir le lien d'accord RGPD")])
    async def gdpr_agreement_link(beneficiary_id: str) -> dict[str, Any]:
        """For notify, sending the GDPR mail: the person's link (status *demandé*), or ``null`` once an
        agreement is recorded. Never logged, never on the bus."""
        return await gdpr.take_link(beneficiary_id, uow(), links)

    @router.get("/rgpd/accord", response_class=HTMLResponse,
                dependencies=[public("lien personnel du mail RGPD (BEN-02) : signé, à durée limitée, à usage unique")])
    async def open_gdpr_agreement_link(jeton: str = Query("", description="The link's signed token")) -> HTMLResponse:
        """BEN-02: the person opens the link of the GDPR mail: *accord numérique* recorded, a French page."""
        if not jeton or len(jeton) > MAX_TOKEN_CHARS:
            return page("forged")
        try:
            await gdpr.record_digital(jeton, uow(), links)
        except LinkRefused as refused:
            return page(refused.reason)
        return page("recorded")

    return router
