"""``prestaflow beneficiary gdpr-request|gdpr-paper|show`` on the embedded default (BEN-02): the
request goes as the GDPR mail with its personal link, refused once an agreement is recorded."""

import json
import re
from email import message_from_bytes, policy

import pytest

from cli_runner import ClockedCli, imported_j10


@pytest.fixture
def cli(tmp_path) -> ClockedCli:
    return imported_j10(tmp_path / "home", tmp_path / "clock")


def ids(cli: ClockedCli) -> dict[str, str]:
    journeys = cli.json("journey", "list")
    return {r["last_name"]: r["beneficiary_id"] for r in journeys}


def test_ben02_gdpr_request_sends_the_mail_then_refused_after_the_agreement_and_gdpr_paper(cli: ClockedCli):
    people = ids(cli)
    lea = people["DUPONT"]
    shown = cli("beneficiary", "show", lea)
    assert shown.exit_code == 0 and "Accord RGPD                : non demandé" in shown.output

    asked = cli("beneficiary", "gdpr-request", lea)
    assert asked.exit_code == 0, asked.output
    assert asked.output.startswith("Accord RGPD demandé le 04/01/2025 : le mail RGPD part avec un nouveau lien")
    assert cli.json("beneficiary", "show", lea)["gdpr"]["status"] == "requested"
    # the GDPR mail went (embedded default: an .eml file in notify's folder) with the personal link
    [eml] = [p for p in (cli.home / "notify-outbox").rglob("*.eml")
             if "accord?jeton=" in p.read_text(encoding="utf-8", errors="replace")]
    text = message_from_bytes(eml.read_bytes(), policy=policy.default).get_body(("plain",)).get_content()
    assert len(re.findall(r"http://127\.0\.0\.1:8000/importer/rgpd/accord\?jeton=\S+", text)) == 1

    paper = cli("beneficiary", "gdpr-paper", lea, "--date", "03/01/2025")
    assert paper.exit_code == 0, paper.output
    assert paper.output == "Accord RGPD enregistré : accord papier du 03/01/2025 (saisi par administrateur-local).\n"
    record = cli.json("beneficiary", "show", lea)
    assert (record["gdpr"]["status"], record["gdpr"]["paper_date"]) == ("paper", "2025-01-03")
    assert "Accord RGPD                : accord papier du 03/01/2025" in cli("beneficiary", "show", lea).output

    refused = cli("beneficiary", "gdpr-request", lea)
    assert refused.exit_code == 1
    assert "Accord RGPD déjà recueilli (accord papier du 03/01/2025 (saisi par administrateur-local)) : aucune " \
           "nouvelle demande n'est envoyée." in refused.output
    again = cli("beneficiary", "gdpr-paper", lea)
    assert again.exit_code == 1 and "Accord RGPD déjà enregistré" in again.output
    assert json.loads(cli("beneficiary", "show", lea, "--json").stdout)["gdpr"] == record["gdpr"]  # unchanged

    assert cli("beneficiary", "gdpr-request", "inconnu").exit_code == 1
    usage = cli("beneficiary", "gdpr-paper", lea, "--date", "demain")
    assert usage.exit_code == 2
