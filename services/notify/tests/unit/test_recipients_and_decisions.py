"""Whether a message goes (NOT-03, NOT-04, NOT-05), and what it sends."""

from datetime import UTC, datetime, timedelta

import pytest

from notify.domain.appointments import Appointment
from notify.domain.defaults import SYSTEM_TEMPLATES, with_bodies
from notify.domain.messages import Outgoing, Stop, decide, dedup_key
from notify.domain.recipients import mobile_number, recipient, valid_email
from notify.domain.setup import Template

NOW = datetime(2025, 1, 12, 18, 0, tzinfo=UTC)
CONTACT = {"civility": "Mme", "first_name": "Léa", "last_name": "DUPONT", "email": "lea.dupont@example.org",
           "phone": "+33612345678", "accepts_email": True, "accepts_sms": True}
APPOINTMENT = {"registration_id": "r-1", "starts_at": NOW + timedelta(days=2), "site": "ARM", "remote": False,
               "ods": "ACR2025", "order_number": "BDC-1", "status": "confirmed", "cancelled": False}
RAPPEL = Template(code="ACR-RAPPEL", channel="email", subject="Rappel {{ action.date }}")
REFERENTIAL = {"structure": {"name": "BGE"}, "sites": {"ARM": {"name": "Armentières", "address": "12 rue de Lille"}}}


def message(purpose="rule", kind="rule", rule="ACR2025|yes|ACR-RAPPEL|-2", delay=-2, template="ACR-RAPPEL"):
    return {"id": "m-1", "purpose": purpose, "kind": kind, "rule_key": rule if purpose == "rule" else None,
            "delay_days": delay if purpose == "rule" else None, "template_code": template,
            "registration_id": "r-1", "beneficiary_id": "b-1"}


def as_appointment(fields: dict | None) -> Appointment | None:
    """The appointment as notify keeps it, from the fields a test gives."""
    if fields is None:
        return None
    return Appointment(**{"beneficiary_id": "b-1", "enrolment_id": "e-1", "resource": "ACR2025-L12",
                          "action_id": None, "recorded_at": NOW} | fields)


def run(msg=None, contact=CONTACT, appointment=APPOINTMENT, template=RAPPEL, **kw):
    template = with_bodies(template)[0] if template else None
    return decide(msg or message(), contact=contact, appointment=as_appointment(appointment), template=template,
                  referential=REFERENTIAL, links={}, now=NOW, **kw)


@pytest.mark.parametrize("address, ok", [("lea.dupont@example.org", True), ("a+b@sub.example.fr", True),
                                         ("pas une adresse", False), ("a@b", False), ("a..b@example.org", False),
                                         ("lea@exa_mple.org", False), ("", False)])
def test_not03_email_addresses(address, ok):
    assert valid_email(address) is ok


@pytest.mark.parametrize("phone, number", [("+33612345678", "+33612345678"), ("06 12 34 56 78", "+33612345678"),
                                           ("07.11.22.33.44", "+33711223344"), ("0033 7 11 22 33 44", "+33711223344"),
                                           ("+33320112233", None), ("03 20 11 22 33", None), ("12345", None)])
def test_not03_sms_needs_a_french_mobile_number(phone, number):
    assert mobile_number(phone) == number


def test_not03_record_address_and_consent_per_channel():
    assert recipient(None, "email")[1].code == "no_record"
    assert recipient(CONTACT | {"email": None}, "email")[1].code == "no_address"
    assert recipient(CONTACT | {"email": "x"}, "email")[1].code == "invalid_address"
    refusal = recipient(CONTACT | {"accepts_email": False}, "email")[1]
    assert refusal.reason == "N'accepte pas d'être contacté(e) par mail."
    assert recipient(CONTACT | {"accepts_email": False}, "sms") == ("+33612345678", None)
    assert recipient(CONTACT | {"accepts_sms": False}, "sms")[1].code == "no_consent"
    assert recipient(CONTACT, "email") == ("lea.dupont@example.org", None)


def test_not06_one_key_per_recipient_rule_and_appointment():
    assert dedup_key("b-1", "rule", "r-1", "ACR2025|yes|ACR-RAPPEL|-2") == "b-1|rule:ACR2025|yes|ACR-RAPPEL|-2|r-1"
    assert dedup_key("b-1", "mbv_reminder", "r-1") != dedup_key("b-1", "mbv_reminder", "r-2")
    assert dedup_key("b-1", "gdpr", "r-1") == dedup_key("b-1", "gdpr", "r-2") == "b-1|system:gdpr"


def test_a_message_that_goes_is_rendered_and_addressed():
    outgoing = run()
    assert isinstance(outgoing, Outgoing)
    assert (outgoing.to, outgoing.display_name, outgoing.subject) == (
        "lea.dupont@example.org", "Léa DUPONT", "Rappel 14/01/2025")
    assert "commande n° BDC-1" in outgoing.text


@pytest.mark.parametrize("change, expected", [
    ({"cancelled": True}, ("cancelled", "appointment_cancelled")),
    ({"status": "not_confirmed"}, ("cancelled", "not_needed")),
    ({"status": "registered"}, ("cancelled", "not_needed")),
    ({"starts_at": NOW}, ("not_sent", "appointment_passed")),
])
def test_not04_the_appointment_decides_at_sending_time(change, expected):
    stop = run(appointment=APPOINTMENT | change)
    assert isinstance(stop, Stop) and (stop.status, stop.code) == expected


def test_not04_j7_reminder_not_needed_after_a_login_and_any_rule_stops_when_not_confirmed():
    reminder = message(purpose="mbv_reminder", kind="system", template="SYS-MBV-RELANCE")
    assert isinstance(run(reminder, template=SYSTEM_TEMPLATES["SYS-MBV-RELANCE"]), Outgoing)
    stop = run(reminder, template=SYSTEM_TEMPLATES["SYS-MBV-RELANCE"], logged_in=True)
    assert (stop.code, stop.reason) == ("not_needed", "Connecté(e) à Mon Bureau Virtuel : relance inutile.")
    presentation = message(rule="ACR2025|any|ACR-PRESENTATION|0", delay=0, template="ACR-PRESENTATION")
    assert run(presentation, appointment=APPOINTMENT | {"status": "not_confirmed"}).code == "not_confirmed"
    after = message(rule="ACR2025|yes|ACR-RAPPEL|1", delay=1)
    assert isinstance(run(after, appointment=APPOINTMENT | {"starts_at": NOW - timedelta(days=1)}), Outgoing)


def test_not01_inactive_or_unknown_template_sends_nothing():
    assert run(template=RAPPEL.model_copy(update={"active": False})).code == "template_inactive"
    assert run(template=None).code == "template_unknown"


def test_not05_gdpr_automatic_needs_email_and_civility_by_hand_only_the_email():
    gdpr = message(purpose="gdpr", kind="system", template="SYS-RGPD")
    template = SYSTEM_TEMPLATES["SYS-RGPD"]
    assert isinstance(run(gdpr, template=template, appointment=None), Outgoing)
    stop = run(gdpr, template=template, appointment=None, contact=CONTACT | {"civility": None})
    assert (stop.status, stop.code) == ("manual", "manual_required")
    by_hand = run(gdpr | {"kind": "manual"}, template=template, appointment=None, contact=CONTACT | {"civility": None})
    assert isinstance(by_hand, Outgoing) and by_hand.text.startswith("Bonjour Léa DUPONT,")
    assert run(gdpr | {"kind": "manual"}, template=template, appointment=None,
               contact=CONTACT | {"email": None}).code == "no_address"
