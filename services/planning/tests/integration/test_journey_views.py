"""What managers read about journeys, on the real PostgreSQL (and SQLite): deliverables (PRC-06), the
dashboard and its workbook (PRC-04), the alerts (PRC-05) and the timeline (PRC-09, PRC-08).

Journeys are made as in production: an imported registration joins an advisor's action and opens the
enrolment, presence is validated, the form is saved through the journeys handlers. Names come sealed
in ``BeneficiaryRegistered`` and are read with a key served over HTTP, as importer serves them.
PDFs are read back with pypdf, workbooks with openpyxl.
"""

import io
import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from contracts import Envelope
from contracts.billing import (CreditNoteIssued, CreditNoteIssuedItem, InvoiceDeposited, InvoiceDrafted,
                               InvoiceDraftedItem, InvoiceIssued, InvoiceIssuedItem, ChorusStatusItem)
from contracts.importer import (BeneficiaryPurged, BeneficiaryPurgedItem, BeneficiaryRegistered,
                                BeneficiaryRegisteredItem, RegistrationRecorded, RegistrationRecordedItem)
from contracts.notify import MessageNotSent, MessageNotSentItem, MessageSent, MessageSentItem
from prestaflow import referential_file
from servicekit.clock import PARIS, FixedClock
from servicekit.crypto import new_key, seal
from servicekit.errors import RefusedInput
from servicekit.pdf import PdfRenderer, Templates
from servicekit.pytest_plugin import service_databases

from cluster import SAMPLES
from planning.adapters import exports, orm
from planning.bootstrap import TEMPLATES, bootstrap
from planning.config import PlanningSettings
from planning.domain.agenda import ActionDraft
from planning.domain.referential import ReferentialPart
from planning.service_layer import agenda, journey_views, journeys
from planning.service_layer.commands import LoadReferential
from planning.service_layer.handlers import EVENT_HANDLERS, load_referential
from planning.service_layer.journey_views import DashboardQuery, Deliverables

CLOCK = FixedClock(datetime(2025, 1, 4, 9, 0, tzinfo=UTC))
KEYS: dict[str, str] = {}


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=PARIS)


def keys_served(request: httpx.Request) -> httpx.Response:
    """Importer's ``POST /importer/beneficiaries/keys``: the keys of the people asked for."""
    import json
    wanted = json.loads(request.content)
    return httpx.Response(200, json={b: KEYS[b] for b in wanted if b in KEYS})


async def deliver(runtime, event, producer: str = "importer") -> None:
    envelope = Envelope(event_id=str(uuid.uuid4()), type=event.event_type, version=event.event_version,
                        occurred_at=CLOCK.now(), producer=producer, key="bge", correlation_id="test",
                        payload=event.model_dump(mode="json"))
    await runtime.dispatcher.handle(envelope, EVENT_HANDLERS[type(event)])


@pytest.fixture(params=["postgresql", "sqlite"])
async def planning(request, tmp_path):
    CLOCK.at = datetime(2025, 1, 4, 9, 0, tzinfo=UTC)
    async with service_databases(request.param, tmp_path, bootstrap, PlanningSettings, CLOCK) as migrated:
        runtime = await migrated("planning")
        part = referential_file.split(referential_file.read(SAMPLES / "referentiel.yaml")).planning
        await load_referential(LoadReferential(ReferentialPart.model_validate(part)), runtime.uow_factory())
        runtime.key_source.transport = httpx.MockTransport(keys_served)
        yield runtime


def tools(runtime) -> Deliverables:
    return Deliverables(Templates(TEMPLATES), PdfRenderer(0), runtime.key_source)


async def person(runtime, beneficiary: str, last_name: str, first_name: str, ft_id: str = "1234567A") -> None:
    KEYS[beneficiary] = KEYS.get(beneficiary) or new_key()
    identity = {"last_name": last_name, "first_name": first_name, "ft_id": ft_id, "civility": "Mme"}
    await deliver(runtime, BeneficiaryRegistered(items=(BeneficiaryRegisteredItem(
        beneficiary_id=beneficiary, sealed=seal(KEYS[beneficiary], identity), accepts_email=True,
        accepts_sms=True),)))


async def journey(runtime, n: int, beneficiary: str, first: datetime, *, later: list[datetime] = (),
                  site: str = "ARM", advisor: str = "cdurand", resource: str = "ACR2025-L12") -> str:
    """An advisor's slot joined by an imported registration (which opens enrolment e-n), presence
    *oui* at it, and the later actions the person was added to."""
    slot = await agenda.plan_action(ActionDraft(advisor, first, first + timedelta(hours=1), ods="ACR2025", step=1,
                                                resource=resource, site=site), runtime.uow_factory())
    await deliver(runtime, RegistrationRecorded(items=(RegistrationRecordedItem(
        registration_id=f"r-{n}", beneficiary_id=beneficiary, enrolment_id=f"e-{n}", resource=resource,
        ods="ACR2025", site=site, starts_at=first, remote=False, order_number=f"BDC-{n:04d}", list_kind="J-10"),)))
    CLOCK.at = max(CLOCK.at, first + timedelta(hours=1))
    await agenda.validate_presence(slot.id, beneficiary, "oui", runtime.uow_factory())
    for moment in later:
        action = await agenda.plan_action(ActionDraft("kbenamar", moment, moment + timedelta(minutes=90), ods="ACR2025",
                                                      step=2, resource=resource, site=site), runtime.uow_factory())
        await agenda.add_participant(agenda.AddParticipant(action.id, beneficiary), runtime.uow_factory())
    return f"e-{n}"


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


async def complete_bilan(runtime, enrolment: str, interview: date, end: date) -> None:
    await journeys.save_form(enrolment, {"initial_interview_on": interview.isoformat(), "initial_outcome": "poursuivi",
                                         "outcome_on": end.isoformat(),
                                         "bilan_reason": "Création ou reprise d'entreprise opportune",
                                         "bilan_detail": "Projet de boulangerie validé"}, runtime.uow_factory())


async def test_prc06_deliverables_after_the_six_checks_kept_with_their_sha256(planning):
    """PRC-06: an incomplete journey gets the failed checks in French and no file; a complete one gets a
    bilan carrying the form and an émargement listing every action with a signature box; regenerating
    keeps the earlier files under their number and SHA-256."""
    await person(planning, "b-1", "MARTIN", "Léa")
    enrolment = await journey(planning, 1, "b-1", at(1, 14, 9), later=[at(1, 28, 14), at(2, 11, 10, 30)])
    CLOCK.at = at(2, 12, 9)
    await journeys.save_form(enrolment, {"initial_interview_on": "2025-01-14", "initial_outcome": "poursuivi"},
                             planning.uow_factory())
    with pytest.raises(RefusedInput) as refused:
        await journey_views.generate_deliverables(enrolment, planning.uow_factory(), tools(planning))
    assert refused.value.messages == [
        "La « Date bilan / abandon / sortie anticipée » doit être renseignée.",
        "Il faut un seul motif, au choix entre suite entretien bilan, motif de sortie anticipée et motif "
        "d'abandon (0 renseigné(s)).",
    ]
    assert await journey_views.list_deliverables(enrolment, planning.uow_factory()) == []

    CLOCK.at = at(4, 20, 9)
    await complete_bilan(planning, enrolment, date(2025, 1, 14), date(2025, 4, 15))
    first = await journey_views.generate_deliverables(enrolment, planning.uow_factory(), tools(planning))
    assert [(d["kind"], d["number"]) for d in first["documents"]] == [("bilan", 1), ("emargement", 1)]
    meta, bilan = await journey_views.deliverable_pdf(enrolment, "bilan", None, planning.uow_factory())
    import hashlib
    assert hashlib.sha256(bilan).hexdigest() == meta["sha256"] == first["documents"][0]["sha256"]
    text = text_of(bilan)
    for expected in ("Bilan de prestation", "MARTIN Léa", "1234567A", "BDC-0001", "14/01/2025", "15/04/2025",
                     "Création ou reprise d'entreprise opportune", "Projet de boulangerie validé",
                     "a poursuivi la prestation", "Entretien bilan", "Claire DURAND"):
        assert expected in text, expected
    _, sheet = await journey_views.deliverable_pdf(enrolment, "emargement", None, planning.uow_factory())
    lines = text_of(sheet)
    for expected in ("Feuille d'émargement", "14/01/2025", "09:00–10:00", "60 min", "Claire DURAND",
                     "28/01/2025", "14:00–15:30", "90 min", "Karim BENAMAR", "Armentières", "Présentiel",
                     "Présent", "Non renseignée", "Signature du bénéficiaire", "Signature du conseiller BGE"):
        assert expected in lines, expected
    assert lines.count("Armentières") >= 4  # the journey's site and each of the three actions

    CLOCK.at = at(4, 21, 9)
    again = await journey_views.generate_deliverables(enrolment, planning.uow_factory(), tools(planning))
    assert [(d["kind"], d["number"]) for d in again["documents"]] == [("bilan", 2), ("emargement", 2)]
    kept = await journey_views.list_deliverables(enrolment, planning.uow_factory())
    assert [(d["kind"], d["number"]) for d in kept] == [("bilan", 1), ("emargement", 1), ("bilan", 2),
                                                         ("emargement", 2)]
    # Each generation is announced (OPS-04's replay restores it), with the PDF's SHA-256, never its content.
    async with planning.uow_factory() as uow:
        outbox = planning.tables.outbox
        announced = [Envelope.model_validate(e) for e in (await uow.session.execute(
            select(outbox.c.envelope).where(outbox.c.type == "DeliverablesGenerated").order_by(outbox.c.id))).scalars()]
    assert [[(i["kind"], i["number"], i["sha256"]) for i in e.payload["items"]] for e in announced] == [
        [(d["kind"], d["number"], d["sha256"]) for d in made["documents"]] for made in (first, again)]
    assert all("content" not in i for e in announced for i in e.payload["items"])
    old, content = await journey_views.deliverable_pdf(enrolment, "bilan", 1, planning.uow_factory())
    assert content == bilan and old["sha256"] == meta["sha256"]
    assert "21/04/2025" in text_of((await journey_views.deliverable_pdf(
        enrolment, "bilan", None, planning.uow_factory()))[1])


async def test_prc06_checks_each_failure_its_message(planning):
    """PRC-06: start after the first action, initial interview on another day, no ressource/site… each
    its own message; two enrolments of one person have independent deliverables."""
    from planning.domain.journey_views import deliverable_problems
    from planning.domain.journeys import Enrolment, Form, JourneyAction

    action = JourneyAction("a", at(1, 14, 9), at(1, 14, 10), "oui")
    enrolment = Enrolment(id="e", beneficiary_id="b", ods="ACR2025", resource="", site="", opened_at=at(1, 4, 9),
                          start_on=date(2025, 1, 15), end_on=date(2025, 4, 15),
                          form=Form(initial_interview_on=date(2025, 1, 16), initial_outcome="poursuivi",
                                    outcome_on=date(2025, 4, 1), bilan_reason="x", abandon_reason="y"))
    assert deliverable_problems(enrolment, [action]) == [
        "Le parcours doit avoir une ressource et un lieu d'action.",
        "La date de début de l'ODS (15/01/2025) doit être antérieure ou égale à la date de la 1ère action "
        "(14/01/2025).",
        "Champs obligatoires du formulaire prestation spéciale non renseignés : « N° de commande ».",
        "La « Date entretien initial » (16/01/2025) doit correspondre à la date de la 1ère action du parcours "
        "(14/01/2025).",
        "Il faut un seul motif, au choix entre suite entretien bilan, motif de sortie anticipée et motif "
        "d'abandon (2 renseigné(s)).",
    ]
    await person(planning, "b-2", "DURAND", "Paul")
    one = await journey(planning, 2, "b-2", at(1, 14, 10))
    two = await journey(planning, 3, "b-2", at(5, 15, 11))
    CLOCK.at = at(5, 20, 9)
    await complete_bilan(planning, one, date(2025, 1, 14), date(2025, 4, 10))
    made = await journey_views.generate_deliverables(one, planning.uow_factory(), tools(planning))
    assert len(made["documents"]) == 2
    assert await journey_views.list_deliverables(two, planning.uow_factory()) == []
    with pytest.raises(RefusedInput):
        await journey_views.generate_deliverables(two, planning.uow_factory(), tools(planning))


async def test_prc06_markup_in_a_name_is_text_and_nothing_is_fetched(planning):
    """PRC-06: a name with markup is printed as text; a ``file:///etc/passwd`` image in user text
    fetches nothing (autoescape and the restricted URL fetcher)."""
    await person(planning, "b-4", "<b>DUPONT</b>", '<img src="file:///etc/passwd">Zoé')
    enrolment = await journey(planning, 4, "b-4", at(1, 14, 9))
    CLOCK.at = at(4, 20, 9)
    await complete_bilan(planning, enrolment, date(2025, 1, 14), date(2025, 4, 15))
    await journey_views.generate_deliverables(enrolment, planning.uow_factory(), tools(planning))
    for kind in ("bilan", "emargement"):
        _, pdf = await journey_views.deliverable_pdf(enrolment, kind, None, planning.uow_factory())
        text = text_of(pdf)
        assert '<b>DUPONT</b> <img src="file:///etc/passwd">Zoé' in text.replace("\n", " ")
        assert "root:" not in text
        reader = PdfReader(io.BytesIO(pdf))
        assert all(not page.images for page in reader.pages)


async def test_prc04_dashboard_rule_filters_invoice_status_and_workbook(planning):
    """PRC-04: only enrolments with an action planned and the form started; filter by ODS start period
    and ressource; the seed's columns; invoice status from billing's events (non facturé before any);
    the workbook has one header row, dates as dates and formula-like text as text."""
    await person(planning, "b-5", "=cmd|' /C calc'!A0", "Ana")
    await person(planning, "b-6", "BERNARD", "Jules")
    await person(planning, "b-7", "PETIT", "Noé")
    shown = await journey(planning, 5, "b-5", at(1, 14, 9), later=[at(4, 30, 9)])
    other = await journey(planning, 6, "b-6", at(2, 3, 9))
    hidden = await journey(planning, 7, "b-7", at(1, 15, 9))  # form never started
    CLOCK.at = at(2, 4, 9)
    for enrolment, day in ((shown, "2025-01-14"), (other, "2025-02-03")):
        await journeys.save_form(enrolment, {"initial_interview_on": day, "initial_outcome": "poursuivi"},
                                 planning.uow_factory())
    rows = await journey_views.dashboard(DashboardQuery(), planning.uow_factory(), planning.key_source)
    assert [r["id"] for r in rows] == [shown, other]
    assert hidden not in [r["id"] for r in rows]
    row = rows[0]
    assert {k: row[k] for k in ("last_name", "first_name", "ft_id", "advisor", "start_on", "end_on", "past_actions",
                                "future_actions", "site_name", "order_number", "situation", "invoice_status")} == {
        "last_name": "=cmd|' /C calc'!A0", "first_name": "Ana", "ft_id": "1234567A",
        "advisor": "Claire DURAND, Karim BENAMAR", "start_on": date(2025, 1, 14), "end_on": date(2025, 4, 14),
        "past_actions": 1, "future_actions": 1, "site_name": "Armentières", "order_number": "BDC-0005",
        "situation": "En cours", "invoice_status": "non facturé"}
    period = DashboardQuery(date(2025, 2, 1), date(2025, 2, 28))
    assert [r["id"] for r in await journey_views.dashboard(period, planning.uow_factory(), None)] == [other]
    assert await journey_views.dashboard(DashboardQuery(resource="AUTRE"), planning.uow_factory(), None) == []
    with pytest.raises(RefusedInput):
        await journey_views.dashboard(DashboardQuery(date(2025, 3, 1), date(2025, 2, 1)), planning.uow_factory(), None)

    await deliver(planning, InvoiceDrafted(items=(InvoiceDraftedItem(
        invoice_id="i-5", enrolment_id=shown, closing=1, beneficiary_id="b-5", legal_entity="BGE-HDF",
        amount="1200.00", percentage=100),)), "billing")
    statuses = {r["id"]: r["invoice_status"] for r in await journey_views.dashboard(
        DashboardQuery(), planning.uow_factory(), None)}
    assert statuses == {shown: "facture en préparation", other: "non facturé"}
    await deliver(planning, InvoiceIssued(items=(InvoiceIssuedItem(
        document_id="i-5", kind="invoice", number="14JUNF2500001", enrolment_id=shown, beneficiary_id="b-5",
        legal_entity="BGE-HDF", issued_on=date(2025, 2, 4), amount="1200.00"),)), "billing")
    rows = await journey_views.dashboard(DashboardQuery(), planning.uow_factory(), planning.key_source)
    assert (rows[0]["invoice_status"], rows[0]["invoice_number"]) == ("facturé", "14JUNF2500001")

    sheet = load_workbook(io.BytesIO(exports.dashboard_workbook(rows, "Tableau"))).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == tuple(header for _, header in exports.DASHBOARD_COLUMNS)
    assert len(values) == 3
    assert values[1][0] == "=cmd|' /C calc'!A0" and sheet["A2"].data_type == "s"
    assert values[1][5] == datetime(2025, 1, 14) and sheet["F2"].is_date
    assert values[1][14] == "facturé"
    assert (sheet.freeze_panes, sheet.auto_filter.ref) == ("A2", "A1:Q3")


async def test_prc05_alerts_day_83_day_90_and_closed_without_invoice(planning):
    """PRC-05: (a) started 83 days ago or more, a poursuivi, no end, nothing planned; (b) 90 days or more;
    (c) closed more than N days (setting, 15) without an issued invoice; each with its reason."""
    for n in (8, 9, 10, 11):
        await person(planning, f"b-{n}", f"NOM{n}", "Test")
    quiet = await journey(planning, 8, "b-8", at(1, 14, 9))
    busy = await journey(planning, 9, "b-9", at(1, 14, 10), later=[at(4, 20, 9)])
    closed = await journey(planning, 10, "b-10", at(1, 14, 11))
    invoiced = await journey(planning, 11, "b-11", at(1, 14, 14))
    CLOCK.at = at(1, 20, 9)
    for e, day in ((quiet, "2025-01-14"), (busy, "2025-01-14"), (closed, "2025-01-14"), (invoiced, "2025-01-14")):
        await journeys.save_form(e, {"initial_interview_on": day, "initial_outcome": "poursuivi"},
                                 planning.uow_factory())
    CLOCK.at = at(4, 7, 9)  # day 83
    found = await journey_views.alerts(planning.uow_factory(), 15)
    assert {(a["alert"], a["enrolment_id"]) for a in found} == {
        ("fin_sans_action", quiet), ("fin_sans_action", closed), ("fin_sans_action", invoiced)}
    assert found[0]["title"] == "Activ'Créa fin de prestation dans moins de 7 jours et pas d'action programmée"
    assert "il y a 83 jours" in found[0]["reason"]

    CLOCK.at = at(4, 16, 9)
    for e in (closed, invoiced):
        await complete_bilan(planning, e, date(2025, 1, 14), date(2025, 4, 16))
    await journeys.close_due(planning.uow_factory())
    await deliver(planning, InvoiceIssued(items=(InvoiceIssuedItem(
        document_id="i-11", kind="invoice", number="14JUNF2500002", enrolment_id=invoiced, beneficiary_id="b-11",
        legal_entity="BGE-HDF", issued_on=date(2025, 4, 17), amount="1200.00"),)), "billing")
    CLOCK.at = at(5, 2, 9)  # 16 days after closing, day 108
    found = await journey_views.alerts(planning.uow_factory(), 15)
    assert [(a["alert"], a["enrolment_id"]) for a in found] == [
        ("fin_sans_action", quiet), ("fin_sans_action", busy), ("fiche_non_completee", quiet),
        ("fiche_non_completee", busy), ("facture_non_emise", closed)]
    assert "clôturé le 16/04/2025 (il y a 16 jours, plus de 15) sans facture émise" in found[-1]["reason"]
    assert [a["enrolment_id"] for a in await journey_views.alerts(planning.uow_factory(), 20)
            if a["alert"] == "facture_non_emise"] == []


async def test_prc09_prc08_timeline_in_time_order_with_removal_reason(planning):
    """PRC-09: one beneficiary's history from planning's data and the events it consumes (notify's
    messages, billing's invoices), in time order; PRC-08: an action the person was removed from shows
    only as its removal, with the reason."""
    await person(planning, "b-12", "ROUX", "Inès")
    CLOCK.at = at(1, 10, 8)
    await deliver(planning, MessageSent(items=(MessageSentItem(
        message_id="m-1", beneficiary_id="b-12", registration_id="r-12", template="ACR-J10", channel="email",
        kind="rule", attempts=1),)), "notify")
    CLOCK.at = at(1, 10, 9)
    enrolment = await journey(planning, 12, "b-12", at(1, 14, 9), later=[at(1, 28, 14), at(2, 11, 10)])
    CLOCK.at = at(1, 20, 9)
    await deliver(planning, MessageNotSent(items=(MessageNotSentItem(
        message_id="m-2", beneficiary_id="b-12", registration_id=None, template="ACR-SMS", channel="sms",
        kind="rule", reason="no_consent"),)), "notify")
    async with planning.uow_factory() as uow:
        second = [a for a in (await uow.enrolments.actions(["b-12"]))[("b-12", "ACR2025")]
                  if a.on == date(2025, 1, 28)][0]
        third = [a for a in (await uow.enrolments.actions(["b-12"]))[("b-12", "ACR2025")]
                 if a.on == date(2025, 2, 11)][0]
    CLOCK.at = at(1, 21, 9)
    await agenda.remove_participant(second.action_id, "b-12", "Rendez-vous en doublon", planning.uow_factory())
    CLOCK.at = at(1, 22, 9)
    await agenda.change_action(agenda.ChangeAction(third.action_id, {"starts_at": at(2, 12, 10),
                                                                     "ends_at": at(2, 12, 11, 30)}),
                               planning.uow_factory())
    CLOCK.at = at(1, 23, 9)
    await agenda.cancel_action(third.action_id, "Conseiller absent", planning.uow_factory())
    CLOCK.at = at(4, 20, 9)
    await complete_bilan(planning, enrolment, date(2025, 1, 14), date(2025, 4, 15))
    await journeys.close_due(planning.uow_factory())
    await journey_views.generate_deliverables(enrolment, planning.uow_factory(), tools(planning))
    CLOCK.at = at(4, 22, 9)
    await deliver(planning, InvoiceIssued(items=(InvoiceIssuedItem(
        document_id="i-12", kind="invoice", number="14JUNF2500003", enrolment_id=enrolment, beneficiary_id="b-12",
        legal_entity="BGE-HDF", issued_on=date(2025, 4, 22), amount="1200.00"),)), "billing")
    CLOCK.at = at(4, 23, 9)
    await deliver(planning, InvoiceDeposited(items=(ChorusStatusItem(
        document_id="i-12", number="14JUNF2500003", enrolment_id=enrolment, at=at(4, 23, 8), flow_id="F-1"),)),
        "billing")

    lines = await journey_views.timeline("b-12", planning.uow_factory())
    kinds = [line["kind"] for line in lines]
    assert kinds == ["message_envoye", "parcours_opened", "action_planifiee", "presence", "message_non_envoye",
                     "action_retiree", "action_modifiee", "action_annulee", "parcours_form", "parcours_closed", "livrable", "livrable",
                     "facture_issued", "facture_deposited"], kinds
    assert [line["at"] for line in lines] == sorted(line["at"] for line in lines)
    removal = lines[kinds.index("action_retiree")]
    assert removal["reason"] == "Rendez-vous en doublon" and "28/01/2025 14:00" in removal["text"]
    assert not any(line["kind"] == "action_planifiee" and "28/01/2025" in line["text"] for line in lines)
    assert "non envoyé par SMS (no_consent)" in lines[kinds.index("message_non_envoye")]["text"]
    assert "début 11/02/2025 10:00 → 12/02/2025 10:00" in lines[kinds.index("action_modifiee")]["text"]
    cancelled = lines[kinds.index("action_annulee")]
    assert cancelled["reason"] == "Conseiller absent" and cancelled["text"].endswith(": Conseiller absent")
    assert "n° 14JUNF2500003" in lines[kinds.index("facture_issued")]["text"]
    with pytest.raises(RefusedInput):
        await journey_views.timeline("inconnu", planning.uow_factory())

    # A purged person: the sealed identity, the PDFs (they carry the name) and the messages go.
    await deliver(planning, BeneficiaryPurged(items=(BeneficiaryPurgedItem(beneficiary_id="b-12"),)))
    assert await journey_views.list_deliverables(enrolment, planning.uow_factory()) == []
    async with planning.uow_factory() as uow:
        assert await uow.views.sealed(["b-12"]) == {} and await uow.views.messages(["b-12"]) == []


async def test_prc06_two_generations_at_once_get_a_number_each(planning):
    """PRC-06: regenerating keeps every file; two requests at the same moment never share a number."""
    import asyncio

    await person(planning, "b-13", "LEROY", "Max")
    enrolment = await journey(planning, 13, "b-13", at(1, 14, 9))
    CLOCK.at = at(4, 20, 9)
    await complete_bilan(planning, enrolment, date(2025, 1, 14), date(2025, 4, 15))
    made = await asyncio.gather(*(journey_views.generate_deliverables(enrolment, planning.uow_factory(),
                                                                      tools(planning)) for _ in range(3)),
                                return_exceptions=True)
    kept = await journey_views.list_deliverables(enrolment, planning.uow_factory())
    numbers = sorted(d["number"] for d in kept if d["kind"] == "bilan")
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) == sum(
        not isinstance(m, Exception) for m in made) >= 1
