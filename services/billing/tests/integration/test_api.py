"""Billing's HTTP API on PostgreSQL: issuing through it, and the bad input of issue #17 refused with its
French message, no number consumed (BIL-01, BIL-02, BIL-05, BIL-08)."""

import httpx
import pytest
from sqlalchemy import select

from servicekit.bus import Bus
from servicekit.http import build_app

from billing.adapters import orm

from billing_support import billing_part, close, closed


@pytest.fixture
async def client(pg_billing):
    app = build_app([pg_billing], Bus("memory://"), "billing", run_relays=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test/billing") as c:
        yield c


async def numbering(runtime) -> dict[str, int]:
    async with runtime.uow_factory() as uow:
        return dict((await uow.session.execute(select(orm.numbering))).all())


def tariff(**changes) -> dict:
    return {**billing_part()["tariffs"][0], **changes}


async def test_bil05_issue_preview_and_documents_through_the_api(pg_billing, keys, client):
    await close(pg_billing, keys, closed("e1"))
    (draft,) = (await client.get("/invoices/pending")).json()
    preview = await client.get(f"/invoices/{draft['id']}/preview")
    assert preview.status_code == 200 and preview.headers["content-type"] == "application/pdf"
    issued = (await client.post(f"/invoices/{draft['id']}/issue")).json()
    assert issued["number"] == "14JUNF2500001"
    pdf = await client.get("/documents/14JUNF2500001.pdf")
    assert pdf.content.startswith(b"%PDF-")
    summary = (await client.get("/catalogue/summary")).json()
    assert len(summary["in_force"]) == 1 and summary["without_tariff"] == []
    journal = await client.get("/journal.csv", params={"from": "2025-04-01", "to": "2025-04-30"})
    assert journal.text.splitlines()[1].startswith("2025-04-15;14JUNF2500001;facture;BGE-HDF;France Travail;411FT")


@pytest.mark.parametrize(("part", "expected"), [
    ({"tariffs": [tariff(amount_eur=1200.1)]}, 'montant à écrire en texte, par exemple "1200.10"'),
    ({"tariffs": [tariff(amount_eur="-5.00")]}, "tariffs n°1 › amount_eur : valeur trop petite"),
    ({"legal_entities": [billing_part()["legal_entities"][0] | {"iban": "FR7630006000011234567890188"}]},
     "Entité juridique « BGE-HDF » : IBAN « FR7630006000011234567890188 » incorrect (clé de contrôle fausse)."),
    ({"antennes": [{"code": "LILLE", "legal_entity": "INCONNUE"}]},
     "Antenne « LILLE » : entité juridique « INCONNUE » inconnue."),
])
async def test_bil01_bil02_bad_catalogue_is_refused_in_french(pg_billing, client, part, expected):
    before = (await client.get("/catalogue")).json()
    response = await client.put("/catalogue", json=part)
    assert response.status_code == 422
    assert any(expected in m for m in response.json()["messages"]), response.json()
    assert (await client.get("/catalogue")).json() == before


async def test_bil05_bil08_bad_requests_consume_no_number(pg_billing, keys, client):
    other = billing_part()["legal_entities"][0] | {"code": "BGE-DOU", "invoice_prefix": "DOU"}
    assert (await client.put("/catalogue", json={"legal_entities": [other]})).status_code == 200
    await close(pg_billing, keys, closed("e1"), closed("e2"))
    drafts = (await client.get("/invoices/pending")).json()
    first = (await client.post(f"/invoices/{drafts[0]['id']}/issue")).json()["number"]
    cases = [
        (client.post("/invoices/inconnue/issue"), 404, "Facture « inconnue » inconnue."),
        (client.post(f"/invoices/{drafts[1]['id']}/issue", params={"legal_entity": "BGE-DOU"}), 422,
         "relève de l'entité juridique « BGE-HDF », pas de « BGE-DOU »"),
        (client.post("/credit-notes", json={"number": "14JUNF2500099", "reason": "x"}), 404,
         "Facture n° « 14JUNF2500099 » inconnue"),
        (client.post(f"/invoices/{drafts[1]['id']}/issue", params={"legal_entity": "INCONNUE"}), 404,
         "Entité juridique « INCONNUE » inconnue."),
        (client.get("/journal.csv", params={"from": "2025-01-01", "to": "2025-12-31", "legal_entity": "INCONNUE"}),
         404, "Entité juridique « INCONNUE » inconnue."),
    ]
    for request, status, message in cases:
        response = await request
        assert response.status_code == status and any(message in m for m in response.json()["messages"]), \
            response.json()
    assert (await client.post("/credit-notes", json={"number": first, "reason": "erreur"})).status_code == 200
    again = await client.post("/credit-notes", json={"number": first, "reason": "encore"})
    assert again.status_code == 409 and "déjà annulée par l'avoir n° 14JUNF2500002" in again.json()["messages"][0]
    assert await numbering(pg_billing) == {"BGE-HDF": 2, "BGE-DOU": 0}
