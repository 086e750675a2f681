"""Notify by itself on SQLite and PostgreSQL, fed with contract events as the bus delivers them, its
keys served by a fake importer, its e-mails received by a real SMTP server on loopback."""

import asyncio
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from contracts import Envelope
from contracts.base import ListEvent
from contracts.importer import (BeneficiaryPurged, BeneficiaryRegistered, ParticipantConfirmed,
                                ParticipantNotConfirmed, RegistrationCancelled, RegistrationRecorded)
from contracts.planning import (ActionCancelled, ActionChanged, ActionItem, ActionPlanned, ParticipantAdded,
                                PresenceValidated, ReferentialChanged, SiteRef, StructureRef)
from servicekit import crypto
from servicekit.bus import Bus
from servicekit.clock import PARIS, FixedClock
from servicekit.runtime import runtime_digest
from servicekit.settings import ServiceSettings

from notify.adapters.sms import HttpSms
from notify.bootstrap import bootstrap, channels as configured_channels
from notify.service_layer.delivery import Postman

RULES = [{"ods": "ACR2025", "confirmation": "any", "template": "ACR-PRESENTATION", "delay_days": 0},
         {"ods": "ACR2025", "confirmation": "yes", "template": "ACR-RAPPEL", "delay_days": -2},
         {"ods": "ACR2025", "confirmation": "no", "template": "ACR-ANNULATION", "delay_days": -2}]
TEMPLATES = [{"code": "ACR-PRESENTATION", "channel": "email",
              "subject": "Votre rendez-vous Activ'Créa du {{ action.date }}"},
             {"code": "ACR-RAPPEL", "channel": "email",
              "subject": "Rappel : rendez-vous Activ'Créa le {{ action.date }} à {{ action.time }}"},
             {"code": "ACR-ANNULATION", "channel": "email",
              "subject": "Annulation de votre rendez-vous Activ'Créa du {{ action.date }}"}]


def one(event_type: type[ListEvent], **fields) -> ListEvent:
    """A list event with one item, as a person's single change is announced."""
    return event_type(items=(event_type.item_type(**fields),))


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS).astimezone(UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request, sqlite_settings, pg_settings):
    return sqlite_settings if request.param == "sqlite" else pg_settings


@pytest.fixture
async def notify(backend, smtp_server, smtp_settings, notify_alone):
    clock = FixedClock(paris(2025, 3, 20, 9, 0))
    async with notify_alone(smtp_settings(backend, smtp_server, notify_retry_base_seconds=60), clock) as n:
        assert (await n.call("PUT", "/setup", json={"templates": TEMPLATES, "rules": RULES})).status_code == 200
        await referential(n)
        yield n


async def referential(n) -> None:
    """Planning's referential as notify receives it: the structure's name and the sites."""
    await n.feed(ReferentialChanged(
        version=1, structure=StructureRef(name="BGE Hauts-de-France", siret="41234567800019"), antennes=(),
        sites=(SiteRef(code="ARM", name="Armentières", antenne="LILLE", address="12 rue de Lille, 59280 Armentières",
                       france_travail_addresses=("12 RUE DE LILLE 59280 ARMENTIERES",)),),
        advisors=(), ods=(), resources=()))


async def register(n, who: str = "b-1", *, civility: str | None = "Mme", first: str = "Léa", last: str = "DUPONT",
                   email: str | None = "lea.dupont@example.org", phone: str | None = "+33612345678",
                   accepts_email: bool = True, accepts_sms: bool = True) -> None:
    identity = {"ft_id": "1234567A", "civility": civility, "last_name": last, "first_name": first,
                "birth_date": "1988-05-23", "postcode": "59280", "email": email, "phone": phone}
    await n.feed(one(BeneficiaryRegistered, beneficiary_id=who, sealed=n.importer.seal(who, identity),
                                       accepts_email=accepts_email, accepts_sms=accepts_sms))


async def record(n, who: str = "b-1", starts_at: datetime | None = None, registration: str | None = None,
                 order: str | None = None) -> str:
    registration = registration or f"r-{who}"
    await n.feed(one(RegistrationRecorded, 
        registration_id=registration, beneficiary_id=who, enrolment_id=f"e-{who}", resource="ACR2025-L12",
        ods="ACR2025", site="ARM", starts_at=starts_at or paris(2025, 4, 1, 10, 0), remote=False, order_number=order,
        list_kind="J-10"))
    return registration


async def by_template(n, **params) -> dict[str, dict]:
    return {m["template"]: m for m in await n.outbox(**params)}


@pytest.mark.parametrize("dst", ["spring", "autumn"])
async def test_not02_daily_batch_at_1900_paris_across_the_daylight_saving_change(notify, smtp_server, dst):
    """Rule messages go in the 19:00 (Europe/Paris) batch: 18:00 UTC in winter, 17:00 UTC in summer,
    on the days around the change (30 March and 26 October 2025)."""
    n = notify
    if dst == "spring":  # imported on Saturday 29 March (CET), J-2 on Sunday 30 March (CEST from 02:00)
        imported, appointment, j2 = paris(2025, 3, 29, 9, 0), paris(2025, 4, 1, 10, 0), paris(2025, 3, 30, 8, 0)
        first_batch, second_batch = datetime(2025, 3, 29, 18, 0, tzinfo=UTC), datetime(2025, 3, 30, 17, 0, tzinfo=UTC)
        due = ("2025-03-29T19:00:00+01:00", "2025-03-30T19:00:00+02:00")
    else:  # imported on Saturday 25 October (CEST), J-2 on Sunday 26 October (CET from 03:00)
        imported, appointment, j2 = paris(2025, 10, 25, 9, 0), paris(2025, 10, 28, 10, 0), paris(2025, 10, 26, 8, 0)
        first_batch, second_batch = datetime(2025, 10, 25, 17, 0, tzinfo=UTC), datetime(2025, 10, 26, 18, 0, tzinfo=UTC)
        due = ("2025-10-25T19:00:00+02:00", "2025-10-26T19:00:00+01:00")
    n.clock.at = imported
    await register(n)
    await record(n, starts_at=appointment)
    assert (await n.send())["sent"] == 1  # the virtual-office access mail, at once
    assert (await by_template(n))["ACR-PRESENTATION"]["due_at"] == due[0]
    assert (await n.send(first_batch - timedelta(seconds=1)))["sent"] == 0
    assert (await n.send(first_batch))["sent"] == 1

    n.clock.at = j2
    await n.feed(one(ParticipantConfirmed, registration_id="r-b-1", beneficiary_id="b-1", enrolment_id="e-b-1",
                                      order_number="BDC-1", starts_at=appointment))
    assert (await by_template(n))["ACR-RAPPEL"]["due_at"] == due[1]
    assert (await n.send(second_batch - timedelta(seconds=1)))["sent"] == 0
    assert (await n.send(second_batch))["sent"] == 1
    assert [r.message["Subject"] for r in smtp_server.received][1:] == [
        f"Votre rendez-vous Activ'Créa du {appointment.astimezone(PARIS):%d/%m/%Y}",
        f"Rappel : rendez-vous Activ'Créa le {appointment.astimezone(PARIS):%d/%m/%Y} à 10h00"]


async def test_not01_a_field_containing_script_is_escaped_in_the_html_part(notify, smtp_server):
    n = notify
    template = {"channel": "email", "subject": "Bienvenue {{ beneficiary.last_name }}",
                "body_html": "<p>Bonjour <b>{{ beneficiary.first_name }} {{ beneficiary.last_name }}</b>,</p>"
                             "<p>Rendez-vous le {{ action.date_long }} à {{ action.time }}.</p>"}
    assert (await n.call("PUT", "/templates/ACR-PRESENTATION", json=template)).status_code == 200
    await register(n, first="<img src=x onerror=alert(1)>", last="<script>alert('x')</script>")
    await record(n)
    await n.send(paris(2025, 3, 20, 19, 0))
    mail = next(r.message for r in smtp_server.received if r.message["Subject"].startswith("Bienvenue"))
    html = mail.get_body(("html",)).get_content()
    text = mail.get_body(("plain",)).get_content()
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<b>" in html  # the template's own markup stays
    assert "mardi 1er avril 2025 à 10h00" in text  # the text part is derived from the HTML
    assert mail["Subject"] == "Bienvenue <script>alert('x')</script>"  # plain text, one line

    # The access mail's default body is text: its HTML part is escaped the same way.
    access = next(r.message for r in smtp_server.received if r.message["Subject"].startswith("Votre accès"))
    assert "&lt;script&gt;" in access.get_body(("html",)).get_content()


async def test_not01_templates_unknown_field_refused_used_template_kept_inactive_one_flagged(notify):
    n = notify
    bad = await n.call("PUT", "/templates/ACR-X", json={"channel": "email", "subject": "{{ beneficiary.nom }}",
                                                        "body_text": "Le {{ action.jour }} avec {{ conseiller }}"})
    assert bad.status_code == 422
    messages = bad.json()["messages"]
    assert any("champ « beneficiary.nom » inconnu" in m for m in messages)
    assert any("champ « action.jour » inconnu" in m for m in messages)
    assert any("champ « conseiller » inconnu" in m for m in messages)
    assert (await n.call("GET", "/templates/ACR-X")).status_code == 404  # nothing saved

    preview = (await n.call("POST", "/templates/ACR-RAPPEL/preview")).json()
    assert preview["subject"] == "Rappel : rendez-vous Activ'Créa le 14/01/2025 à 9h00"
    assert "Bonjour Madame EXEMPLE" in preview["text"] and preview["default_body"]
    assert "{{" not in preview["html"]

    refused = await n.call("DELETE", "/templates/ACR-RAPPEL")
    assert refused.status_code == 409
    assert refused.json()["messages"] == ["Modèle « ACR-RAPPEL » utilisé par 1 règle(s) d'envoi automatique : "
                                          "il ne peut pas être supprimé ; désactivez-le."]
    assert (await n.call("POST", "/templates/ACR-RAPPEL/deactivate")).status_code == 200
    rules = {r["template"]: r for r in (await n.call("GET", "/rules")).json()}
    assert rules["ACR-RAPPEL"]["flagged"] and not rules["ACR-PRESENTATION"]["flagged"]
    assert rules["ACR-RAPPEL"]["message"] == "Modèle « ACR-RAPPEL » inactif : cette règle n'envoie rien."

    # A template used by a sending (even with no rule any more) cannot be deleted either.
    sms = {"channel": "sms", "body_text": "{{ structure.name }} : RDV le {{ action.date }} à {{ action.time }}."}
    assert (await n.call("PUT", "/templates/SMS-RDV", json=sms)).status_code == 200
    rule = {"ods": "ACR2025", "confirmation": "any", "template": "SMS-RDV", "delay_days": 0}
    assert (await n.call("POST", "/rules", json=rule)).status_code == 200
    await register(n)
    await record(n)
    assert (await n.call("DELETE", "/rules", params=rule)).status_code == 200
    assert (await n.call("DELETE", "/templates/SMS-RDV")).json()["messages"][0].startswith(
        "Modèle « SMS-RDV » utilisé par 1 envoi(s)")
    assert (await n.call("PUT", "/templates/UNUSED", json=sms)).status_code == 200
    assert (await n.call("DELETE", "/templates/UNUSED")).json()["changed"]
    assert (await n.call("DELETE", "/templates/SYS-RGPD")).status_code == 409
    listed = {t["code"]: t for t in (await n.call("GET", "/templates")).json()}
    assert listed["SYS-RGPD"]["system"] and not listed["ACR-RAPPEL"]["active"] and "UNUSED" not in listed


async def test_not03_a_message_goes_only_with_a_record_a_valid_address_and_consent(backend, smtp_server, smtp_settings,
                                                                                 notify_alone):
    sms_requests = []

    def gateway(request: httpx.Request) -> httpx.Response:
        sms_requests.append(json.loads(request.content))
        return httpx.Response(201, json={"messageId": 42})

    clock = FixedClock(paris(2025, 3, 20, 9, 0))
    settings = smtp_settings(backend, smtp_server)
    channels = configured_channels(settings) | {"sms": HttpSms("brevo", None, "cle-de-test", "BGE HDF",
                                                            transport=httpx.MockTransport(gateway))}
    async with notify_alone(settings, clock, channels=channels) as n:
        await referential(n)
        await n.call("PUT", "/setup", json={
            "templates": [{"code": "SMS-RDV", "channel": "sms",
                           "body_text": "{{ structure.name }} : RDV Activ'Créa le {{ action.date }} à "
                                        "{{ action.time }}."}],
            "rules": [{"ods": "ACR2025", "confirmation": "any", "template": "SMS-RDV", "delay_days": 0}]})
        await register(n, "ok")
        await register(n, "no-consent", email="a@example.org", accepts_email=False, accepts_sms=False)
        await register(n, "bad-address", email="pas une adresse", phone="03 20 11 22 33")
        await register(n, "no-address", email=None, phone=None)
        for who in ("ok", "no-consent", "bad-address", "no-address", "no-record"):
            await record(n, who)
        await n.send(paris(2025, 3, 20, 19, 0))

        outcome = {(m["beneficiary_id"], m["template"]): (m["status"], m["reason"]) for m in await n.outbox()
                   if m["template"] != "SYS-MBV-RELANCE"}
        assert outcome == {
            ("ok", "SYS-MBV-ACCES"): ("sent", None),
            ("ok", "SMS-RDV"): ("sent", None),
            ("no-consent", "SYS-MBV-ACCES"): ("not_sent", "N'accepte pas d'être contacté(e) par mail."),
            ("no-consent", "SMS-RDV"): ("not_sent", "N'accepte pas d'être contacté(e) par SMS."),
            ("bad-address", "SYS-MBV-ACCES"): ("not_sent", "Adresse e-mail non valide."),
            ("bad-address", "SMS-RDV"): ("not_sent", "Numéro de téléphone non valide pour un SMS (mobile attendu)."),
            ("no-address", "SYS-MBV-ACCES"): ("not_sent", "Pas d'adresse e-mail sur la fiche."),
            ("no-address", "SMS-RDV"): ("not_sent", "Pas de numéro de téléphone sur la fiche."),
            ("no-record", "SYS-MBV-ACCES"): ("not_sent", "Aucune fiche pour ce destinataire : message non envoyé."),
            ("no-record", "SMS-RDV"): ("not_sent", "Aucune fiche pour ce destinataire : message non envoyé."),
        }
        assert [r.rcpt_tos for r in smtp_server.received] == [["lea.dupont@example.org"]]
        assert sms_requests == [{"sender": "BGE HDF", "recipient": "33612345678", "type": "transactional",
                                 "tag": "SMS-RDV",
                                 "content": "BGE Hauts-de-France : RDV Activ'Créa le 01/04/2025 à 10h00."}]
        record_view = (await n.call("GET", "/beneficiaries/no-consent/messages")).json()
        assert record_view["record"] and not record_view["accepts_email"]
        assert [(m["template"], m["reason_code"]) for m in record_view["messages"]] == [
            ("SYS-MBV-ACCES", "no_consent"), ("SMS-RDV", "no_consent"), ("SYS-MBV-RELANCE", None)]
        not_sent = await n.emitted_items("MessageNotSent")
        assert {p["reason"] for p in not_sent} == {"no_consent", "invalid_address", "no_address", "no_record"}
        assert "example.org" not in json.dumps(await n.emitted())  # no personal data in events


async def test_not05_gdpr_mail_at_the_first_presence_or_by_hand(notify, smtp_server):
    n = notify
    await register(n, "full")
    await register(n, "no-civility", civility=None, first="Piotr", last="KOWALSKI", email="piotr.k@example.com")
    for who in ("full", "no-civility"):
        await n.feed(one(PresenceValidated, action_id="a-1", beneficiary_id=who, presence="oui",
                                       action_starts_at=paris(2025, 3, 19, 9, 0)))
    await n.feed(one(PresenceValidated, action_id="a-2", beneficiary_id="full", presence="oui",
                                   action_starts_at=paris(2025, 3, 20, 9, 0)))  # second presence
    await n.send()
    gdpr = "Information sur le traitement de vos données personnelles – BGE Hauts-de-France"
    assert [(r.rcpt_tos, r.message["Subject"]) for r in smtp_server.received] == [(["lea.dupont@example.org"], gdpr)]

    record_view = (await n.call("GET", "/beneficiaries/no-civility/messages")).json()
    assert record_view["gdpr"] == {"status": "manual", "label": "à envoyer à la main", "manual_required": True}
    assert record_view["messages"][0]["reason"] == ("Mail RGPD à envoyer à la main : adresse e-mail ou civilité "
                                                    "manquante sur la fiche.")
    sent = await n.call("POST", "/beneficiaries/no-civility/gdpr")
    assert sent.status_code == 200 and sent.json()["sent"]["sent"] == 1
    mail = smtp_server.received[-1].message
    assert mail["To"] == "Piotr KOWALSKI <piotr.k@example.com>"
    assert "Bonjour Piotr KOWALSKI," in mail.get_body(("plain",)).get_content()
    assert (await n.call("POST", "/beneficiaries/no-civility/gdpr")).status_code == 409  # already sent
    assert (await n.call("GET", "/beneficiaries/no-civility/messages")).json()["gdpr"]["status"] == "sent"
    assert [m["kind"] for m in await n.outbox(beneficiary_id="no-civility")] == ["manual"]


async def test_not06_permanent_refusal_is_recorded_with_the_servers_answer(notify, smtp_server):
    n = notify
    smtp_server.refuse.add("lea.dupont@example.org")
    await register(n)
    await record(n)
    assert await n.send() == {"sent": 0, "not_sent": 1, "cancelled": 0, "retry": 0}
    [access] = await n.outbox(status="not_sent")
    detail = (await n.call("GET", f"/messages/{access['message_id']}")).json()
    assert detail["reason_code"] == "rejected"
    assert [(d["outcome"], d["answer"]) for d in detail["delivery"]] == [("permanent", "550 5.1.1 Boîte inconnue")]
    assert [item["reason"] for item in await n.emitted_items("MessageNotSent")] == ["rejected"]
    assert (await n.send(paris(2025, 3, 21, 9, 0)))["sent"] == 0  # never tried again


async def test_not04_j2_confirmation_cancellation_and_desinscription(notify, smtp_server):
    n = notify
    starts = paris(2025, 3, 28, 9, 0)
    for who in ("yes", "no", "gone"):
        await register(n, who, email=f"{who}@example.org")
        await record(n, who, starts_at=starts)
    await n.feed(one(RegistrationCancelled, registration_id="r-gone", beneficiary_id="gone", starts_at=starts))
    gone = {m["template"]: (m["status"], m["reason_code"]) for m in await n.outbox(beneficiary_id="gone")}
    assert gone == {"SYS-MBV-ACCES": ("scheduled", None), "ACR-PRESENTATION": ("cancelled", "appointment_cancelled"),
                    "SYS-MBV-RELANCE": ("cancelled", "appointment_cancelled")}
    await n.send(paris(2025, 3, 21, 10, 0))  # access, presentation and the J-7 reminder of the other two

    n.clock.at = paris(2025, 3, 26, 10, 0)
    await n.feed(one(ParticipantConfirmed, registration_id="r-yes", beneficiary_id="yes", enrolment_id="e-yes",
                                      order_number="BDC-9", starts_at=starts))
    await n.feed(one(ParticipantNotConfirmed, registration_id="r-no", beneficiary_id="no", enrolment_id="e-no",
                                         starts_at=starts, reason="no_order_number"))
    before = len(smtp_server.received)
    await n.send(paris(2025, 3, 26, 19, 0))
    j2 = {r.rcpt_tos[0]: r.message for r in smtp_server.received[before:]}
    assert {rcpt: m["Subject"] for rcpt, m in j2.items()} == {
        "yes@example.org": "Rappel : rendez-vous Activ'Créa le 28/03/2025 à 9h00",
        "no@example.org": "Annulation de votre rendez-vous Activ'Créa du 28/03/2025"}
    text = j2["no@example.org"].get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert ("France Travail n'a pas confirmé votre rendez-vous Activ'Créa du vendredi 28 mars 2025 à 9h00 : ce "
            "rendez-vous est donc annulé.") in text
    assert "commande n° BDC-9" in j2["yes@example.org"].get_body(("plain",)).get_content()


async def test_not04_action_moved_or_cancelled_in_planning(notify):
    n = notify
    await register(n)
    await record(n, starts_at=paris(2025, 4, 1, 10, 0))
    action = ActionItem(action_id="a-1", advisor=None, action_type="diagnostic", ods="ACR2025", step=1,
                          resource="ACR2025-L12", mode="on_site", site="ARM", starts_at=paris(2025, 4, 1, 10, 0),
                          ends_at=paris(2025, 4, 1, 11, 0), nature="individual", max_participants=1, to_assign=True)
    await n.feed(ActionPlanned(items=(action,)))
    await n.feed(one(ParticipantAdded, action_id="a-1", beneficiary_id="b-1", resource="ACR2025-L12", ods="ACR2025"))
    moved = action.model_copy(update={"starts_at": paris(2025, 4, 8, 14, 0), "ends_at": paris(2025, 4, 8, 15, 0)})
    await n.feed(ActionChanged(items=(moved,)))
    assert (await by_template(n))["SYS-MBV-RELANCE"]["due_at"] == "2025-04-01T10:00:00+02:00"  # J-7 of the 8th
    n.clock.at = paris(2025, 4, 5, 9, 0)
    await n.feed(one(ParticipantConfirmed, registration_id="r-b-1", beneficiary_id="b-1", enrolment_id="e-b-1",
                                      order_number="BDC-1", starts_at=paris(2025, 4, 8, 14, 0)))
    assert (await by_template(n))["ACR-RAPPEL"]["due_at"] == "2025-04-06T19:00:00+02:00"
    await n.feed(one(ActionCancelled, action_id="a-1", reason="Conseiller absent"))
    messages = await by_template(n)
    assert (messages["ACR-RAPPEL"]["status"], messages["ACR-RAPPEL"]["reason"]) == (
        "cancelled", "Rendez-vous annulé : message annulé.")


async def test_x04_purge_forgets_the_contact_and_what_was_sent(notify, smtp_server):
    n = notify
    await register(n)
    await record(n)
    await n.send()
    assert len(smtp_server.received) == 1
    n.importer.purge("b-1")
    await n.feed(one(BeneficiaryPurged, beneficiary_id="b-1"))
    [access, *pending] = sorted(await n.outbox(beneficiary_id="b-1"), key=lambda m: m["status"] != "sent")
    assert access["status"] == "sent" and {m["status"] for m in pending} == {"cancelled"}
    detail = (await n.call("GET", f"/messages/{access['message_id']}")).json()
    assert detail["recipient"] is None and detail["subject"] is None and detail["delivery"][0]["answer"] is None
    view = (await n.call("GET", "/beneficiaries/b-1/messages")).json()
    assert not view["record"]
    # A registration replayed after the purge cannot be read any more: no contact comes back.
    token = crypto.seal(crypto.new_key(), {"last_name": "DUPONT"})
    await n.feed(one(BeneficiaryRegistered, beneficiary_id="b-1", sealed=token, accepts_email=True, accepts_sms=True))
    await n.send()
    assert not (await n.call("GET", "/beneficiaries/b-1/messages")).json()["record"]


async def test_not06_two_postmen_at_once_send_each_message_once(notify, smtp_server):
    """Two senders (two replicas of notify, or a slow batch and the next turn) claim messages; each
    message is claimed by one of them only."""
    n = notify
    for i in range(8):
        await register(n, f"p{i}", email=f"p{i}@example.org")
        await record(n, f"p{i}")
    postmen = [Postman(n.runtime.uow_factory, n.runtime.postman.channels, n.settings, n.clock, n.runtime.key_source)
               for _ in range(3)]
    results = await asyncio.gather(*(p.send_due() for p in postmen))
    assert sum(r["sent"] for r in results) == 8
    assert sorted(r.rcpt_tos[0] for r in smtp_server.received) == sorted(f"p{i}@example.org" for i in range(8))


async def test_x04_importer_unreachable_the_contact_stays_sealed_and_its_messages_wait(notify, smtp_server):
    n = notify
    n.importer.down = True
    await register(n)
    await record(n)
    assert await n.send() == {"sent": 0, "not_sent": 0, "cancelled": 0, "retry": 1}
    [access] = await n.outbox(status="scheduled", beneficiary_id="b-1", limit=1)
    assert access["attempts"] == 0 and access["next_attempt_at"] == "2025-03-20T09:01:00+01:00"
    assert (await n.call("GET", "/beneficiaries/b-1/messages")).json()["email_known"] is False
    n.importer.down = False
    assert await n.send(paris(2025, 3, 20, 9, 1)) == {"sent": 1, "not_sent": 0, "cancelled": 0, "retry": 0}
    assert smtp_server.received[0].rcpt_tos == ["lea.dupont@example.org"]


async def test_not04_a_list_of_appointments_already_past_prepares_nothing(notify):
    """A late (or replayed) list: no access mail, no reminder, no J-0/J-2 message for a past appointment;
    a rule after the action (positive delay) still applies."""
    n = notify
    assert (await n.call("POST", "/rules", json={"ods": "ACR2025", "confirmation": "any",
                                                 "template": "ACR-RAPPEL", "delay_days": 1})).status_code == 200
    await register(n)
    await record(n, starts_at=paris(2025, 3, 19, 9, 0))  # the day before the clock's
    assert [(m["template"], m["due_at"]) for m in await n.outbox()] == [("ACR-RAPPEL", "2025-03-20T19:00:00+01:00")]


async def test_ben02_the_gdpr_mail_carries_the_personal_link_importer_gives_and_staff_requests_resend_it(
        notify, smtp_server):
    """BEN-02 / NOT-05 on a real SMTP server: the GDPR mail's text and HTML carry the link importer
    hands notify when it sends; a staff request sends the mail again with a new link; a request
    taken by a mail (source ``mail``) sends nothing more; once the agreement is recorded (no link)
    the mail goes without one."""
    from contracts.importer import GdprAgreementRequested

    n = notify
    await register(n, "full")
    await n.feed(one(PresenceValidated, action_id="a-1", beneficiary_id="full", presence="oui",
                     action_starts_at=paris(2025, 3, 19, 9, 0)))
    await n.send()
    [first] = smtp_server.received
    link = "https://prestaflow.example.org/importer/rgpd/accord?jeton=signed-full-0"
    assert n.importer.links_given == [link]
    text = first.message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert f"ouvrez ce lien personnel (il ne sert qu'une fois et expire après quelques semaines) : {link}\n" in text
    assert f'<a href="{link}">' in first.message.get_body(("html",)).get_content()

    await n.feed(one(GdprAgreementRequested, beneficiary_id="full", requested_at=n.clock.now(), source="mail"))
    assert await n.send() == {"sent": 0, "not_sent": 0, "cancelled": 0, "retry": 0}  # the mail took it: nothing more
    await n.feed(one(GdprAgreementRequested, beneficiary_id="full", requested_at=n.clock.now(), source="staff"))
    assert (await n.send())["sent"] == 1
    again = smtp_server.received[-1].message
    assert again["Subject"] == first.message["Subject"] and again["To"] == first.message["To"]
    assert "jeton=signed-full-1" in again.get_body(("plain",)).get_content()
    assert sorted(m["kind"] for m in await n.outbox(beneficiary_id="full")) == ["manual", "system"]

    n.importer.agreed.add("full")  # the agreement was recorded meanwhile: importer gives no link
    n.clock.at += timedelta(minutes=1)
    await n.feed(one(GdprAgreementRequested, beneficiary_id="full", requested_at=n.clock.now(), source="staff"))
    await n.send()
    last = smtp_server.received[-1].message.get_body(("plain",)).get_content()
    assert "jeton=" not in last and "lors de votre prochain rendez-vous" in last
    assert len(smtp_server.received) == 3


async def test_ben02_importer_unreachable_the_gdpr_mail_waits_for_its_link(notify, smtp_server):
    """BEN-02: no mail without its link when importer does not answer; it goes once importer is back."""
    n = notify
    await register(n, "full")
    await n.runtime.postman.unseal_contacts()  # the contact read while importer answers
    n.importer.down = True
    await n.feed(one(PresenceValidated, action_id="a-1", beneficiary_id="full", presence="oui",
                     action_starts_at=paris(2025, 3, 19, 9, 0)))
    assert (await n.send())["retry"] == 1 and smtp_server.received == []
    [message] = await n.outbox(beneficiary_id="full")
    assert message["status"] == "scheduled"
    n.importer.down = False
    assert (await n.send(at=n.clock.now() + timedelta(minutes=5)))["sent"] == 1
    assert "jeton=signed-full-0" in smtp_server.received[0].message.get_body(("plain",)).get_content()


# --- OPS-04: the postman's outcomes (sent after a temporary failure, refused for good, not sent for want
# of an address) are restored by a replay of notify's log from its own MessageSent and MessageNotSent,
# the contacts unsealed with importer's keys; the copy's digest is the live one. The events never carry
# what was sent nor the servers' answers.


async def replayed_digest(n, home) -> dict:
    """A fresh notify on SQLite fed the log: input events to its handlers, its own events that no
    event caused (its commands', its postman's) to its restorers, in time order (inputs first)."""
    own = [e for e in await n.emitted() if e.get("causation_id") is None]
    log = sorted([(e, 0) for e, _ in n.fed] + [(e, 1) for e in own], key=lambda p: (p[0]["occurred_at"], p[1]))
    clock = FixedClock(n.clock.now())
    runtime = bootstrap(Bus("memory://"), ServiceSettings(home=home, bus="memory://"), clock,
                        importer_transport=n.importer.transport())
    await runtime.database.migrate()
    restorers = {model.event_type: handler for model, handler in runtime.restorers.items()}
    try:
        for body, is_own in log:
            envelope = Envelope.model_validate(body)
            handler = (restorers if is_own else runtime.dispatcher.handlers).get(envelope.type)
            assert handler is not None, envelope.type
            clock.at = envelope.occurred_at
            await runtime.dispatcher.handle(envelope, handler)
        return await runtime_digest(runtime)
    finally:
        await runtime.database.dispose()


async def test_ops04_the_postmans_outcomes_replay_to_notifys_live_digest(notify, smtp_server, tmp_path):
    n = notify
    n.clock.at += timedelta(minutes=1)  # after the set-up (a replay orders the log by time)
    await register(n, "b-1")
    await register(n, "b-2", email="refus@example.org")
    await register(n, "b-3", email=None)
    smtp_server.stop()  # an outage: b-1's and b-2's mails fail for a while
    for who in ("b-1", "b-2", "b-3"):
        await record(n, who)
    assert await n.send(n.clock.now() + timedelta(minutes=1)) == {"sent": 0, "not_sent": 1, "cancelled": 0,
                                                                    "retry": 2}
    smtp_server.refuse.add("refus@example.org")
    smtp_server.start()
    assert await n.send(n.clock.now() + timedelta(minutes=5)) == {"sent": 1, "not_sent": 1, "cancelled": 0, "retry": 0}
    # NOT-05 by hand: a GDPR mail left to staff (no civilité), then sent by hand (MessageScheduledByHand).
    n.clock.at += timedelta(minutes=1)
    await register(n, "b-4", civility=None, first="Piotr", last="KOWALSKI", email="piotr.k@example.com")
    await n.feed(one(PresenceValidated, action_id="a-1", beneficiary_id="b-4", presence="oui",
                     action_starts_at=paris(2025, 3, 19, 9, 0)))
    assert (await n.send())["cancelled"] + (await n.send())["sent"] == 0  # manual: waits for staff
    n.clock.at += timedelta(minutes=1)
    assert (await n.call("POST", "/beneficiaries/b-4/gdpr")).json()["sent"]["sent"] == 1
    assert [i["beneficiary_id"] for i in await n.emitted_items("MessageScheduledByHand")] == ["b-4"]
    # NOT-04: the virtual office reports logins (VirtualOfficeLoginRecorded).
    for at in (None, paris(2025, 3, 19, 8, 0)):
        login = await n.call("POST", "/beneficiaries/b-1/virtual-office-logins", json={"at": at and at.isoformat()})
        assert login.status_code == 200, login.text
    assert login.json()["count"] == 2

    sent = await n.emitted_items("MessageSent")
    assert [(i["beneficiary_id"], i["attempts"], [t["outcome"] for t in i["tries"]]) for i in sent] == [
        ("b-1", 2, ["temporary", "sent"]), ("b-4", 1, ["sent"])]
    not_sent = {i["beneficiary_id"]: i for i in await n.emitted_items("MessageNotSent")}
    assert not_sent["b-2"]["reason"] == "rejected" and not_sent["b-2"]["status"] == "not_sent"
    assert [t["outcome"] for t in not_sent["b-2"]["tries"]] == ["temporary", "permanent"]
    assert not_sent["b-3"]["reason_text"] == "Pas d'adresse e-mail sur la fiche." and not_sent["b-3"]["attempts"] == 0
    log = json.dumps(await n.emitted())
    for personal in ("lea.dupont@example.org", "refus@example.org", "DUPONT", "KOWALSKI", "Boîte inconnue"):
        assert personal not in log  # neither what was sent nor the servers' answers

    live = await runtime_digest(n.runtime)
    replayed = await replayed_digest(n, tmp_path / "replay")
    assert replayed["tables"] == live["tables"] and replayed["digest"] == live["digest"]
    assert set(live["excluded"]) == {"messages.recipient", "messages.subject", "messages.body_text",
                                     "messages.body_html", "delivery_attempts.answer"}
