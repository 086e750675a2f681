"""``prestaflow billing …`` on the embedded default (BIL-01, BIL-05, BIL-08, BIL-10, BIL-11, BIL-12): the
command names the checks use, their output, and refusals in French with exit code 1."""

import asyncio
import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pypdf
import pytest

from prestaflow import import_cli, referential
from prestaflow.client import Api
from servicekit.clock import FixedClock
from servicekit.settings import ServiceSettings

from billing_support import close_imported_journeys
from cli_runner import SAMPLE, SAMPLES, run


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """The sample referential, the J-10 list imported, and every imported journey closed."""
    home = tmp_path_factory.mktemp("billing-cli")

    async def seed() -> None:
        settings = ServiceSettings(home=home, bus="memory://", database_url=None)
        async with Api(settings, clock=FixedClock(datetime(2025, 1, 4, 9, tzinfo=UTC))) as api:
            await referential.load(api, SAMPLE)
            await import_cli.upload(api, SAMPLES / "liste_inscrits_J-10.csv", "ACR2025-L12", False, None, "test")
            await close_imported_journeys(api)

    asyncio.run(seed())
    return home


def test_bil_cli_catalogue_pending_preview_issue_credit_note_journal_deposit(home, tmp_path):
    summary = json.loads(run(home, "billing", "catalogue", "--json").output)
    assert [t["resource"] for t in summary["in_force"]] == ["ACR2025-L12"]
    assert "Tarifs en vigueur : 1" in run(home, "billing", "catalogue").output

    pending = json.loads(run(home, "billing", "pending", "--json").output)
    assert len(pending) == 6 and all(p["issuable"] for p in pending)
    text = run(home, "billing", "pending").output
    assert "6 facture(s) à émettre" in text

    preview = tmp_path / "apercu.pdf"
    result = run(home, "billing", "preview", pending[0]["id"], "--out", str(preview))
    assert result.exit_code == 0, result.output
    assert "APERÇU" in pypdf.PdfReader(preview).pages[0].extract_text()

    numbers = [run(home, "billing", "issue", p["id"]).output.strip() for p in pending]
    year = datetime.now(UTC).strftime("%y")
    assert numbers == [f"14JUNF{year}{n:05d}" for n in range(1, 7)]
    again = run(home, "billing", "issue", pending[0]["id"])
    assert again.exit_code == 1 and f"déjà émise sous le n° {numbers[0]}" in again.output

    credit = run(home, "billing", "credit-note", numbers[0], "--reason", "Date de bilan erronée")
    assert credit.output.strip() == f"14JUNF{year}00007"
    unknown = run(home, "billing", "credit-note", "14JUNF2599999", "--reason", "x")
    assert unknown.exit_code == 1 and "inconnue" in unknown.output

    issued = json.loads(run(home, "billing", "issued", "--json").output)
    assert [d["kind"] for d in issued].count("credit_note") == 1 and len(issued) == 7

    journal = tmp_path / "journal.csv"
    today = datetime.now(UTC).date().isoformat()
    run(home, "billing", "journal", "--from", "2025-01-01", "--to", today, "--entity", "BGE-HDF", "--out", str(journal))
    lines = list(csv.DictReader(io.StringIO(journal.read_text(encoding="utf-8")), delimiter=";"))
    assert [line["numero"] for line in lines] == numbers + [f"14JUNF{year}00007"]
    assert lines[-1]["type"] == "avoir" and lines[-1]["montant_ttc"].startswith("-")
    assert lines[-1]["facture_annulee"] == numbers[0] and lines[0]["client"] == "France Travail"
    assert lines[0]["compte_client"] == "411FT"

    deposit = run(home, "billing", "deposit")
    assert "Mode : dossier" in deposit.output and deposit.output.count("dépôt manuel") == 7
    status = json.loads(run(home, "billing", "status", "--json").output)
    assert {s["chorus_status"] for s in status} == {"written"}
