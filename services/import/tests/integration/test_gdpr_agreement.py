"""BEN-02: the *accord RGPD* of a record, its personal link (signed, expiring, single use) and the
public page the link opens; every service in-process, on SQLite and the real PostgreSQL."""

import email
import email.policy
import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest

from prestaflow import referential
from prestaflow.client import Api
from prestaflow.embedded import Embedded
from servicekit.auth import OidcAuthenticator, StaticDirectory
from servicekit.clock import FixedClock
from servicekit.oidc_provider import LocalOpenIdProvider

from cluster import SAMPLES

J10 = SAMPLES / "liste_inscrits_J-10.csv"
ROUTE = "/importer/rgpd/accord"


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request, sqlite_settings, pg_settings):
    return sqlite_settings if request.param == "sqlite" else pg_settings


@pytest.fixture
def clock():
    return FixedClock(datetime(2025, 1, 4, 9, 0, tzinfo=UTC))


@pytest.fixture
async def api(backend, clock, monkeypatch):
    monkeypatch.setenv("PRESTAFLOW_PUBLIC_URL", "https://prestaflow.bge-exemple.fr/")
    async with Api(backend, clock=clock) as client:
        await referential.load(client, SAMPLES / "referentiel.yaml")
        imported = await client.request("POST", "importer", "/imports", files={"file": (J10.name, J10.read_bytes())},
                                        data={"resource": "ACR2025-L12"})
        assert imported.status_code == 200, imported.text
        yield client


async def people(api) -> dict[str, dict]:
    """The records by last name."""
    return {p["last_name"]: p for p in (await api.request("GET", "importer", "/beneficiaries")).json()}


async def gdpr(api, beneficiary_id: str) -> dict:
    return (await api.request("GET", "importer", f"/beneficiaries/{beneficiary_id}")).json()["gdpr"]


async def link_for(api, beneficiary_id: str) -> str | None:
    response = await api.request("POST", "importer", f"/beneficiaries/{beneficiary_id}/gdpr/link")
    assert response.status_code == 200, response.text
    return response.json()["link"]


async def open_link(api, link: str) -> httpx.Response:
    """What the person's browser does: GET the link, without any token."""
    async with httpx.AsyncClient(transport=api.transport, base_url="http://public") as browser:
        parts = urlsplit(link)
        response = await browser.get(f"{parts.path}?{parts.query}")
    await api.embedded.settle()
    return response


def token_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["jeton"][0]


async def events(api, event_type: str) -> list[dict]:
    log = (await api.request("GET", "importer", "/admin/events")).json()
    return [e["envelope"] for e in log if e["envelope"]["type"] == event_type]


async def test_ben02_the_link_records_the_accord_numerique_once_forged_and_reused_links_change_nothing(api, clock):
    lea = (await people(api))["DUPONT"]["id"]
    assert await gdpr(api, lea) == {"status": "not_requested", "label": "non demandé", "requested_at": None,
                                    "agreed_at": None, "paper_date": None, "recorded_by": None}
    link = await link_for(api, lea)  # what notify does when the GDPR mail goes
    assert link.startswith("https://prestaflow.bge-exemple.fr/importer/rgpd/accord?jeton=")
    requested = await gdpr(api, lea)
    assert (requested["status"], requested["label"]) == ("requested", "demandé le 04/01/2025")
    [asked] = await events(api, "GdprAgreementRequested")
    assert asked["payload"]["items"][0] | {"version": 0} == {
        "beneficiary_id": lea, "requested_at": "2025-01-04T09:00:00Z", "source": "mail", "version": 0}

    token = token_of(link)
    header, claims, signature = token.split(".")
    forgeries = {
        "signature changed": f"{header}.{claims}.{signature[:-4]}{'AAAA' if signature[-4:] != 'AAAA' else 'BBBB'}",
        "other secret": jwt.encode(jwt.decode(token, options={"verify_signature": False}), "x" * 48,
                                   algorithm="HS256"),
        "unsigned": jwt.encode(jwt.decode(token, options={"verify_signature": False}), None, algorithm="none"),
        "someone else's id": jwt.encode(jwt.decode(token, options={"verify_signature": False}) | {"sub": "other"},
                                        "x" * 48, algorithm="HS256"),
        "no token": "", "garbage": "not-a-token"}
    for what, forged in forgeries.items():
        response = await open_link(api, f"{ROUTE}?jeton={forged}")
        assert response.status_code == 400, what
        assert "<h1>Lien invalide</h1>" in response.text and "rien n'a été enregistré" in response.text, what
        assert response.headers["content-type"].startswith("text/html")
    assert await gdpr(api, lea) == requested  # nothing changed

    clock.at += timedelta(days=2, hours=3)
    other = await link_for(api, lea)  # a second mail, before the person opened the first
    opened = await open_link(api, link)
    assert opened.status_code == 200 and "<h1>Merci, votre accord est enregistré</h1>" in opened.text
    assert opened.headers["cache-control"] == "no-store" and opened.headers["referrer-policy"] == "no-referrer"
    agreed = await gdpr(api, lea)
    assert (agreed["status"], agreed["label"], agreed["agreed_at"]) == (
        "digital", "accord numérique le 06/01/2025", "2025-01-06T12:00:00+00:00")
    [recorded] = await events(api, "GdprAgreementRecorded")
    item = recorded["payload"]["items"][0]
    assert (item["beneficiary_id"], item["form"], item["agreed_at"]) == (lea, "digital", "2025-01-06T12:00:00Z")
    assert recorded["actor"] is None  # the person, not a staff user
    assert token not in json.dumps([e for t in ("GdprAgreementRequested", "GdprAgreementRecorded")
                                    for e in await events(api, t)])  # the link never travels on the bus

    clock.at += timedelta(hours=1)
    again = await open_link(api, link)
    assert again.status_code == 409 and "<h1>Lien déjà utilisé</h1>" in again.text
    assert "votre accord est déjà enregistré" in again.text
    second = await open_link(api, other)
    assert second.status_code == 409 and "<h1>Accord déjà enregistré</h1>" in second.text
    assert await gdpr(api, lea) == agreed and len(await events(api, "GdprAgreementRecorded")) == 1
    assert await link_for(api, lea) is None  # the GDPR mail now goes without a link
    assert len(await events(api, "GdprAgreementRequested")) == 2


async def test_ben02_an_expired_link_records_nothing_and_a_new_one_works(api, clock, monkeypatch):
    lea = (await people(api))["DUPONT"]["id"]
    link = await link_for(api, lea)
    clock.at += timedelta(days=30)  # PRESTAFLOW_GDPR_LINK_DAYS: 30 by default
    expired = await open_link(api, link)
    assert expired.status_code == 410 and "<h1>Lien expiré</h1>" in expired.text
    assert "Votre conseiller peut vous envoyer un nouveau lien" in expired.text
    assert (await gdpr(api, lea))["status"] == "requested"
    assert await events(api, "GdprAgreementRecorded") == []
    fresh = await link_for(api, lea)
    clock.at += timedelta(days=29, hours=23)
    assert (await open_link(api, fresh)).status_code == 200
    assert (await gdpr(api, lea))["status"] == "digital"


async def test_ben02_staff_resend_until_an_agreement_then_refused_and_paper_agreement(api, clock):
    everyone = await people(api)
    lea, no_mail = everyone["DUPONT"]["id"], next(p["id"] for p in everyone.values() if not p["email"])
    resent = await api.request("POST", "importer", f"/beneficiaries/{lea}/gdpr/request")
    assert resent.status_code == 200 and resent.json()["label"] == "demandé le 04/01/2025"
    [asked] = await events(api, "GdprAgreementRequested")
    assert asked["payload"]["items"][0]["source"] == "staff" and asked["actor"] == "administrateur-local"
    # notify sent the GDPR mail with the personal link (embedded default: an .eml file)
    assert (await api.request("POST", "notify", "/outbox/send")).json()["sent"] >= 1  # the postman's turn
    messages = (await api.request("GET", "notify", f"/beneficiaries/{lea}/messages")).json()["messages"]
    [mail] = [m for m in messages if m["purpose"] == "gdpr"]
    assert (mail["status"], mail["kind"]) == ("sent", "manual"), mail
    eml = (await api.request("GET", "notify", f"/messages/{mail['message_id']}/eml")).content
    text = email.message_from_bytes(eml, policy=email.policy.default).get_body(("plain",)).get_content()
    [link] = re.findall(r"https://prestaflow\.bge-exemple\.fr/importer/rgpd/accord\?jeton=\S+", text)
    assert (await open_link(api, link)).status_code == 200
    assert (await gdpr(api, lea))["status"] == "digital"

    refused = await api.request("POST", "importer", f"/beneficiaries/{lea}/gdpr/request")
    assert refused.status_code == 409
    assert refused.json()["messages"] == ["Accord RGPD déjà recueilli (accord numérique le 04/01/2025) : aucune "
                                          "nouvelle demande n'est envoyée."]
    paper = await api.request("POST", "importer", f"/beneficiaries/{lea}/gdpr/paper", json={})
    assert paper.status_code == 409 and "déjà enregistré" in paper.json()["messages"][0]
    assert len(await events(api, "GdprAgreementRequested")) == 2  # staff's and the mail's link

    no_address = await api.request("POST", "importer", f"/beneficiaries/{no_mail}/gdpr/request")
    assert no_address.status_code == 422
    assert no_address.json()["messages"][0].startswith("Pas d'adresse e-mail sur la fiche")
    assert (await gdpr(api, no_mail))["status"] == "not_requested"
    future = await api.request("POST", "importer", f"/beneficiaries/{no_mail}/gdpr/paper", json={"date": "2025-02-01"})
    assert future.status_code == 422 and (await gdpr(api, no_mail))["status"] == "not_requested"
    paper = await api.request("POST", "importer", f"/beneficiaries/{no_mail}/gdpr/paper", json={"date": "2025-01-03"})
    assert paper.status_code == 200
    assert (await gdpr(api, no_mail)) | {"agreed_at": None} == {
        "status": "paper", "label": "accord papier du 03/01/2025 (saisi par administrateur-local)",
        "requested_at": None, "agreed_at": None, "paper_date": "2025-01-03", "recorded_by": "administrateur-local"}
    recorded = (await events(api, "GdprAgreementRecorded"))[-1]
    assert recorded["actor"] == "administrateur-local"
    assert recorded["payload"]["items"][0] | {"version": 0} == {
        "beneficiary_id": no_mail, "form": "paper", "agreed_at": "2025-01-04T09:00:00Z", "paper_date": "2025-01-03",
        "link_id": None, "version": 0}
    assert (await api.request("POST", "importer", "/beneficiaries/inconnu/gdpr/request")).status_code == 404


async def test_ben02_the_public_route_answers_without_a_token_and_nothing_else_is_opened(sqlite_settings):
    """SEC-01 with BEN-02: the link's page answers anyone (its own checks refuse a forged link), every
    other route, the link route of notify and the same path's other methods included, still wants a
    token; a person's token does not open the link route (services only), nor another service's than
    notify's (SEC-03)."""
    with LocalOpenIdProvider() as provider:
        auth = OidcAuthenticator(provider.issuer, provider.audience, provider.jwks_url,
                                 StaticDirectory({"admin": ({("import", "write")}, None)}), jwks_cooldown=0,
                                 services={"prestaflow-billing": "billing"})
        app = Embedded(sqlite_settings, background_relays=False, auth=lambda _directory: auth).app
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
                page = await client.get(ROUTE, params={"jeton": "x.y.z"})
                assert page.status_code == 400 and "<h1>Lien invalide</h1>" in page.text
                for method, path in [("POST", ROUTE), ("PUT", ROUTE), ("GET", f"{ROUTE}/x"), ("GET", "/importer/rgpd"),
                                     ("POST", "/importer/beneficiaries/b1/gdpr/link"),
                                     ("POST", "/importer/beneficiaries/b1/gdpr/request"),
                                     ("POST", "/importer/beneficiaries/b1/gdpr/paper"),
                                     ("GET", "/importer/beneficiaries/b1")]:
                    response = await client.request(method, path)
                    assert response.status_code == 401, (method, path, response.status_code)
                person = {"Authorization": "Bearer " + provider.token("admin")}
                response = await client.post("/importer/beneficiaries/b1/gdpr/link", headers=person)
                assert response.status_code == 403
                assert response.json()["messages"] == ["Accès refusé : réservé aux services de Prestaflow."]
                billing = {"Authorization": "Bearer " + provider.service_token("prestaflow-billing")}
                response = await client.post("/importer/beneficiaries/b1/gdpr/link", headers=billing)
                assert response.status_code == 403
                assert response.json()["messages"] == [
                    "Accès refusé : le service « billing » n'a pas le droit d'obtenir le lien d'accord RGPD."]


async def test_ben02_a_link_opened_twice_at_once_records_one_agreement(api):
    """BEN-02, X-02: two requests with one link side by side (a double click): one agreement,
    one event; the other answers that the link was used."""
    import asyncio

    lea = (await people(api))["DUPONT"]["id"]
    link = await link_for(api, lea)
    answers = await asyncio.gather(open_link(api, link), open_link(api, link))
    assert sorted(a.status_code for a in answers) == [200, 409]
    assert len(await events(api, "GdprAgreementRecorded")) == 1 and (await gdpr(api, lea))["status"] == "digital"
