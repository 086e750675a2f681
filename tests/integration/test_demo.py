"""``make demo`` (``prestaflow demo``): the whole scenario on the embedded default writes what it
produced, and what it wrote is real: exports read back, e-mails parsed, the event log complete."""

import csv
import email
import email.policy
import io
import json
import re
from collections import Counter

import openpyxl
import pytest
from click.testing import CliRunner

from prestaflow.cli import main

from cli_runner import SAMPLES


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "demo-output"
    # An SMTP server in the environment must not receive the demo's mails: nothing listens on port 9.
    result = CliRunner().invoke(main, ["demo", "--out", str(out), "--samples", str(SAMPLES)],
                                env={"PRESTAFLOW_SMTP_HOST": "127.0.0.1", "PRESTAFLOW_SMTP_PORT": "9"},
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out, result.output


def test_demo_prints_where_it_wrote_and_every_step(demo):
    out, printed = demo
    assert f"Résultats écrits dans {out.resolve()}" in printed
    # Steps are numbered as they are told: consecutive from 1, one per chapter.
    numbers = [int(n) for n in re.findall(r"^(\d+)\. ", printed, re.M)]
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 15, numbers
    assert "Reste à affecter : 0" in printed


def test_pln07_demo_exports_read_back(demo):
    out, _ = demo
    [csv_path] = out.glob("planification_activcrea_*.csv")
    rows = list(csv.reader(io.StringIO(csv_path.read_bytes().decode("utf-8-sig")), delimiter=";"))
    assert len(rows) > 1 and all(len(r) == len(rows[0]) for r in rows)
    [xlsx_path] = out.glob("planification_activcrea_*.xlsx")
    workbook = openpyxl.load_workbook(xlsx_path)
    assert len(workbook.sheetnames) >= 2  # one sheet per site with a slot


def test_imp06_demo_reports_j10_then_j2(demo):
    out, _ = demo
    j10, j2 = json.loads((out / "imports.json").read_text(encoding="utf-8"))
    assert (j10["list_kind"], j10["counts"]["created"]) == ("J-10", 6)
    assert (j2["list_kind"], j2["counts"]["confirmed"], j2["counts"]["not_confirmed"]) == ("J-2", 4, 1)


def test_not04_demo_writes_the_mails_of_the_sequence_as_eml(demo):
    out, _ = demo
    mails = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
             for p in sorted((out / "messages").glob("*.eml"))]
    subjects = Counter(m["Subject"].split(" le ")[0].split(" du ")[0] for m in mails)
    # 5 of the 6 people have an e-mail: access and presentation mails to each; reminders at J-7 to those
    # not logged in, J-2 reminders to the confirmed, the GDPR mail at the first presence.
    assert len(mails) == 22, subjects
    assert all(m["To"] and "{{" not in m.get_body(("plain",)).get_content() for m in mails)
    assert sum("Mon Bureau Virtuel" in s for s in subjects.elements()) >= 5
    # Sent for real by the folder transport, not attempted on the environment's SMTP server.
    assert len(list((out / "state" / "notify-outbox").glob("*.eml"))) == 22


def test_demo_event_log_is_complete(demo):
    out, _ = demo
    envelopes = [json.loads(line) for line in (out / "events.jsonl").read_text(encoding="utf-8").splitlines()]
    types = Counter(e["type"] for e in envelopes)
    for expected in ("ReferentialChanged", "ActionPlanned", "InscritsImported", "ParticipantConfirmed",
                     "ParticipantNotConfirmed", "ParticipantAssigned", "AssignmentApplied", "PresenceValidated",
                     "MessageSent", "MessageNotSent"):
        assert types[expected] >= 1, expected
    assert len({e["event_id"] for e in envelopes}) == len(envelopes)


def test_x04_demo_purges_etienne_on_17_january_and_nothing_of_him_is_left(demo):
    """X-04 (issue #20, case 7): the demo goes on to 17/01/2025, purges ÉTIENNE François (not confirmed at
    J-2), then finds him in no database or file of the services; checked here again, byte by byte, in
    every file under state/ (SQLite files with their log, e-mails decoded)."""
    out, printed = demo
    assert "Purge RGPD du 17/01/2025" in printed
    assert "ÉTIENNE François : supprimé(e)" in printed
    assert "bases et fichiers des services (state/ : " in printed and ") : aucune trace" in printed
    files = [p for p in (out / "state").rglob("*") if p.is_file()]
    assert any(p.suffix == ".db" for p in files) and any(p.suffix == ".eml" for p in files)
    for path in files:
        data = path.read_bytes()
        if path.suffix == ".eml":
            mail = email.message_from_bytes(data, policy=email.policy.default)
            data = "\n".join([str(v) for v in mail.values()] + [
                p.get_content() for p in mail.walk() if p.get_content_maintype() == "text"]).encode()
        for value in ("ÉTIENNE", "4567890D", "+33320112233", "03.20.11.22.33"):
            assert value.encode() not in data, f"{value} in {path.relative_to(out)}"
def test_prc07_demo_journeys_get_their_forms_and_close_once_each(demo):
    """PRC-02, PRC-03, PRC-07: the four journeys attended in January end four ways and close, one
    ODSClosed each; the daily run run twice closes nothing more."""
    out, printed = demo
    envelopes = [json.loads(line) for line in (out / "events.jsonl").read_text(encoding="utf-8").splitlines()]
    closed = [i for e in envelopes if e["type"] == "ODSClosed" for i in e["payload"]["items"]]
    assert sorted(c["outcome"] for c in closed) == ["abandon", "bilan", "reoriente", "sortie_anticipee"]
    assert len({c["enrolment_id"] for c in closed}) == 4 and {c["closing"] for c in closed} == {1}
    journeys = json.loads((out / "journeys.json").read_text(encoding="utf-8"))
    situations = Counter(j["situation"] for j in journeys if j["status"] == "closed")
    assert situations == {"Terminé (orienté vers France Travail)": 1, "Abandon": 1, "Sortie anticipée": 1,
                          "Entretien bilan": 1}
    [bilan] = [j for j in journeys if j["outcome"] == "bilan"]
    assert bilan["form"]["bilan_reason"] == "Création ou reprise d'entreprise opportune"
    assert "Second passage : 0 clôture" in printed


def test_prc04_prc05_prc06_prc09_demo_writes_dashboard_alerts_deliverables_timeline(demo):
    from datetime import datetime

    from pypdf import PdfReader

    out, printed = demo
    sheet = openpyxl.load_workbook(out / "tableau_de_suivi.xlsx").active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("Nom", "Prénom", "Identifiant France Travail") and len(rows) >= 5
    assert all(isinstance(r[5], datetime) for r in rows[1:]) and sheet["F2"].is_date
    alerts = json.loads((out / "alertes.json").read_text(encoding="utf-8"))
    assert alerts and all(a["reason"] and a["enrolment_id"] for a in alerts)
    pdfs = sorted((out / "livrables").glob("*.pdf"))
    closed = {r[16] for r in rows[1:] if r[11] != "En cours"}
    assert {p.name.split("_")[1] for p in pdfs} == closed and len(pdfs) == 2 * len(closed)
    for pdf in pdfs:
        text = "\n".join(page.extract_text() for page in PdfReader(pdf).pages)
        assert ("Bilan de prestation" if pdf.name.startswith("bilan") else "Feuille d'émargement") in text
    timeline = json.loads((out / "timeline.json").read_text(encoding="utf-8"))
    assert [line["at"] for line in timeline] == sorted(line["at"] for line in timeline)
    assert {"parcours_opened", "presence", "livrable", "message_envoye"} <= {line["kind"] for line in timeline}


def test_ben02_demo_a_link_records_the_accord_numerique_once_and_staff_enter_an_accord_papier(demo):
    out, printed = demo
    assert re.search(r"lien personnel du mail \S+SYS-RGPD\S+ ouvert : 200 « Merci, votre accord est enregistré »",
                     printed)
    assert re.search(r"ouvert à nouveau : 409 « Lien déjà utilisé »", printed)
    assert "accord papier du 15/01/2025 (saisi par administrateur-local)" in printed
    assert "accord RGPD par fiche : non demandé 2, demandé 2, accord numérique 1, accord papier 1" in printed
    envelopes = [json.loads(line) for line in (out / "events.jsonl").read_text(encoding="utf-8").splitlines()]
    recorded = [i["form"] for e in envelopes if e["type"] == "GdprAgreementRecorded" for i in e["payload"]["items"]]
    assert recorded == ["digital", "paper"]
