"""``prestaflow journey list|show|dates|form|close-due|reopen`` on the embedded default, after importing
the sample J-10 list (PRC-01, PRC-02, PRC-07, PRC-10): answers, exit codes (0 done, 1 refused, 2 usage)
and what the next command sees. The services' clock is a file the test moves."""


import pytest

from cli_runner import ClockedCli, imported_j10


@pytest.fixture
def cli(tmp_path) -> ClockedCli:
    return imported_j10(tmp_path / "home", tmp_path / "clock")


def test_prc01_prc02_prc07_prc10_a_journey_from_the_command_line(cli):
    journeys = cli.json("journey", "list")
    assert len(journeys) >= 3 and {j["status"] for j in journeys} == {"open"}
    # Léa DUPONT's (14/01/2025 09:00, prescribed by agency 59123 - MARTIN Paul): the order part came along.
    first = next(j for j in journeys if cli.json("journey", "show", j["id"])["form"]["agency_code"] == "59123")
    journey = cli.json("journey", "show", first["id"])
    assert (journey["start_on"], journey["end_on"], journey["form"]["prescriber"]) == (
        "2025-01-14", "2025-04-14", "MARTIN Paul")
    [action] = journey["actions"]
    assert "Parcours" in cli("journey", "show", first["id"]).output

    cli.on("2025-01-20T09:00:00+01:00")
    assert cli("planning", "presence", action["action_id"], first["beneficiary_id"], "oui").exit_code == 0
    result = cli("journey", "form", first["id"], "--initial-interview", "14/01/2025", "--initial-outcome", "poursuivi")
    assert (result.exit_code, result.output.strip()) == (0, "Formulaire enregistré ; situation : En cours.")

    # Refused (1) with the field's message, or usage errors (2); nothing changed.
    result = cli("journey", "form", first["id"], "--exit", "abandon", "--reason", "Parce que")
    assert result.exit_code == 1 and "« Motif d'abandon » : « Parce que » n'est pas dans la liste" in result.output
    result = cli("journey", "form", first["id"], "--detail", "=cmd|' /C calc'!A0")
    assert result.exit_code == 1 and "« Motif détaillé du bilan »" in result.output
    result = cli("journey", "form", first["id"], "--end-date", "2025-01-10")
    assert result.exit_code == 1 and "est avant la « Date entretien initial » (14/01/2025)" in result.output
    assert cli("journey", "form", first["id"], "--reason", "Injoignable").exit_code == 2
    assert cli("journey", "form", first["id"], "--initial-outcome", "peut-être").exit_code == 2
    assert cli("journey", "form", first["id"]).exit_code == 2
    assert cli("journey", "dates", first["id"]).exit_code == 2
    result = cli("journey", "dates", first["id"], "--start", "2025-01-15")
    assert result.exit_code == 1 and "« Date de début »" in result.output
    result = cli("journey", "show", "inconnu")
    assert result.exit_code == 1 and "Parcours « inconnu » introuvable" in result.output
    assert cli.json("journey", "show", first["id"])["form"]["outcome_on"] is None

    result = cli("journey", "form", first["id"], "--end-date", "2025-01-19", "--exit", "abandon", "--reason",
                 "injoignable")
    assert (result.exit_code, result.output.strip()) == (0, "Formulaire enregistré ; situation : Abandon.")
    assert "0 parcours clôturé(s)" in cli("journey", "close-due").output

    cli.on("2025-04-15T09:00:00+02:00")
    result = cli("journey", "close-due")
    assert result.exit_code == 0 and result.output.startswith("1 parcours clôturé(s)") and first["id"] in result.output
    assert cli.json("journey", "close-due")["closed"] == []
    result = cli("journey", "form", first["id"], "--initial-outcome", "reoriente")
    assert result.exit_code == 1 and "lecture seule" in result.output
    assert cli.json("journey", "show", first["id"])["outcome"] == "abandon"

    assert cli("journey", "reopen", first["id"]).exit_code == 2
    result = cli("journey", "reopen", first["id"], "--reason", "Motif erroné")
    assert (result.exit_code, result.output.strip()) == (0, "Parcours rouvert (clôture n° 1 annulée).")
    result = cli("journey", "reopen", first["id"], "--reason", "encore")
    assert result.exit_code == 1 and "non clôturé" in result.output
