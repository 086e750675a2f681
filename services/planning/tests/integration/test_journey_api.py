"""Journeys through planning's HTTP API, every service in-process on SQLite and the real PostgreSQL, after
the sample J-10 list was imported (PRC-01, PRC-02, PRC-07, PRC-10): status codes 404 / 409 / 422 with
French messages, and the events billing reads."""

from datetime import UTC, datetime

import pytest

from prestaflow import referential
from prestaflow.client import Api
from prestaflow.import_cli import upload
from servicekit.clock import FixedClock

from cluster import SAMPLES


@pytest.fixture(params=["sqlite", "postgresql"])
async def app(request, sqlite_settings, pg_settings):
    clock = FixedClock(datetime(2025, 1, 4, 8, 0, tzinfo=UTC))
    settings = sqlite_settings if request.param == "sqlite" else pg_settings
    async with Api(settings, clock=clock) as client:
        await referential.load(client, SAMPLES / "referentiel.yaml")
        await upload(client, SAMPLES / "liste_inscrits_J-10.csv", "ACR2025-L12", False, "J-10", "test")
        client.clock = clock
        yield client


async def call(api, method: str, path: str, **kwargs):
    return await api.request(method, "planning", path, **kwargs)


async def events(api, type_: str) -> list[dict]:
    log = (await api.request("GET", "planning", "/admin/events")).json()
    return [i for e in log if e["envelope"]["type"] == type_ for i in e["envelope"]["payload"]["items"]]


async def test_prc01_prc02_prc07_prc10_journeys_over_http(app):
    listed = (await call(app, "GET", "/journeys", params={"from": "2025-01-01", "to": "2025-01-31"})).json()
    opened = await events(app, "EnrolmentOpened")
    assert sorted(j["id"] for j in listed) == sorted(i["enrolment_id"] for i in opened) and len(listed) >= 3
    journey = (await call(app, "GET", f"/journeys/{listed[0]['id']}")).json()
    [action] = journey["actions"]
    app.clock.at = datetime(2025, 2, 1, 8, 0, tzinfo=UTC)
    presence = await call(app, "PUT", f"/actions/{action['action_id']}/participants/{journey['beneficiary_id']}"
                                      "/presence", json={"presence": "oui"})
    assert presence.status_code == 200
    path = f"/journeys/{journey['id']}"
    day = action["starts_at"][:10]

    for body, expected in (([1, 2], "un objet {champ: valeur} est attendu"),
                           ({"initial_interview_on": "demain"}, "« Date entretien initial » : « demain » n'est pas"),
                           ({"abandon_reason": "Injoignable", "bilan_reason": "Création ou reprise d'entreprise "
                                                                          "opportune"}, "Un seul motif de fin"),
                           ({"prescriber": "<script>x</script>"}, "« Prescripteur (conseiller France Travail) »")):
        response = await call(app, "PATCH", f"{path}/form", json=body)
        assert response.status_code == 422 and any(expected in m for m in response.json()["messages"]), response.json()
    assert (await call(app, "PATCH", "/journeys/inconnu/form", json={"initial_outcome": "poursuivi"})).status_code == 404
    assert (await call(app, "PUT", f"{path}/dates", json={"start": "2025-03-01"})).status_code == 422

    saved = await call(app, "PATCH", f"{path}/form", json={"initial_interview_on": day, "initial_outcome": "poursuivi",
                                                           "outcome_on": "2025-01-31", "bilan_reason": "création ou "
                                                           "reprise d'entreprise non opportune"})
    assert saved.status_code == 200 and saved.json()["situation"] == "Entretien bilan"
    assert (await call(app, "PUT", f"{path}/dates", json={"end": "2025-01-31"})).json() == {"changed": True,
                                                                                           "closed": True}
    assert (await call(app, "POST", "/journeys/close-due")).json()["closed"] == []
    [closed] = await events(app, "ODSClosed")
    assert (closed["enrolment_id"], closed["outcome"], closed["ods_end"], closed["closing"]) == (
        journey["id"], "bilan", "2025-01-31", 1)
    assert (await call(app, "PATCH", f"{path}/form", json={"bilan_detail": "x"})).status_code == 409
    assert (await call(app, "POST", f"{path}/reopen", json={})).status_code == 422
    reopened = await call(app, "POST", f"{path}/reopen", json={"reason": "Bilan saisi trop tôt"})
    assert reopened.json() == {"reopened": True, "closing": 1}
    assert [i["reason"] for i in await events(app, "ODSReopened")] == ["Bilan saisi trop tôt"]
    assert (await call(app, "POST", f"{path}/reopen", json={"reason": "encore"})).status_code == 409


async def test_prc04_prc05_prc06_prc09_dashboard_alerts_deliverables_timeline_over_http(app):
    """PRC-04, PRC-05, PRC-06, PRC-09: status codes with French messages, the PDF and its X-SHA256, the
    workbook, names unsealed with importer's keys."""
    import hashlib
    import io

    from openpyxl import load_workbook

    everyone = (await call(app, "GET", "/dashboard", params={"all": "true"})).json()
    assert everyone and not any(r["on_dashboard"] for r in everyone)
    assert (await call(app, "GET", "/dashboard")).json() == []
    refused = await call(app, "GET", "/dashboard", params={"from": "2025-02-01", "to": "2025-01-01"})
    assert refused.status_code == 422 and "est avant le" in refused.json()["messages"][0]
    assert (await call(app, "GET", "/dashboard", params={"from": "hier"})).status_code == 422

    row = next(r for r in everyone if r["last_name"] == "DUPONT")
    journey = (await call(app, "GET", f"/journeys/{row['id']}")).json()
    [action] = journey["actions"]
    app.clock.at = datetime(2025, 4, 20, 8, 0, tzinfo=UTC)
    assert (await call(app, "PUT", f"/actions/{action['action_id']}/participants/{row['beneficiary_id']}/presence",
                       json={"presence": "oui"})).status_code == 200
    path = f"/journeys/{row['id']}"
    assert (await call(app, "PATCH", f"{path}/form", json={
        "initial_interview_on": action["starts_at"][:10], "initial_outcome": "poursuivi"})).status_code == 200

    refused = await call(app, "POST", f"{path}/deliverables")
    assert refused.status_code == 422 and any("N° de commande" in m for m in refused.json()["messages"])
    assert (await call(app, "GET", f"{path}/deliverables")).json() == []
    assert (await call(app, "POST", "/journeys/inconnu/deliverables")).status_code == 404
    assert (await call(app, "GET", f"{path}/deliverables/bilan.pdf")).status_code == 404
    assert (await call(app, "GET", f"{path}/deliverables/autre.pdf")).status_code == 422

    assert (await call(app, "PATCH", f"{path}/form", json={
        "order_number": "BDC-2025-000101", "outcome_on": "2025-04-15", "abandon_reason": "Injoignable"}
    )).status_code == 200
    made = (await call(app, "POST", f"{path}/deliverables")).json()
    pdf = await call(app, "GET", f"{path}/deliverables/emargement.pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert pdf.headers["x-sha256"] == hashlib.sha256(pdf.content).hexdigest() == made["documents"][1]["sha256"]

    [shown] = (await call(app, "GET", "/dashboard", params={"from": "2025-01-01", "to": "2025-01-31"})).json()
    # Closed on that save: billing drafted its invoice from ODSClosed, and planning shows billing's status.
    assert (shown["last_name"], shown["first_name"], shown["situation"], shown["invoice_status"]) == (
        "DUPONT", "Léa", "Abandon", "facture en préparation")
    book = await call(app, "GET", "/dashboard.xlsx", params={"resource": "ACR2025-L12"})
    rows = list(load_workbook(io.BytesIO(book.content)).active.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][:2] == ("DUPONT", "Léa")

    alerts = (await call(app, "GET", "/alerts")).json()
    assert all({"alert", "title", "enrolment_id", "reason"} <= set(a) for a in alerts)
    timeline = (await call(app, "GET", f"/timeline/{row['beneficiary_id']}")).json()
    assert [line["kind"] for line in timeline if line["kind"] == "livrable"] == ["livrable"] * 2
    assert (await call(app, "GET", "/timeline/inconnu")).status_code == 404
