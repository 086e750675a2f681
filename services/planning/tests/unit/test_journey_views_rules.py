"""PRC-05's thresholds and PRC-04's rule for who appears, on the pure rules (boundaries day by day)."""

from datetime import date, datetime, timedelta

from servicekit.clock import PARIS

from planning.domain.journey_views import alerts_of, appears_on_dashboard, invoice_statuses
from planning.domain.journeys import Enrolment, Form, JourneyAction

START = date(2025, 1, 14)


def enrolment(**form) -> Enrolment:
    return Enrolment(id="e", beneficiary_id="b", ods="ACR2025", resource="R", site="ARM",
                     opened_at=datetime(2025, 1, 4, tzinfo=PARIS), start_on=START, end_on=START + timedelta(days=90),
                     form=Form(initial_interview_on=START, initial_outcome="poursuivi", **form), form_started=True)


def on_day(n: int) -> datetime:
    return datetime(2025, 1, 14, 12, tzinfo=PARIS) + timedelta(days=n)


def codes(e, actions, now, invoices=None, days=15) -> list[str]:
    return [a.code for a in alerts_of([(e, actions)], now, invoices or {}, days)]


def test_prc05_day_83_and_day_90_boundaries():
    first = JourneyAction("a1", on_day(0), on_day(0) + timedelta(hours=1), "oui")
    assert codes(enrolment(), [first], on_day(82)) == []
    assert codes(enrolment(), [first], on_day(83)) == ["fin_sans_action"]
    later = JourneyAction("a2", on_day(86), on_day(86) + timedelta(hours=1), None)
    assert codes(enrolment(), [first, later], on_day(83)) == []  # an action is planned in the coming days
    assert codes(enrolment(), [first, later], on_day(89)) == ["fin_sans_action"]
    assert codes(enrolment(), [first, later], on_day(90)) == ["fin_sans_action", "fiche_non_completee"]
    assert codes(enrolment(outcome_on=on_day(80).date(), abandon_reason="Injoignable"), [first], on_day(95)) == []
    reoriented = enrolment()
    reoriented.form.initial_outcome = "reoriente"
    assert codes(reoriented, [first], on_day(95)) == []


def test_prc05_closed_without_issued_invoice_after_n_days():
    e = enrolment(outcome_on=START + timedelta(days=85), bilan_reason="x")
    e.status, e.closed_on = "closed", START + timedelta(days=91)
    assert codes(e, [], on_day(91 + 15)) == []
    assert codes(e, [], on_day(91 + 16)) == ["facture_non_emise"]
    assert codes(e, [], on_day(91 + 16), days=20) == []
    drafted = invoice_statuses([{"enrolment_id": "e", "status": "drafted", "number": None, "at": on_day(92)}])
    assert codes(e, [], on_day(91 + 16), drafted) == ["facture_non_emise"]
    issued = invoice_statuses([{"enrolment_id": "e", "status": "drafted", "number": None, "at": on_day(92)},
                               {"enrolment_id": "e", "status": "issued", "number": "F1", "at": on_day(93)}])
    assert issued["e"]["number"] == "F1" and codes(e, [], on_day(91 + 16), issued) == []


def test_prc04_only_with_an_action_and_a_started_form():
    action = JourneyAction("a1", on_day(0), on_day(0) + timedelta(hours=1), None)
    assert appears_on_dashboard(enrolment(), [action])
    assert not appears_on_dashboard(enrolment(), [])
    unstarted = enrolment()
    unstarted.form_started = False
    assert not appears_on_dashboard(unstarted, [action])
