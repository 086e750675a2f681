"""``prestaflow beneficiary edit|show`` on the embedded default (BEN-01): a correction, its history
in the record, a withdrawn consent stopping that channel's pending messages, and refusals (exit 1,
the field named, nothing changed; exit 2 for a usage error)."""

import pytest

from cli_runner import ClockedCli, imported_j10


@pytest.fixture
def cli(tmp_path) -> ClockedCli:
    return imported_j10(tmp_path / "home", tmp_path / "clock")


def lea_id(cli: ClockedCli) -> str:
    ids = {j["beneficiary_id"] for j in cli.json("journey", "list")}
    return next(b for b in ids if cli.json("beneficiary", "show", b)["ft_id"] == "1234567A")


def test_ben01_cli_edit_then_show_with_history_and_consent_withdrawn(cli):
    lea = lea_id(cli)
    pending = [m for m in cli.json("notify", "outbox", "--beneficiary", lea) if m["status"] == "scheduled"]
    assert pending and {m["channel"] for m in pending} == {"email"}

    cli.on("2025-01-05T10:30:00+01:00")
    result = cli("beneficiary", "edit", lea, "--email", "lea.martin@example.org", "--address", "3 place du Marché",
                 "--consent-email", "non")
    assert (result.exit_code, result.output.strip()) == (
        0, "Fiche corrigée : Adresse, E-mail, Accepte les e-mails."), result.output

    shown = cli("beneficiary", "show", lea).output
    assert "E-mail                     : lea.martin@example.org" in shown
    assert "Accepte les e-mails        : non (personnel administrateur-local, le 05/01/2025)" in shown
    assert "Accepte les SMS            : oui (prescription France Travail, le 04/01/2025)" in shown
    assert "Historique :" in shown
    assert "  05/01/2025 10:30  administrateur-local E-mail : lea.dupont@example.org → lea.martin@example.org" in shown
    assert "Accepte les e-mails : oui → non" in shown
    record = cli.json("beneficiary", "show", lea)
    assert [h["field"] for h in record["history"]] == ["address", "email", "accepts_email"]

    # The e-mails not sent yet are cancelled at once.
    after = {m["message_id"]: m for m in cli.json("notify", "outbox", "--beneficiary", lea)}
    assert {(after[m["message_id"]]["status"], after[m["message_id"]]["reason_code"]) for m in pending} == {
        ("cancelled", "no_consent")}

    assert cli("beneficiary", "edit", lea, "--email", "lea.martin@example.org").output.strip() == (
        "Rien n'a changé : la fiche a déjà ces valeurs.")


def test_ben01_cli_wrong_value_exits_1_naming_the_field_and_changes_nothing(cli):
    lea = lea_id(cli)
    result = cli("beneficiary", "edit", lea, "--phone", "12", "--last-name", "DURAND")
    assert result.exit_code == 1 and "Refusé, rien n'a été modifié" in result.output
    assert "Téléphone : « 12 » n'est pas un numéro de téléphone français valide" in result.output
    assert cli.json("beneficiary", "show", lea)["last_name"] == "DUPONT"
    assert cli("beneficiary", "edit", lea).exit_code == 2  # nothing to correct: a usage error
    assert cli("beneficiary", "edit", lea, "--consent-sms", "peut-être").exit_code == 2
    assert cli("beneficiary", "edit", "inconnu", "--email", "a@example.org").exit_code == 1
