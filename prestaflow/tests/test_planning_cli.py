"""``prestaflow planning plan|change|add-participant|presence|remove-participant|cancel`` on the
embedded default (PLN-01, PLN-05, PLN-08): each command's answer, its exit code on refusal, and the
state the next command sees."""

import json
import re
from pathlib import Path

import pytest

from cli_runner import SAMPLE, run


@pytest.fixture
def home(tmp_path) -> Path:
    home = tmp_path / "home"
    assert run(home, "referential", "load", str(SAMPLE)).exit_code == 0
    return home


def planned(home: Path, *args: str) -> dict:
    result = run(home, "planning", "plan", "--advisor", "cdurand", "--site", "ARM", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_pln01_change_then_cancel_an_action_from_the_command_line(home):
    action = planned(home, "--start", "2025-01-14 09:00", "--end", "2025-01-14 10:00")

    result = run(home, "planning", "change", action["action_id"], "--start", "2025-01-14 11:00",
                 "--end", "2025-01-14 12:00")
    assert result.exit_code == 0, result.output
    assert "14/01/2025 11:00–12:00" in result.output

    # PLN-01: start after end is refused with the rule's French message; nothing changed.
    result = run(home, "planning", "change", action["action_id"], "--end", "2025-01-14 10:30")
    assert result.exit_code == 1
    assert "Refusé, rien n'a été modifié" in result.output
    assert "11:00" in run(home, "planning", "agenda", "--advisor", "cdurand").output

    assert run(home, "planning", "change", action["action_id"]).exit_code == 2

    result = run(home, "planning", "cancel", action["action_id"], "--reason", "conseillère absente")
    assert result.exit_code == 0, result.output
    assert "Action annulée" in result.output
    agenda = json.loads(run(home, "planning", "agenda", "--advisor", "cdurand", "--json").stdout)
    assert agenda == []


def test_pln05_pln08_participant_added_present_then_removed(home):
    action = planned(home, "--start", "2025-01-14 09:00", "--end", "2025-01-14 10:00")
    action_id = action["action_id"]

    result = run(home, "planning", "add-participant", action_id, "B-1")
    assert (result.exit_code, result.output.strip()) == (0, "Participant ajouté ; places libres : 0.")
    # PLN-05: an individual action is full with one participant.
    result = run(home, "planning", "add-participant", action_id, "B-2")
    assert result.exit_code == 1
    assert re.search(r"complet|place", result.output), result.output

    result = run(home, "planning", "presence", action_id, "B-1", "excusé")
    assert (result.exit_code, result.output.strip()) == (0, "Présence validée : excusé.")
    assert run(home, "planning", "presence", action_id, "B-1", "excusé").output.strip() == (
        "Présence déjà validée : excusé.")
    assert run(home, "planning", "presence", action_id, "B-1", "peut-être").exit_code == 2

    result = run(home, "planning", "remove-participant", action_id, "B-1", "--reason", "désinscrit")
    assert (result.exit_code, result.output.strip()) == (0, "Participant retiré.")
    assert run(home, "planning", "remove-participant", action_id, "B-1").output.strip() == (
        "Ce bénéficiaire n'était pas participant.")


def test_pln08_presence_for_a_future_action_is_refused(home):
    action = planned(home, "--start", "2028-06-13 09:00", "--end", "2028-06-13 10:00")
    assert run(home, "planning", "add-participant", action["action_id"], "B-1").exit_code == 0
    result = run(home, "planning", "presence", action["action_id"], "B-1", "oui")
    assert result.exit_code == 1
    assert "Refusé" in result.output


def test_pln01_a_badly_written_date_is_a_usage_error_saying_what_is_expected(home):
    result = run(home, "planning", "plan", "--advisor", "cdurand", "--site", "ARM", "--start", "14/01/2025 9h",
                 "--end", "2025-01-14 10:00")
    assert result.exit_code == 2
    assert "« 14/01/2025 9h » n'est pas reconnu : attendu « AAAA-MM-JJ HH:MM » ou « JJ/MM/AAAA HH:MM »" in result.output
    assert "--start" in result.output
