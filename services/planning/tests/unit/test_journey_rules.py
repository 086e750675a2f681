"""Journey rules without I/O: which actions belong to which enrolment (PRC-11: one per beneficiary x ODS x
order), the derived situation (PRC-03), and when an enrolment is due to close (PRC-07)."""

from datetime import UTC, date, datetime

import pytest

from planning.domain import journeys as rules
from planning.domain.journeys import Enrolment, Form, JourneyAction


def enrolment(id_: str, start: date, end: date | None = None, **form) -> Enrolment:
    return Enrolment(id=id_, beneficiary_id="b-1", ods="ACR2025", resource="ACR2025-L12", site="ARM",
                     opened_at=datetime(2025, 1, 1, tzinfo=UTC), start_on=start, end_on=end or start,
                     form=Form(**form))


def action(id_: str, day: date) -> JourneyAction:
    moment = datetime(day.year, day.month, day.day, 9, tzinfo=UTC)
    return JourneyAction(action_id=id_, starts_at=moment, ends_at=moment, presence=None)


def test_prc11_two_orders_of_one_beneficiary_share_the_actions_by_start():
    """PRC-11: a second order opens a second enrolment of the same ODS; each has the actions from its
    start until the next one's start."""
    first, second = enrolment("e-1", date(2025, 1, 14), date(2025, 4, 14)), enrolment("e-2", date(2025, 6, 2))
    actions = [action("a-1", date(2025, 1, 14)), action("a-2", date(2025, 2, 3)), action("a-3", date(2025, 6, 2)),
               action("a-4", date(2025, 7, 1))]
    assert [a.action_id for a in rules.actions_of(first, [first, second], actions)] == ["a-1", "a-2"]
    assert [a.action_id for a in rules.actions_of(second, [first, second], actions)] == ["a-3", "a-4"]
    # Alone, the enrolment keeps even an action moved before its start: the date check then says so.
    early = [action("a-0", date(2025, 1, 10))] + actions[:2]
    assert [a.action_id for a in rules.actions_of(first, [first], early)] == ["a-0", "a-1", "a-2"]
    assert rules.check_dates(first, rules.actions_of(first, [first], early), start="2025-01-14")[2] == [
        "« Date de début » : le 14/01/2025 est après la première action du parcours (10/01/2025) ; attendu : "
        "ce jour ou avant."]


GOES_ON = {"initial_interview_on": date(2025, 1, 14), "initial_outcome": "poursuivi"}


@pytest.mark.parametrize(("form", "situation", "ending"), [
    ({}, "En cours", None),
    ({"initial_interview_on": date(2025, 1, 14), "initial_outcome": "poursuivi"}, "En cours", None),
    ({"initial_interview_on": date(2025, 1, 14), "initial_outcome": "reoriente"},
     "Terminé (orienté vers France Travail)", ("reoriente", date(2025, 1, 14))),
    (GOES_ON | {"outcome_on": date(2025, 3, 1), "abandon_reason": "Injoignable"}, "Abandon",
     ("abandon", date(2025, 3, 1))),
    (GOES_ON | {"outcome_on": date(2025, 3, 1), "early_exit_reason": "Reprise d'emploi"}, "Sortie anticipée",
     ("sortie_anticipee", date(2025, 3, 1))),
    (GOES_ON | {"outcome_on": date(2025, 4, 9), "bilan_reason": "Création ou reprise d'entreprise opportune"},
     "Entretien bilan", ("bilan", date(2025, 4, 9))),
    (GOES_ON | {"bilan_reason": "Création ou reprise d'entreprise opportune"}, "Entretien bilan", None),  # no date
    # The initial interview's part missing: the situation shows the exit, but it cannot close yet.
    ({"outcome_on": date(2025, 3, 1), "abandon_reason": "Injoignable"}, "Abandon", None),
])
def test_prc03_situation_and_prc07_ending_are_derived_from_the_form(form, situation, ending):
    e = enrolment("e-1", date(2025, 1, 14), date(2025, 4, 14), **form)
    assert (e.situation, rules.outcome(e.form)) == (situation, ending)
    assert rules.due(e, date(2025, 4, 14)) is False  # the end day itself has not passed
    assert rules.due(e, date(2025, 4, 15)) is (ending is not None)
