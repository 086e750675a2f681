"""Chorus Pro (BIL-07, BIL-12): deposits of Factur-X flows through PISTE's API, or, without credentials,
files written to a folder for a manual upload.

API shapes (see ``../shared/chorus/API.md``): OAuth2 client credentials on PISTE; each call carries
``Authorization: Bearer`` and ``cpro-account: base64(login:password)``; ``POST
/factures/v1/deposer/flux`` with the PDF in base64 and ``syntaxeFlux=IN_DP_E2_CII_FACTURX`` answers
``codeRetour`` (0: accepted) and ``numeroFluxDepot``; ``POST /transverses/v1/consulterCRDetaille``
answers the flow's state (``etatCourantDepotFlux``) and, for a rejection, ``listeErreurDP``.
Transient failures (network, 429, 5xx) are retried with exponential back-off, at most
``chorus_attempts`` times per call; an expired token (401) is renewed once.
"""

import asyncio
import base64
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from billing.config import BillingSettings

SYNTAX = "IN_DP_E2_CII_FACTURX"
INTEGRATED = {"IN_INTEGRE"}
REJECTED = {"IN_REJETE", "IN_INCIDENTE", "IN_INTEGRE_PARTIEL"}


class ChorusUnavailable(Exception):
    """Chorus Pro did not answer usefully after every try (kept for the next run)."""


@dataclass(frozen=True)
class Deposit:
    accepted: bool
    flow_id: str | None
    reason: str | None  # Chorus's libellé when it refused the flow


@dataclass(frozen=True)
class Report:
    state: str  # integrated | rejected | pending
    raw: str
    reason: str | None


class ChorusApi:
    mode = "api"

    def __init__(self, settings: BillingSettings, transport: httpx.AsyncBaseTransport | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.settings = settings
        self.transport = transport
        self.sleep = sleep
        self._token: str | None = None
        self._expires = 0.0
        account = f"{settings.chorus_login}:{settings.chorus_password.get_secret_value()}"
        self._account = base64.b64encode(account.encode()).decode()

    async def _with_retries(self, send: Callable[[httpx.AsyncClient], Awaitable[httpx.Response]],
                            client: httpx.AsyncClient) -> httpx.Response:
        last = ""
        for attempt in range(self.settings.chorus_attempts):
            if attempt:
                await self.sleep(self.settings.chorus_backoff_seconds * 2 ** (attempt - 1))
            try:
                response = await send(client)
            except httpx.TransportError as exc:
                last = f"réseau : {type(exc).__name__}"
                continue
            if response.status_code == 429 or response.status_code >= 500:
                last = f"HTTP {response.status_code}"
                continue
            return response
        raise ChorusUnavailable(f"Chorus Pro indisponible après {self.settings.chorus_attempts} essai(s) ({last}).")

    async def _token_value(self, client: httpx.AsyncClient) -> str:
        if self._token and time.monotonic() < self._expires:
            return self._token
        response = await self._with_retries(lambda c: c.post(self.settings.chorus_oauth_url, data={
            "grant_type": "client_credentials", "client_id": self.settings.chorus_client_id,
            "client_secret": self.settings.chorus_client_secret.get_secret_value(), "scope": "openid"}), client)
        if response.status_code != 200:
            raise ChorusUnavailable(f"Jeton PISTE refusé (HTTP {response.status_code}) : vérifier l'application PISTE.")
        body = response.json()
        self._token = body["access_token"]
        self._expires = time.monotonic() + max(0, int(body.get("expires_in", 3600)) - 30)
        return self._token

    async def _call(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        url = self.settings.chorus_api_url.rstrip("/") + path
        async with httpx.AsyncClient(transport=self.transport, timeout=60) as client:
            for renewed in (False, True):
                token = await self._token_value(client)
                headers = {"Authorization": f"Bearer {token}", "cpro-account": self._account,
                           "Content-Type": "application/json;charset=utf-8"}
                response = await self._with_retries(lambda c: c.post(url, json=payload, headers=headers), client)
                if response.status_code == 401 and not renewed:
                    self._token = None  # expired: a new token, once
                    continue
                if response.status_code >= 400:
                    raise ChorusUnavailable(f"Chorus Pro a répondu HTTP {response.status_code} sur {path} "
                                            "(compte technique ou abonnement à l'API à vérifier).")
                return response.json()
        raise ChorusUnavailable("Jeton PISTE refusé deux fois.")

    async def deposit(self, filename: str, pdf: bytes) -> Deposit:
        body = await self._call("/factures/v1/deposer/flux", {
            "idUtilisateurCourant": 0, "fichierFlux": base64.b64encode(pdf).decode(), "nomFichier": filename,
            "syntaxeFlux": SYNTAX, "avecSignature": False})
        if body.get("codeRetour", 0) != 0:
            return Deposit(False, None, body.get("libelle") or f"code retour {body.get('codeRetour')}")
        return Deposit(True, body["numeroFluxDepot"], None)

    async def report(self, flow_id: str) -> Report:
        body = await self._call("/transverses/v1/consulterCRDetaille", {"numeroFluxDepot": flow_id,
                                                                        "syntaxeFlux": SYNTAX})
        state = body.get("etatCourantDepotFlux") or body.get("etatCourantFlux") or ""
        if state in INTEGRATED:
            return Report("integrated", state, None)
        if state in REJECTED:
            errors = [e.get("libelleErreurDP") for e in body.get("listeErreurDP") or [] if e.get("libelleErreurDP")]
            errors += [e.get("libelleErreur") for e in body.get("listeErreurTechnique") or [] if e.get("libelleErreur")]
            return Report("rejected", state, "; ".join(errors) or body.get("libelle") or state)
        return Report("pending", state, None)


class ChorusFolder:
    """No credentials: the night's flows are written as files, for an upload on Chorus Pro's portal."""

    mode = "folder"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def write(self, night: str, filename: str, pdf: bytes) -> Path:
        target = self.folder / night
        target.mkdir(parents=True, exist_ok=True)
        path = target / filename
        path.write_bytes(pdf)
        return path
