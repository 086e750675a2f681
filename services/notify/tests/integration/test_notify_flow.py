"""The Activ'Créa sequence end to end, every service in-process, a real SMTP server on loopback:
the sample J-10 then J-2 lists uploaded to importer, notify's messages received by the server
(NOT-02, NOT-03, NOT-04, NOT-06), redelivery, an SMTP outage, the purge (X-04)."""

import json
import logging
import re
import uuid
from datetime import UTC, datetime

import pytest

from prestaflow import referential
from prestaflow.client import Api
from servicekit.clock import PARIS, FixedClock
from servicekit.logs import JsonFormatter, silence_leaky_libraries

from cluster import SAMPLES
from scans import database_text

J10, J2 = SAMPLES / "liste_inscrits_J-10.csv", SAMPLES / "liste_inscrits_J-2.csv"
LEA, MOUSSA, ANNE = "lea.dupont@example.org", "moussa.ndiaye@example.org", "as.lefebvre@example.net"
PIOTR, YASMINA = "piotr.k@example.com", "yasmina.benali@example.org"
NOTHING = {"sent": 0, "not_sent": 0, "cancelled": 0, "retry": 0}
ACCESS = "Votre accès à Mon Bureau Virtuel – BGE Hauts-de-France"


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS).astimezone(UTC)


async def upload(api, path, **form) -> dict:
    response = await api.request("POST", "importer", "/imports", files={"file": (path.name, path.read_bytes())},
                                 data={"resource": "ACR2025-L12"} | form)
    assert response.status_code == 200, response.text
    return response.json()


async def send(api, clock: FixedClock, at: datetime) -> dict:
    clock.at = at
    response = await api.request("POST", "notify", "/outbox/send")
    assert response.status_code == 200, response.text
    return response.json()


def parts(message) -> tuple[str, str]:
    """The text and HTML parts, with plain line ends."""
    return tuple(message.get_body((kind,)).get_content().replace("\r\n", "\n") for kind in ("plain", "html"))


def notify_of(api):
    return next(r for r in api.embedded.runtimes if r.name == "notify")


@pytest.fixture(params=["sqlite", "postgresql"])
async def flow(request, sqlite_settings, pg_settings, smtp_server, smtp_settings):
    """Every service in-process with notify sending to the test SMTP server; the referential loaded
    on 4 January 2025 at 10:00 (Paris), the day the J-10 list arrives."""
    base = sqlite_settings if request.param == "sqlite" else pg_settings
    clock = FixedClock(paris(2025, 1, 4, 10, 0))
    async with Api(smtp_settings(base, smtp_server), clock=clock) as api:
        await referential.load(api, SAMPLES / "referentiel.yaml")
        yield api, clock, smtp_server


async def test_not04_not06_sample_j10_j2_flow_reaches_the_smtp_server_exactly_once(flow):
    api, clock, smtp = flow
    report = await upload(api, J10)
    assert report["counts"]["created"] == 6
    people = {p["ft_id"]: p["id"] for p in (await api.request("GET", "importer", "/beneficiaries")).json()}

    # J-10, at once: the virtual-office access mail (a system message); ÉTIENNE has no e-mail (NOT-03).
    assert await send(api, clock, paris(2025, 1, 4, 10, 0)) == {"sent": 5, "not_sent": 1, "cancelled": 0, "retry": 0}
    assert {rcpt: subjects for rcpt, subjects in smtp.by_recipient().items()} == {
        m: [ACCESS] for m in (LEA, MOUSSA, ANNE, PIOTR, YASMINA)}
    etienne = (await api.request("GET", "notify", f"/beneficiaries/{people['4567890D']}/messages")).json()
    [access] = [m for m in etienne["messages"] if m["purpose"] == "mbv_access"]
    assert (access["status"], access["reason_code"], access["reason"]) == (
        "not_sent", "no_address", "Pas d'adresse e-mail sur la fiche.")

    # NOT-02: the presentation mail waits for the 19:00 batch.
    assert (await send(api, clock, paris(2025, 1, 4, 18, 59)))["sent"] == 0
    assert await send(api, clock, paris(2025, 1, 4, 19, 0)) == {"sent": 5, "not_sent": 1, "cancelled": 0, "retry": 0}

    # J-7: the reminder goes only to those who have not logged in to the virtual office.
    login = await api.request("POST", "notify", f"/beneficiaries/{people['1234567A']}/virtual-office-logins",
                              json={"at": "2025-01-05T20:15:00+01:00"})
    assert login.status_code == 200
    assert await send(api, clock, paris(2025, 1, 7, 10, 0)) == {"sent": 2, "not_sent": 0, "cancelled": 1, "retry": 0}
    assert await send(api, clock, paris(2025, 1, 8, 10, 0)) == {"sent": 1, "not_sent": 1, "cancelled": 0, "retry": 0}
    assert await send(api, clock, paris(2025, 1, 9, 10, 0)) == {"sent": 1, "not_sent": 0, "cancelled": 0, "retry": 0}

    # J-2: the validated list confirms four appointments; ÉTIENNE's is not confirmed.
    clock.at = paris(2025, 1, 12, 10, 0)
    report = await upload(api, J2)
    assert (report["counts"]["confirmed"], report["counts"]["not_confirmed"]) == (4, 1)
    assert (await send(api, clock, paris(2025, 1, 12, 18, 59)))["sent"] == 0
    assert await send(api, clock, paris(2025, 1, 12, 19, 0)) == {"sent": 3, "not_sent": 0, "cancelled": 0, "retry": 0}
    assert await send(api, clock, paris(2025, 1, 13, 19, 0)) == {"sent": 1, "not_sent": 1, "cancelled": 0, "retry": 0}
    assert await send(api, clock, paris(2025, 1, 14, 19, 0)) == NOTHING

    presentation = "Votre rendez-vous Activ'Créa du {}"
    reminder = "Rappel : rendez-vous Activ'Créa le {}"
    relance = "Rappel : connectez-vous à Mon Bureau Virtuel avant votre rendez-vous du {}"
    assert smtp.by_recipient() == {
        LEA: [ACCESS, presentation.format("14/01/2025"), reminder.format("14/01/2025 à 9h00")],
        MOUSSA: [ACCESS, presentation.format("14/01/2025"), relance.format("14/01/2025"),
                 reminder.format("14/01/2025 à 10h00")],
        ANNE: [ACCESS, presentation.format("14/01/2025"), relance.format("14/01/2025"),
               reminder.format("14/01/2025 à 14h00")],
        PIOTR: [ACCESS, presentation.format("15/01/2025"), relance.format("15/01/2025"),
                reminder.format("15/01/2025 à 11h00")],
        YASMINA: [ACCESS, presentation.format("16/01/2025"), relance.format("16/01/2025")],
    }
    assert len(smtp.received) == 18

    # The MIME parts: recipient, subject, French text, every placeholder replaced, HTML escaped.
    for received in smtp.received:
        message = received.message
        assert message.get_content_type() == "multipart/alternative"
        text, html = parts(message)
        for part in (message["Subject"], text, html):
            assert "{{" not in part and "{%" not in part and "None" not in part
        assert message["From"] == "BGE Hauts-de-France <ne-pas-repondre@bge-hdf.example>"
        assert message["Message-ID"].endswith("@notify.prestaflow>")
        assert "Bien cordialement,\nL'équipe BGE Hauts-de-France" in text
    moussa_reminder = next(r.message for r in smtp.received
                           if r.rcpt_tos == [MOUSSA] and r.message["Subject"].startswith("Rappel : rendez-vous"))
    assert moussa_reminder["To"] == "Moussa N'DIAYE <moussa.ndiaye@example.org>"
    text, html = parts(moussa_reminder)
    assert "Bonjour Monsieur N'DIAYE," in text
    assert ("le mardi 14 janvier 2025 à 10h00, à l'adresse suivante : Armentières, 12 rue de Lille, "
            "59280 Armentières.") in text
    assert "commande n° BDC-2025-000102" in text
    assert "Bonjour Monsieur N&#39;DIAYE," in html and "N'DIAYE" not in html
    piotr_access = next(r.message for r in smtp.received if r.rcpt_tos == [PIOTR])
    assert "Bonjour Piotr KOWALSKI," in parts(piotr_access)[0]  # no civilité
    piotr_presentation = next(r.message for r in smtp.received if r.rcpt_tos == [PIOTR]
                              and r.message["Subject"].startswith("Votre rendez-vous"))
    assert "mercredi 15 janvier 2025 à 11h00, à distance" in parts(piotr_presentation)[0]

    # Every attempt is logged with the server's answer; MessageSent carries no personal data.
    sent = await api.request("GET", "notify", "/outbox", params={"status": "sent"})
    detail = (await api.request("GET", "notify", f"/messages/{sent.json()[0]['message_id']}")).json()
    assert [(d["attempt"], d["outcome"]) for d in detail["delivery"]] == [(1, "sent")]
    assert "250" in detail["delivery"][0]["answer"] and "accepté" in detail["delivery"][0]["answer"]
    events = [e["envelope"] for e in (await api.request("GET", "notify", "/admin/events")).json()]
    assert sum(len(e["payload"]["items"]) for e in events if e["type"] == "MessageSent") == 18
    not_sent = [item for e in events if e["type"] == "MessageNotSent" for item in e["payload"]["items"]]
    assert sorted(p["reason"] for p in not_sent) == ["no_address"] * 4 + ["not_needed"]
    log = json.dumps(events, ensure_ascii=False)
    for personal in ("DUPONT", "Léa", "example.org", "+336", "N'DIAYE"):
        assert personal not in log

    # ÉTIENNE's cancellation mail could not go: his record says why (NOT-03).
    etienne = (await api.request("GET", "notify", f"/beneficiaries/{people['4567890D']}/messages")).json()
    assert {(m["template"], m["status"], m["reason_code"]) for m in etienne["messages"]} == {
        ("SYS-MBV-ACCES", "not_sent", "no_address"), ("ACR-PRESENTATION", "not_sent", "no_address"),
        ("SYS-MBV-RELANCE", "not_sent", "no_address"), ("ACR-ANNULATION", "not_sent", "no_address")}
    assert not etienne["email_known"] and etienne["phone_known"]

    # five days later importer purges him; notify keeps nothing that identifies him.
    clock.at = paris(2025, 1, 17, 12, 0)
    assert (await api.request("POST", "importer", "/purge")).json() == {"purged": [people["4567890D"]]}
    text = await database_text(notify_of(api).database.engine)
    for value in ("ÉTIENNE", "François", "+33320112233", "03.20.11.22.33"):
        assert value not in text
    assert "DUPONT" in text  # the others are untouched


async def consumed_envelopes(api) -> list[tuple[dict, str]]:
    """Every event notify consumed (importer's and planning's), as their bodies on the bus."""
    out = []
    for service, topic in (("importer", "prestaflow.import.events"), ("planning", "prestaflow.planning.events")):
        out += [(e["envelope"], topic) for e in (await api.request("GET", service, "/admin/events")).json()]
    return out


async def test_not06_every_input_event_delivered_twice_sends_nothing_twice(flow):
    api, clock, smtp = flow
    await upload(api, J10)
    await send(api, clock, paris(2025, 1, 4, 19, 0))
    clock.at = paris(2025, 1, 12, 10, 0)
    await upload(api, J2)
    await send(api, clock, paris(2025, 1, 13, 19, 0))
    received, outbox = len(smtp.received), (await api.request("GET", "notify", "/outbox")).json()
    assert received == 19  # 5 access, 5 presentation, 5 J-7 reminders (late), 4 J-2 reminders

    notify = notify_of(api)
    bodies = await consumed_envelopes(api)
    assert {"BeneficiaryRegistered", "RegistrationRecorded", "ParticipantConfirmed", "ParticipantNotConfirmed",
            "ReferentialChanged", "ActionPlanned", "ParticipantAdded", "ParticipantRemoved"} <= {
        b["type"] for b, _ in bodies}
    # The same envelopes twice (the inbox), then each fact again under a new event id (the messages'
    # recipient × rule × appointment key), then the batch again: nothing more reaches the server.
    for _ in range(2):
        for body, topic in bodies:
            await notify.dispatcher(body, topic)
    for body, topic in bodies:
        await notify.dispatcher(body | {"event_id": str(uuid.uuid4())}, topic)
    assert await send(api, clock, paris(2025, 1, 13, 19, 0)) == NOTHING
    assert await send(api, clock, paris(2025, 1, 14, 19, 0)) == NOTHING
    assert len(smtp.received) == received
    assert (await api.request("GET", "notify", "/outbox")).json() == outbox
    assert (await api.request("GET", "notify", "/admin/dead-letters")).json() == []


async def test_not06_smtp_down_during_the_batch_messages_are_retried_none_lost_none_doubled(flow):
    api, clock, smtp = flow
    await upload(api, J10)
    await send(api, clock, paris(2025, 1, 4, 10, 0))
    assert len(smtp.received) == 5

    smtp.stop()  # the server is down at 19:00
    assert await send(api, clock, paris(2025, 1, 4, 19, 0)) == {"sent": 0, "not_sent": 1, "cancelled": 0, "retry": 5}
    assert await send(api, clock, paris(2025, 1, 4, 19, 0, 30)) == NOTHING
    assert await send(api, clock, paris(2025, 1, 4, 19, 1, 1)) == {"sent": 0, "not_sent": 0, "cancelled": 0, "retry": 5}
    waiting = (await api.request("GET", "notify", "/outbox", params={"status": "scheduled"})).json()
    presentations = [m for m in waiting if m["template"] == "ACR-PRESENTATION"]
    assert len(presentations) == 5 and all(m["attempts"] == 2 for m in presentations)
    assert {m["next_attempt_at"] for m in presentations} == {"2025-01-04T19:03:01+01:00"}  # back-off doubles

    smtp.start()  # back
    assert await send(api, clock, paris(2025, 1, 4, 19, 3, 1)) == {"sent": 5, "not_sent": 0, "cancelled": 0, "retry": 0}
    assert await send(api, clock, paris(2025, 1, 4, 20, 0)) == NOTHING
    subjects = [r.message["Subject"] for r in smtp.received]
    assert sorted(subjects) == sorted([ACCESS] * 5 + ["Votre rendez-vous Activ'Créa du 14/01/2025"] * 3
                                      + ["Votre rendez-vous Activ'Créa du 15/01/2025",
                                         "Votre rendez-vous Activ'Créa du 16/01/2025"])
    detail = (await api.request("GET", "notify", f"/messages/{presentations[0]['message_id']}")).json()
    assert [d["outcome"] for d in detail["delivery"]] == ["temporary", "temporary", "sent"]
    assert all(re.search(r"Connect|refused|connexion", d["answer"], re.I) for d in detail["delivery"][:2])


async def test_not02_not04_a_moved_or_cancelled_action_reschedules_or_cancels_its_messages(flow):
    api, clock, smtp = flow
    await upload(api, J10)
    actions = {(a["site"], a["starts_at"]): a for a in (await api.request("GET", "planning", "/actions")).json()}
    moussa_slot = actions[("ARM", "2025-01-14T10:00:00+01:00")]
    anne_slot = actions[("LIL", "2025-01-14T14:00:00+01:00")]

    moved = await api.request("PATCH", "planning", f"/actions/{moussa_slot['action_id']}",
                              json={"starts_at": "2025-01-21T10:00", "ends_at": "2025-01-21T11:00"})
    assert moved.status_code == 200, moved.text
    cancelled = await api.request("POST", "planning", f"/actions/{anne_slot['action_id']}/cancel",
                                  json={"reason": "Conseiller absent"})
    assert cancelled.status_code == 200, cancelled.text

    people = {p["ft_id"]: p["id"] for p in (await api.request("GET", "importer", "/beneficiaries")).json()}
    moussa = (await api.request("GET", "notify", f"/beneficiaries/{people['2345678B']}/messages")).json()
    relance = next(m for m in moussa["messages"] if m["purpose"] == "mbv_reminder")
    assert (relance["status"], relance["due_at"]) == ("scheduled", "2025-01-14T10:00:00+01:00")  # J-7 of the 21st
    anne = (await api.request("GET", "notify", f"/beneficiaries/{people['3456789C']}/messages")).json()
    assert {m["purpose"]: (m["status"], m["reason_code"]) for m in anne["messages"]} == {
        "mbv_access": ("scheduled", None), "rule": ("cancelled", "appointment_cancelled"),
        "mbv_reminder": ("cancelled", "appointment_cancelled")}

    await send(api, clock, paris(2025, 1, 4, 19, 0))
    moussa_mail = next(r.message for r in smtp.received if r.rcpt_tos == [MOUSSA]
                       and r.message["Subject"].startswith("Votre rendez-vous"))
    assert moussa_mail["Subject"] == "Votre rendez-vous Activ'Créa du 21/01/2025"
    assert [r.message["Subject"] for r in smtp.received if r.rcpt_tos == [ANNE]] == [ACCESS]


async def test_x04_no_personal_data_in_notify_logs(flow, caplog):
    """Sending, failing and retrying log ids and counts, never a name, an address or a text."""
    api, clock, smtp = flow
    silence_leaky_libraries()
    caplog.set_level(logging.DEBUG)
    await upload(api, J10)
    await send(api, clock, paris(2025, 1, 4, 10, 0))
    smtp.stop()
    await send(api, clock, paris(2025, 1, 4, 19, 0))
    smtp.start()
    await send(api, clock, paris(2025, 1, 4, 19, 5))
    text = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    assert "notify batch" in text
    for value in ("DUPONT", "Léa", "lea.dupont@example.org", "+33612345678", "N'DIAYE", "Bonjour", "Armentières"):
        assert value not in text
