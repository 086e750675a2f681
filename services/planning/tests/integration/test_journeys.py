"""Journeys (PRC-01, PRC-02, PRC-03, PRC-07, PRC-10, PRC-11) through planning's handlers, on SQLite and the
real PostgreSQL: an imported registration opens the enrolment, the form is saved in parts and checked,
the enrolment closes once (on save or in the daily run) and reopens with a reason."""

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from contracts import Envelope
from contracts.base import ListEvent
from contracts.importer import (ParticipantConfirmed, ParticipantConfirmedItem, RegistrationRecorded,
                                RegistrationRecordedItem)
from prestaflow import referential_file
from servicekit.clock import PARIS, FixedClock
from servicekit.errors import Conflict, NotFound, RefusedInput
from servicekit.pytest_plugin import service_databases

from cluster import SAMPLES
from planning.adapters import orm
from planning.bootstrap import bootstrap
from planning.config import PlanningSettings
from planning.domain.referential import ReferentialPart
from planning.service_layer import agenda, journeys
from planning.service_layer.commands import LoadReferential
from planning.service_layer.handlers import EVENT_HANDLERS, load_referential


def paris(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=PARIS)


JAN_14 = date(2025, 1, 14)


@pytest.fixture(params=["sqlite", "postgresql"])
async def planning(request, tmp_path):
    """A migrated planning with the sample referential, its clock on 04/01/2025 (movable)."""
    clock = FixedClock(datetime(2025, 1, 4, 9, 0, tzinfo=UTC))
    async with service_databases(request.param, tmp_path, bootstrap, PlanningSettings, clock) as migrated:
        runtime = await migrated("journeys")
        part = referential_file.split(referential_file.read(SAMPLES / "referentiel.yaml")).planning
        await load_referential(LoadReferential(ReferentialPart.model_validate(part)), runtime.uow_factory())
        runtime.test_clock = clock
        yield runtime


async def deliver(runtime, event: ListEvent) -> str:
    envelope = Envelope(event_id=str(uuid.uuid4()), type=event.event_type, version=event.event_version,
                        occurred_at=runtime.test_clock.now(), producer="importer", key="bge",
                        payload=event.model_dump(mode="json"))
    return await runtime.dispatcher.handle(envelope, EVENT_HANDLERS[type(event)])


def registration(n: int, starts_at: datetime, order_number: str | None = None) -> RegistrationRecordedItem:
    return RegistrationRecordedItem(
        registration_id=f"r-{n}", beneficiary_id=f"b-{n}", enrolment_id=f"e-{n}", resource="ACR2025-L12",
        ods="ACR2025", site="ARM", starts_at=starts_at, remote=False, order_number=order_number, list_kind="J-10",
        prescriber="MARTIN Paul", agency_code="59123")


async def emitted(runtime, after: int = 0) -> list[dict]:
    outbox = orm.kit.outbox
    async with runtime.database.sessions() as session:
        return list((await session.execute(select(outbox.c.envelope).where(outbox.c.id > after)
                                           .order_by(outbox.c.id))).scalars())


async def position(runtime) -> int:
    async with runtime.database.sessions() as session:
        return (await session.execute(select(orm.kit.outbox.c.id).order_by(orm.kit.outbox.c.id.desc()))).scalar() or 0


def items(envelopes: list[dict], event_type: str) -> list[dict]:
    return [i for e in envelopes if e["type"] == event_type for i in e["payload"]["items"]]


async def present(runtime, n: int) -> str:
    """Beneficiary n attended the imported appointment of registration n (presence oui)."""
    async with runtime.uow_factory() as uow:
        actions = await uow.enrolments.actions([f"b-{n}"])
    action_id = actions[(f"b-{n}", "ACR2025")][0].action_id
    await agenda.validate_presence(action_id, f"b-{n}", "oui", runtime.uow_factory())
    return action_id


async def opened(runtime, n: int, starts_at: datetime, order_number: str | None = None) -> None:
    assert await deliver(runtime, RegistrationRecorded(items=(registration(n, starts_at, order_number),))) == "processed"


def at(runtime, day: date) -> None:
    runtime.test_clock.at = paris(day, 8)


async def show(runtime, n: int) -> dict:
    return await journeys.show_journey(f"e-{n}", runtime.uow_factory())


async def test_prc01_prc11_first_registration_opens_the_enrolment_with_default_dates(planning):
    """PRC-01, PRC-11: opened once, from the first action's day to 90 days later (the ODS's default
    duration), site and ressource from the import, order part prefilled (PRC-02a); EnrolmentOpened."""
    after = await position(planning)
    await opened(planning, 1, paris(JAN_14))
    await opened(planning, 1, paris(JAN_14))  # the same registration again: nothing new
    journey = await show(planning, 1)
    assert (journey["start_on"], journey["end_on"], journey["theoretical_end_on"]) == (
        "2025-01-14", "2025-04-14", "2025-04-14")
    assert (journey["site"], journey["resource"], journey["status"], journey["situation"]) == (
        "ARM", "ACR2025-L12", "open", "En cours")
    assert (journey["form"]["prescriber"], journey["form"]["agency_code"]) == ("MARTIN Paul", "59123")
    assert [a["starts_at"][:16] for a in journey["actions"]] == ["2025-01-14T09:00"]  # Paris time
    [item] = items(await emitted(planning, after), "EnrolmentOpened")
    assert (item["enrolment_id"], item["start_on"], item["end_on"], item["site"], item["version"]) == (
        "e-1", "2025-01-14", "2025-04-14", "ARM", 1)

    # The J-2 list's order number reaches the form (PRC-02a).
    await deliver(planning, ParticipantConfirmed(items=(ParticipantConfirmedItem(
        registration_id="r-1", beneficiary_id="b-1", enrolment_id="e-1", order_number="BDC-2025-000101",
        starts_at=paris(JAN_14)),)))
    assert (await show(planning, 1))["form"]["order_number"] == "BDC-2025-000101"
    listed = await journeys.list_journeys(journeys.JourneyQuery(date(2025, 1, 1), date(2025, 1, 31)),
                                          planning.uow_factory())
    assert [j["id"] for j in listed] == ["e-1"]
    assert await journeys.list_journeys(journeys.JourneyQuery(date(2025, 2, 1)), planning.uow_factory()) == []

    # Prest@ppli moves the appointment: the dates nobody typed follow it; no second EnrolmentOpened.
    moved = registration(1, paris(date(2025, 1, 21))).model_copy(update={"moved_from": paris(JAN_14)})
    await deliver(planning, RegistrationRecorded(items=(moved,)))
    assert ((await show(planning, 1))["start_on"], (await show(planning, 1))["end_on"]) == ("2025-01-21", "2025-04-21")
    assert len(items(await emitted(planning, after), "EnrolmentOpened")) == 1


async def test_prc01_dates_are_editable_within_the_rules(planning):
    """PRC-01: start on or before the first action, end on or after the last, start before end; a refusal
    names the date and changes nothing."""
    await opened(planning, 1, paris(JAN_14))
    uow = planning.uow_factory
    refusals = {
        ("2025-01-15", None): "« Date de début » : le 15/01/2025 est après la première action du parcours (14/01/2025)",
        (None, "2025-01-13"): "« Date de fin » : le 13/01/2025 est avant la dernière action du parcours (14/01/2025)",
        ("lundi", None): "« Date de début » : « lundi » n'est pas une date",
        ("", None): "« Date de début » : obligatoire",
    }
    for (start, end), expected in refusals.items():
        with pytest.raises(RefusedInput) as refused:
            await journeys.change_dates("e-1", start, end, uow())
        assert any(expected in m for m in refused.value.messages), refused.value.messages
    assert ((await show(planning, 1))["start_on"], (await show(planning, 1))["end_on"]) == ("2025-01-14", "2025-04-14")
    assert await journeys.change_dates("e-1", "10/01/2025", "2025-04-30", uow()) == {"changed": True, "closed": False}
    journey = await show(planning, 1)
    assert (journey["start_on"], journey["end_on"], journey["start_edited"]) == ("2025-01-10", "2025-04-30", True)
    with pytest.raises(NotFound, match="Parcours « e-404 » introuvable"):
        await journeys.change_dates("e-404", "2025-01-10", None, uow())


async def test_prc02_partial_saves_emit_journey_form_changed_and_prc03_situation_is_derived(planning):
    """PRC-02: the form is saved in parts, each save a JourneyFormChanged with the changed fields;
    PRC-03: the situation follows the form, it is never typed."""
    await opened(planning, 1, paris(JAN_14))
    at(planning, date(2025, 1, 15))
    await present(planning, 1)
    uow = planning.uow_factory
    after = await position(planning)
    first = await journeys.save_form("e-1", {"initial_interview_on": "14/01/2025"}, uow())
    assert (first["changed_fields"], first["situation"]) == (["initial_interview_on"], "En cours")
    second = await journeys.save_form("e-1", {"initial_outcome": "poursuivi", "prestappli_initial_on": "2025-01-15"},
                                      uow())
    assert second["changed_fields"] == ["prestappli_initial_on", "initial_outcome"]
    assert (await journeys.save_form("e-1", {"initial_outcome": "poursuivi"}, uow()))["changed"] is False
    saved = items(await emitted(planning, after), "JourneyFormChanged")
    assert [(i["changed_fields"], i["initial_interview_on"], i["version"]) for i in saved] == [
        (["initial_interview_on"], "2025-01-14", 2), (["prestappli_initial_on", "initial_outcome"], "2025-01-14", 3)]

    at(planning, date(2025, 3, 1))
    situations = []
    for changes in ({"outcome_on": "2025-02-28", "abandon_reason": "injoignable"},
                    {"abandon_reason": None, "early_exit_reason": "Reprise d'emploi"},
                    {"early_exit_reason": None, "bilan_reason": "Création ou reprise d'entreprise opportune",
                     "bilan_detail": "Projet viable, financement obtenu"}):
        situations.append((await journeys.save_form("e-1", changes, uow()))["situation"])
    assert situations == ["Abandon", "Sortie anticipée", "Entretien bilan"]
    form = (await show(planning, 1))["form"]
    assert (form["abandon_reason"], form["bilan_reason"]) == (None, "Création ou reprise d'entreprise opportune")
    reoriented = await journeys.save_form("e-1", {"bilan_reason": None, "bilan_detail": None, "outcome_on": None,
                                                  "initial_outcome": "reoriente"}, uow())
    assert reoriented["situation"] == "Terminé (orienté vers France Travail)"


BAD_FORMS = [
    ({"initial_interview_on": 12}, "« Date entretien initial » : « 12 » n'est pas une date"),
    ({"initial_interview_on": "2025-01-13"}, "« Date entretien initial » : le 13/01/2025 n'est pas la date de la "
                                            "première action avec présence « oui » (14/01/2025)"),
    ({"initial_outcome": "peut-être"}, "« Suite entretien initial » : « peut-être » n'est pas une valeur possible"),
    ({"initial_outcome": True}, "« Suite entretien initial » : « True » n'est pas une valeur possible"),
    ({"outcome_on": "2025-01-10"}, "« Date bilan / abandon / sortie anticipée » : le 10/01/2025 est avant la "
                                   "« Date entretien initial » (14/01/2025)"),
    ({"outcome_on": "2025-12-01"}, "« Date bilan / abandon / sortie anticipée » : le 01/12/2025 est dans le futur"),
    ({"abandon_reason": "Injoignable", "early_exit_reason": "Reprise d'emploi"}, "Un seul motif de fin est possible"),
    ({"abandon_reason": "Parce que"}, "« Motif d'abandon » : « Parce que » n'est pas dans la liste de l'ODS ACR2025"),
    ({"bilan_reason": 3}, "« Suite entretien bilan » : un texte est attendu"),
    ({"bilan_reason": "Création ou reprise d'entreprise opportune", "bilan_detail": "=cmd|' /C calc'!A0"},
     "« Motif détaillé du bilan » : « =cmd|' /C calc'!A0 » refusé"),
    ({"prescriber": "<script>alert(1)</script>"}, "« Prescripteur (conseiller France Travail) » : "
                                                  "« <script>alert(1)</script> » refusé"),
    ({"motif": "x"}, "Champ « motif » inconnu"),
    ({"initial_outcome": "reoriente", "abandon_reason": "Injoignable"},
     "réorienté vers France Travail après l'entretien initial, le parcours n'a pas de « Motif d'abandon »"),
]


async def test_prc02_bad_input_is_refused_field_by_field_and_changes_nothing(planning):
    """PRC-02: values of the wrong kind, dates in the wrong order, two exit reasons, a reason outside the
    ODS's list, formula or markup text, an unknown field or id: each refused with a French message
    naming the field; the form and the event log stay as they were."""
    await opened(planning, 1, paris(JAN_14))
    at(planning, date(2025, 2, 1))
    await present(planning, 1)
    uow = planning.uow_factory
    await journeys.save_form("e-1", {"initial_interview_on": "2025-01-14", "initial_outcome": "poursuivi"}, uow())
    before, after = await show(planning, 1), await position(planning)
    for changes, expected in BAD_FORMS:
        with pytest.raises(RefusedInput) as refused:
            await journeys.save_form("e-1", changes, uow())
        assert any(expected in m for m in refused.value.messages), (changes, refused.value.messages)
    with pytest.raises(NotFound, match="Parcours « nope » introuvable"):
        await journeys.save_form("nope", {"initial_outcome": "poursuivi"}, uow())
    assert await show(planning, 1) == before
    assert await emitted(planning, after) == []


async def test_prc02_the_initial_interview_needs_a_presence(planning):
    """PRC-02: *date entretien initial* is the first action with presence oui: none yet, refused."""
    await opened(planning, 1, paris(JAN_14))
    with pytest.raises(RefusedInput, match="aucune action du parcours n'a de présence « oui »"):
        await journeys.save_form("e-1", {"initial_interview_on": "2025-01-14"}, planning.uow_factory())


async def _ended_by_abandon(planning, n: int = 1) -> None:
    await opened(planning, n, paris(JAN_14), order_number=f"BDC-2025-00010{n}")
    at(planning, date(2025, 2, 11))
    await present(planning, n)
    await journeys.save_form(f"e-{n}", {"initial_interview_on": "2025-01-14", "initial_outcome": "poursuivi",
                                        "outcome_on": "2025-02-10", "abandon_reason": "Injoignable"},
                             planning.uow_factory())


async def test_prc07_closes_once_in_the_daily_run_after_the_end_date_with_what_billing_needs(planning):
    """PRC-07: not before the end date has passed; then the daily run closes it once, with ODSClosed
    carrying what billing needs; running again, or twice at once, closes nothing more."""
    await _ended_by_abandon(planning)
    await opened(planning, 2, paris(JAN_14))  # ended neither: stays open
    uow = planning.uow_factory
    assert await journeys.close_due(uow()) == {"closed": [], "open_past_end": 0}
    at(planning, date(2025, 4, 14))  # the end day itself: not passed yet
    assert (await journeys.close_due(uow()))["closed"] == []
    at(planning, date(2025, 4, 15))
    after = await position(planning)
    results = await asyncio.gather(journeys.close_due(uow()), journeys.close_due(uow()))
    assert sorted(r["closed"] for r in results) == [[], ["e-1"]]
    assert (await journeys.close_due(uow()))["closed"] == []
    [closed] = items(await emitted(planning, after), "ODSClosed")
    assert {k: v for k, v in closed.items() if k != "version"} == {
        "enrolment_id": "e-1", "closing": 1, "beneficiary_id": "b-1", "ods": "ACR2025", "resource": "ACR2025-L12",
        "site": "ARM", "ods_start": "2025-01-14", "ods_end": "2025-04-14", "order_number": "BDC-2025-000101",
        "outcome": "abandon", "outcome_date": "2025-02-10", "closed_on": "2025-04-15"}
    journey = await show(planning, 1)
    assert (journey["status"], journey["closed_on"], journey["outcome"]) == ("closed", "2025-04-15", "abandon")
    assert (await show(planning, 2))["status"] == "open"


async def test_prc07_a_save_closes_a_due_journey_and_prc10_closed_is_read_only_until_reopened(planning):
    """PRC-07: a save that completes a journey past its end closes it at once. PRC-10: closed, it refuses
    every change; réouverture needs a reason (ODSReopened), and closing again is a new ODSClosed."""
    await opened(planning, 1, paris(JAN_14), order_number="BDC-2025-000101")
    at(planning, date(2025, 1, 20))
    await present(planning, 1)
    uow = planning.uow_factory
    await journeys.change_dates("e-1", None, "2025-01-31", uow())
    at(planning, date(2025, 2, 3))
    after = await position(planning)
    saved = await journeys.save_form("e-1", {"initial_interview_on": "14/01/2025", "initial_outcome": "poursuivi",
                                             "outcome_on": "2025-01-31", "early_exit_reason": "Reprise d'emploi"},
                                     uow())
    assert saved["closed"] is True
    assert [e["type"] for e in await emitted(planning, after)] == ["JourneyFormChanged", "ODSClosed"]

    with pytest.raises(Conflict, match="Parcours clôturé le 03/02/2025 : il est en lecture seule"):
        await journeys.save_form("e-1", {"early_exit_reason": "Déménagement"}, uow())
    with pytest.raises(Conflict, match="lecture seule"):
        await journeys.change_dates("e-1", None, "2025-02-01", uow())
    for reason, expected in ((None, "« Motif de réouverture » : obligatoire"),
                             ("  ", "« Motif de réouverture » : obligatoire"),
                             ("<b>erreur</b>", "« Motif de réouverture » : « <b>erreur</b> » refusé")):
        with pytest.raises(RefusedInput, match=expected):
            await journeys.reopen_journey("e-1", reason, uow())
    assert (await show(planning, 1))["status"] == "closed"

    after = await position(planning)
    assert await journeys.reopen_journey("e-1", "Motif de sortie erroné", uow()) == {"reopened": True, "closing": 1}
    with pytest.raises(Conflict, match="non clôturé"):
        await journeys.reopen_journey("e-1", "encore", uow())
    # Still past its end with an ending: the closing run leaves it to the correction.
    assert (await journeys.close_due(uow()))["closed"] == []
    assert (await show(planning, 1))["awaiting_correction"] is True
    again = await journeys.save_form("e-1", {"early_exit_reason": "Déménagement"}, uow())
    assert again["closed"] is True
    envelopes = await emitted(planning, after)
    assert [e["type"] for e in envelopes] == ["ODSReopened", "JourneyFormChanged", "ODSClosed"]
    [reopened] = items(envelopes, "ODSReopened")
    assert (reopened["closing"], reopened["reason"], reopened["reopened_on"]) == (1, "Motif de sortie erroné",
                                                                                  "2025-02-03")
    [closed] = items(envelopes, "ODSClosed")
    assert (closed["closing"], closed["outcome"]) == (2, "sortie_anticipee")
    # Its history, for the timeline (PRC-09): each change, the closings and the réouverture with its reason.
    history = (await show(planning, 1))["history"]
    assert [h["kind"] for h in history] == ["opened", "dates", "form", "closed", "reopened", "form", "closed"]
    assert history[4]["detail"] == {"closing": 1, "reason": "Motif de sortie erroné"}


async def test_prc07_reoriented_after_the_initial_interview_closes_as_reoriente(planning):
    """PRC-07: réorienté vers France Travail ends the journey on the initial interview's day."""
    await opened(planning, 1, paris(JAN_14))
    at(planning, date(2025, 1, 15))
    await present(planning, 1)
    uow = planning.uow_factory
    await journeys.save_form("e-1", {"initial_interview_on": "2025-01-14", "initial_outcome": "reoriente"}, uow())
    after = await position(planning)
    # The end brought to the interview's day, now past: the change closes it (PRC-07, on save).
    assert await journeys.change_dates("e-1", None, "2025-01-14", uow()) == {"changed": True, "closed": True}
    assert (await journeys.close_due(uow()))["closed"] == []
    [closed] = items(await emitted(planning, after), "ODSClosed")
    assert (closed["outcome"], closed["outcome_date"], closed["ods_end"]) == ("reoriente", "2025-01-14", "2025-01-14")


async def test_prc11_the_ods_duration_is_a_setting(planning):
    """PRC-11: an ODS with a 60-day duration gives 60-day journeys; the sample referential (no duration)
    gives 90."""
    async with planning.uow_factory() as uow:
        current = await uow.referential.get()
    ods = current.ods["ACR2025"].model_dump() | {"duration_days": 60}
    await load_referential(LoadReferential(ReferentialPart.model_validate({"ods": [ods]})), planning.uow_factory())
    await opened(planning, 1, paris(JAN_14))
    assert (await show(planning, 1))["end_on"] == (JAN_14 + timedelta(days=60)).isoformat()


async def test_prc08_a_participant_removed_from_an_action_shows_in_the_journey_with_the_reason(planning):
    """PRC-08: the journey no longer counts the action the beneficiary left; it lists it apart, with
    the reason and when, and the enrolment's dates rules look at the actions it still has."""
    await opened(planning, 1, paris(JAN_14))
    draft = agenda.ActionDraft("cdurand", paris(date(2025, 1, 21)), paris(date(2025, 1, 21), 10), ods="ACR2025",
                               step=2, resource="ACR2025-L12", site="ARM")
    follow_up = (await agenda.plan_action(draft, planning.uow_factory())).id
    await agenda.add_participant(agenda.AddParticipant(follow_up, "b-1"), planning.uow_factory())
    assert [a["action_id"] for a in (await show(planning, 1))["actions"]][1:] == [follow_up]
    with pytest.raises(RefusedInput, match="« Date de fin » : le 20/01/2025 est avant la dernière action"):
        await journeys.change_dates("e-1", None, "2025-01-20", planning.uow_factory())

    at(planning, date(2025, 1, 16))
    await agenda.remove_participant(follow_up, "b-1", "Rendez-vous annulé par le bénéficiaire",
                                    planning.uow_factory())
    journey = await show(planning, 1)
    assert [a["action_id"] for a in journey["actions"]] != [] and follow_up not in [
        a["action_id"] for a in journey["actions"]]
    assert journey["removed"] == [{"action_id": follow_up, "starts_at": "2025-01-21T09:00:00+01:00",
                                   "removed_at": "2025-01-16T08:00:00+01:00",
                                   "reason": "Rendez-vous annulé par le bénéficiaire"}]
    assert (await journeys.change_dates("e-1", None, "2025-01-20", planning.uow_factory()))["changed"] is True


async def test_prc07_the_service_runs_the_closing_on_its_own(planning):
    """PRC-07: planning's periodic job is the daily closing run (hourly: it closes each journey once)."""
    await _ended_by_abandon(planning)
    [(seconds, job)] = planning.periodic
    assert seconds == 3600
    at(planning, date(2025, 4, 15))
    assert (await job())["closed"] == ["e-1"]
    assert (await job())["closed"] == []
