"""BEN-01: a correction of a *fiche entrepreneur* reaches every service that keeps a copy, on the
in-memory bus with the real PostgreSQL; withdrawing a consent cancels that channel's messages not
sent yet in notify, at once."""

from datetime import UTC, datetime

import pytest

from prestaflow import referential
from prestaflow.client import Api
from servicekit import crypto
from servicekit.clock import FixedClock

from cluster import SAMPLES

J10 = SAMPLES / "liste_inscrits_J-10.csv"


@pytest.fixture
async def imported(pg_settings):
    """Every service in-process on PostgreSQL, the sample J-10 list imported on 4 January 2025."""
    clock = FixedClock(datetime(2025, 1, 4, 8, 0, tzinfo=UTC))
    async with Api(pg_settings, clock=clock) as api:
        await referential.load(api, SAMPLES / "referentiel.yaml")
        response = await api.request("POST", "importer", "/imports", files={"file": (J10.name, J10.read_bytes())},
                                     data={"resource": "ACR2025-L12"})
        assert response.status_code == 200, response.text
        yield api


def runtimes(api) -> dict:
    return {r.name: r for r in api.embedded.runtimes}


async def person(api, ft_id: str) -> dict:
    return next(p for p in (await api.request("GET", "importer", "/beneficiaries")).json() if p["ft_id"] == ft_id)


async def copies(api, beneficiary_id: str) -> dict[str, str]:
    """The sealed identity planning, billing and affectation keep of the person."""
    rt = runtimes(api)
    async with rt["planning"].uow_factory() as u:
        planning = (await u.views.sealed([beneficiary_id]))[beneficiary_id]
    async with rt["billing"].uow_factory() as u:
        billing = (await u.beneficiaries.sealed([beneficiary_id]))[beneficiary_id]
    async with rt["affectation"].uow_factory() as u:
        affectation = (await u.worklist.sealed([beneficiary_id]))[beneficiary_id]
    return {"planning": planning, "billing": billing, "affectation": affectation}


async def test_ben01_a_correction_reaches_notify_planning_billing_and_affectation(imported):
    api = imported
    lea = await person(api, "1234567A")
    key = (await api.request("GET", "importer", f"/beneficiaries/{lea['id']}/key")).json()["key"]
    before = await copies(api, lea["id"])
    assert {crypto.unseal(key, s)["last_name"] for s in before.values()} == {"DUPONT"}

    response = await api.request("PATCH", "importer", f"/beneficiaries/{lea['id']}", json={
        "last_name": "DUPONT-MARTIN", "email": "lea.martin@example.org", "phone": "07 11 22 33 44"})
    assert response.status_code == 200, response.text
    assert response.json()["changed"] == ["last_name", "email", "phone"]

    [event] = [e["envelope"] for e in (await api.request("GET", "importer", "/admin/events")).json()
               if e["envelope"]["type"] == "BeneficiaryCorrected"]
    assert event["actor"] and event["payload"]["items"][0]["changed"] == ["last_name", "email", "phone"]
    assert "lea.martin@example.org" not in str(event) and "DUPONT-MARTIN" not in str(event)  # sealed
    after = await copies(api, lea["id"])
    for service, sealed in after.items():
        identity = crypto.unseal(key, sealed)
        assert (service, identity["last_name"], identity["email"], identity["phone"], identity["first_name"]) == (
            service, "DUPONT-MARTIN", "lea.martin@example.org", "+33711223344", "Léa")

    notify = runtimes(api)["notify"]
    await notify.postman.unseal_contacts([lea["id"]])
    async with notify.uow_factory() as u:
        contact = await u.contacts.get(lea["id"])
    assert (contact["last_name"], contact["email"], contact["phone"], contact["accepts_email"]) == (
        "DUPONT-MARTIN", "lea.martin@example.org", "+33711223344", True)


async def outbox(api, beneficiary_id: str) -> list[dict]:
    return (await api.request("GET", "notify", "/outbox", params={"beneficiary_id": beneficiary_id})).json()


async def test_ben01_withdrawing_the_email_consent_cancels_pending_emails_at_once(imported):
    api = imported
    lea = await person(api, "1234567A")
    pending = [m for m in await outbox(api, lea["id"]) if m["status"] == "scheduled"]
    assert {m["channel"] for m in pending} == {"email"}, pending

    # The SMS consent withdrawn: the e-mails stay as they were.
    response = await api.request("PATCH", "importer", f"/beneficiaries/{lea['id']}", json={"accepts_sms": False})
    assert response.status_code == 200 and response.json()["changed"] == ["accepts_sms"]
    assert [m for m in await outbox(api, lea["id"]) if m["status"] == "scheduled"] == pending

    response = await api.request("PATCH", "importer", f"/beneficiaries/{lea['id']}", json={"accepts_email": False})
    assert response.status_code == 200 and response.json()["changed"] == ["accepts_email"]
    record = response.json()["beneficiary"]
    assert (record["accepts_email"], record["email_consent_source"], record["email_consent_by"]) == (
        False, "personnel", "administrateur-local")

    messages = {m["message_id"]: m for m in await outbox(api, lea["id"])}
    for message in pending:
        cancelled = messages[message["message_id"]]
        assert (cancelled["status"], cancelled["reason_code"]) == ("cancelled", "no_consent")
        assert "Consentement retiré" in cancelled["reason"]
    not_sent = [i for e in (await api.request("GET", "notify", "/admin/events")).json()
                if e["envelope"]["type"] == "MessageNotSent" for i in e["envelope"]["payload"]["items"]]
    assert {i["message_id"] for i in not_sent if i["reason"] == "no_consent"} == {m["message_id"] for m in pending}
    # The postman sends nothing more on that channel.
    await runtimes(api)["notify"].postman.send_due()
    assert not [m for m in await outbox(api, lea["id"]) if m["status"] == "sent" and m["channel"] == "email"]
