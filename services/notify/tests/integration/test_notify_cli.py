"""``prestaflow notify templates|rules|outbox|send-gdpr`` on the embedded default (e-mails written as
.eml files), and the demo's .eml export (NOT-01, NOT-02, NOT-05)."""

import email
import email.policy
import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from prestaflow import referential
from prestaflow.cli import main as prestaflow_main
from prestaflow.client import Api
from prestaflow.notify_cli import write_demo_messages
from servicekit.clock import FixedClock

from cluster import SAMPLES


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """The command line on the embedded default under a fresh PRESTAFLOW_HOME, on 4 January 2025 at
    10:00 (Paris), the day the sample J-10 list arrives."""
    clock = tmp_path / "clock.txt"
    clock.write_text("2025-01-04T09:00:00+00:00")
    monkeypatch.setenv("PRESTAFLOW_CLOCK_FILE", str(clock))
    monkeypatch.setenv("PRESTAFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PRESTAFLOW_URL", raising=False)
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(prestaflow_main, list(args), catch_exceptions=False)
        return result.exit_code, result.output

    return run


def test_not01_not02_not05_notify_commands(cli, tmp_path):
    assert cli("referential", "load", str(SAMPLES / "referentiel.yaml"))[0] == 0
    assert cli("import", str(SAMPLES / "liste_inscrits_J-10.csv"), "--ressource", "ACR2025-L12")[0] == 0

    code, out = cli("notify", "templates")
    assert code == 0
    assert "ACR-RAPPEL           email actif    1 règle(s), 0 envoi(s)" in out and "SYS-RGPD" in out
    code, out = cli("notify", "templates", "preview", "ACR-ANNULATION")
    assert code == 0 and out.startswith("Objet : Annulation de votre rendez-vous Activ'Créa du 14/01/2025\n")
    assert "Bonjour Madame EXEMPLE," in out

    code, out = cli("notify", "templates", "delete", "ACR-RAPPEL")
    assert code == 1 and "il ne peut pas être supprimé ; désactivez-le." in out
    assert cli("notify", "templates", "deactivate", "ACR-RAPPEL")[0] == 0
    code, out = cli("notify", "rules")
    assert "⚠ Modèle « ACR-RAPPEL » inactif : cette règle n'envoie rien." in out
    assert "3 règle(s) ; 1 en rouge (modèle inactif)." in out

    code, out = cli("notify", "outbox", "--send", "--status", "sent", "--status", "not_sent")
    assert code == 0
    assert out.splitlines()[0].startswith("Envoi : 5 envoyé(s), 1 non envoyé(s)")
    assert "Pas d'adresse e-mail sur la fiche." in out
    written = sorted((tmp_path / "home" / "notify-outbox").glob("*.eml"))
    assert len(written) == 5
    first = email.message_from_bytes(written[0].read_bytes(), policy=email.policy.default)
    assert first["Subject"] == "Votre accès à Mon Bureau Virtuel – BGE Hauts-de-France"

    code, out = cli("notify", "outbox", "--json", "--status", "sent")
    reachable = sorted({m["beneficiary_id"] for m in json.loads(out)})
    code, out = cli("notify", "send-gdpr", "inconnu")
    assert code == 1 and "inconnu de notify" in out
    code, out = cli("notify", "send-gdpr", reachable[0])  # NOT-05 by hand, before any presence
    assert code == 0 and out.startswith("Mail RGPD envoyé")
    assert len(list((tmp_path / "home" / "notify-outbox").glob("*.eml"))) == 6
    code, out = cli("notify", "send-gdpr", reachable[0])
    assert code == 1 and "Mail RGPD déjà envoyé le" in out


async def test_demo_writes_the_messages_that_would_be_sent_as_eml(tmp_path, sqlite_settings):
    clock = FixedClock(datetime(2025, 1, 4, 9, 0, tzinfo=UTC))
    async with Api(sqlite_settings, clock=clock) as api:
        await referential.load(api, SAMPLES / "referentiel.yaml")
        for name in ("liste_inscrits_J-10.csv", "liste_inscrits_J-2.csv"):
            path = SAMPLES / name
            await api.request("POST", "importer", "/imports", files={"file": (path.name, path.read_bytes())},
                              data={"resource": "ACR2025-L12"})
        paths = await write_demo_messages(api, tmp_path / "messages")
    # Access ×5, presentation ×5, J-7 reminder ×5, J-2 reminder ×4; nothing for ÉTIENNE (no e-mail).
    assert len(paths) == 19
    subjects = sorted(email.message_from_bytes(p.read_bytes(), policy=email.policy.default)["Subject"]
                      for p in paths)
    assert subjects.count("Votre accès à Mon Bureau Virtuel – BGE Hauts-de-France") == 5
    assert subjects.count("Rappel : rendez-vous Activ'Créa le 14/01/2025 à 9h00") == 1
    assert all(p.suffix == ".eml" and p.parent == tmp_path / "messages" for p in paths)
