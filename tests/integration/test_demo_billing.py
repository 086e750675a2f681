"""The demo's billing chapter (prestaflow/src/prestaflow/demo_billing.py) on the embedded default, after the
sample's journeys are closed: its PDFs pass the EN 16931 script, its deposit and journal are written."""

import csv
import subprocess
import sys
from datetime import UTC, date, datetime

from prestaflow import demo, demo_billing, import_cli, referential
from prestaflow.client import Api
from servicekit.clock import FixedClock
from servicekit.settings import ServiceSettings

from billing_support import VALIDATE, close_imported_journeys
from cli_runner import SAMPLE, SAMPLES


async def test_bil_demo_chapter_issues_deposits_and_writes_the_journal(tmp_path, capsys):
    out = tmp_path / "demo-output"
    clock = FixedClock(datetime(2025, 1, 4, 9, tzinfo=UTC))
    async with Api(ServiceSettings(home=out / "state", bus="memory://", database_url=None), clock=clock) as api:
        await referential.load(api, SAMPLE)
        await import_cli.upload(api, SAMPLES / "liste_inscrits_J-10.csv", "ACR2025-L12", False, None, "demo")
        await close_imported_journeys(api)
        clock.at = datetime(2025, 4, 15, 9, tzinfo=UTC)
        result = await demo_billing.run(api, out, demo.Story(), clock)
    printed = capsys.readouterr().out
    assert result["numbers"] == [f"14JUNF25{n:05d}" for n in range(1, 7)] and result["credit_note"] == "14JUNF2500007"
    assert "Avoir 14JUNF2500007 annulant 14JUNF2500001" in printed
    pdfs = sorted((out / "factures").glob("14JUNF*.pdf"))
    assert len(pdfs) == 7 and list((out / "factures").glob("apercu-*.pdf"))
    script = subprocess.run([sys.executable, str(VALIDATE), *map(str, pdfs)], capture_output=True, text=True)
    assert script.returncode == 0 and script.stdout.count("valid (EN 16931)") == 7, script.stdout
    assert sorted(p.name for p in (out / "chorus" / "2025-04-15").iterdir()) == [p.name for p in pdfs]
    lines = list(csv.DictReader((out / "journal-ventes.csv").open(encoding="utf-8"), delimiter=";"))
    assert len(lines) == 7 and lines[-1]["type"] == "avoir"
    assert date.fromisoformat(lines[0]["date"]) == date(2025, 4, 15)
