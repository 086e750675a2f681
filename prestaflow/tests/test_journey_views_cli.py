"""``prestaflow journey list|deliverables|alerts`` and ``prestaflow timeline`` on the embedded default after
importing the sample J-10 list (PRC-04, PRC-05, PRC-06, PRC-09): answers, files written and read back,
exit codes (0 done, 1 refused, 2 usage)."""

import hashlib
import io
import json
from datetime import datetime

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from cli_runner import ClockedCli, imported_j10


@pytest.fixture
def cli(tmp_path) -> ClockedCli:
    return imported_j10(tmp_path / "home", tmp_path / "clock")


def test_prc04_prc05_prc06_prc09_dashboard_deliverables_alerts_timeline(cli: ClockedCli, tmp_path):
    everyone = cli.json("journey", "list")
    assert everyone and not any(r["on_dashboard"] for r in everyone)  # no form started yet
    assert "0 parcours." in cli("journey", "list").output
    lea = next(r for r in everyone if (r["last_name"], r["first_name"]) == ("DUPONT", "Léa"))
    journey = cli.json("journey", "show", lea["id"])
    [action] = journey["actions"]

    cli.on("2025-01-20T09:00:00+01:00")
    assert cli("planning", "presence", action["action_id"], lea["beneficiary_id"], "oui").exit_code == 0
    assert cli("journey", "form", lea["id"], "--initial-interview", "14/01/2025",
               "--initial-outcome", "poursuivi").exit_code == 0
    listed = cli("journey", "list", "--from", "2025-01-01", "--to", "2025-01-31")
    assert listed.exit_code == 0 and "DUPONT Léa" in listed.output and "non facturé" in listed.output
    assert "1 parcours." in listed.output
    assert "0 parcours." in cli("journey", "list", "--from", "2025-02-01").output
    assert cli("journey", "list", "--from", "demain").exit_code == 2
    book = tmp_path / "suivi.xlsx"
    assert cli("journey", "list", "--xlsx", str(book)).exit_code == 0
    rows = list(load_workbook(io.BytesIO(book.read_bytes())).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("Nom", "Prénom", "Identifiant France Travail") and len(rows) == 2
    assert rows[1][:2] == ("DUPONT", "Léa") and rows[1][5] == datetime(2025, 1, 14)

    out = tmp_path / "livrables"
    refused = cli("journey", "deliverables", lea["id"], "--out", str(out))
    assert refused.exit_code == 1 and "« Date bilan / abandon / sortie anticipée » doit être renseignée" in \
        refused.output
    assert not out.exists() or not list(out.iterdir())
    assert cli("journey", "deliverables", lea["id"]).exit_code == 2
    assert cli("journey", "deliverables", "inconnu", "--out", str(out)).exit_code == 1

    cli.on("2025-04-15T09:00:00+02:00")
    assert cli("journey", "form", lea["id"], "--order-number", "BDC-2025-000101", "--end-date", "14/04/2025",
               "--exit", "bilan", "--reason",
               "Création ou reprise d'entreprise opportune").exit_code == 0
    made = cli("journey", "deliverables", lea["id"], "--out", str(out))
    assert made.exit_code == 0, made.output
    files = sorted(p.name for p in out.iterdir())
    assert files == [f"bilan_{lea['id']}_1.pdf", f"emargement_{lea['id']}_1.pdf"]
    for path in out.iterdir():
        assert f"SHA-256 {hashlib.sha256(path.read_bytes()).hexdigest()}" in made.output
    sheet = "\n".join(p.extract_text() for p in PdfReader(out / f"emargement_{lea['id']}_1.pdf").pages)
    assert "DUPONT Léa" in sheet and "14/01/2025" in sheet and "Présent" in sheet
    assert cli("journey", "deliverables", lea["id"], "--out", str(out)).exit_code == 0
    assert len(list(out.iterdir())) == 4  # the first files are kept

    cli.on("2025-05-05T09:00:00+02:00")
    alerts = cli.json("journey", "alerts")
    assert {a["alert"] for a in alerts} == {"facture_non_emise"}
    assert [a["enrolment_id"] for a in alerts] == [lea["id"]]
    assert [(a["last_name"], a["first_name"]) for a in alerts] == [("DUPONT", "Léa")]
    assert "DUPONT Léa" in (shown := cli("journey", "alerts").output) and "sans facture émise" in shown

    history = cli.json("timeline", lea["beneficiary_id"])
    kinds = [line["kind"] for line in history]
    assert kinds[:2] == ["parcours_opened", "action_planifiee"] and "presence" in kinds
    assert kinds.count("livrable") == 4 and "parcours_closed" in kinds
    text = cli("timeline", lea["beneficiary_id"]).output
    assert "Parcours clôturé" in text and "Livrable généré : Bilan n° 2" in text
    assert cli("timeline", "inconnu").exit_code == 1
    assert json.loads(cli("timeline", lea["beneficiary_id"], "--json").stdout) == history
