"""Dashboard, alerts, deliverables and timeline through planning's HTTP API, every service in-process on
the real PostgreSQL, after the sample J-10 list was imported (PRC-04, PRC-05, PRC-06, PRC-09): status
codes with French messages, the PDF and workbook as files, names unsealed with importer's keys."""

import hashlib
import io
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook

from prestaflow import referential
from prestaflow.client import Api
from prestaflow.import_cli import upload
from servicekit.clock import FixedClock

from cluster import SAMPLES


@pytest.fixture
async def app(pg_settings):
    clock = FixedClock(datetime(2025, 1, 4, 8, 0, tzinfo=UTC))
    async with Api(pg_settings, clock=clock) as client:
        await referential.load(client, SAMPLES / "referentiel.yaml")
        await upload(client, SAMPLES / "liste_inscrits_J-10.csv", "ACR2025-L12", False, "J-10", "test")
        client.clock = clock
        yield client


async def call(api, method: str, path: str, **kwargs):
    return await api.request(method, "planning", path, **kwargs)


async def test_prc04_prc05_prc06_prc09_over_http(app):
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
    assert (shown["last_name"], shown["first_name"], shown["situation"], shown["invoice_status"]) == (
        "DUPONT", "Léa", "Abandon", "non facturé")
    book = await call(app, "GET", "/dashboard.xlsx", params={"resource": "ACR2025-L12"})
    rows = list(load_workbook(io.BytesIO(book.content)).active.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][:2] == ("DUPONT", "Léa")

    alerts = (await call(app, "GET", "/alerts")).json()
    assert all({"alert", "title", "enrolment_id", "reason"} <= set(a) for a in alerts)
    timeline = (await call(app, "GET", f"/timeline/{row['beneficiary_id']}")).json()
    assert [line["kind"] for line in timeline if line["kind"] == "livrable"] == ["livrable"] * 2
    assert (await call(app, "GET", "/timeline/inconnu")).status_code == 404
