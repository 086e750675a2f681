"""``prestaflow audit`` (OPS-04) on the demo's log: exported, verified, tampered with, replayed.

The demo runs once on the embedded default; its state folder is then the "live" system the audit
commands read (its outboxes, its digests)."""

import json
import shutil

import pytest
from click.testing import CliRunner

from contracts.envelope import event_hash
from prestaflow.cli import main

from cli_runner import SAMPLES, run


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("audit") / "demo-output"
    result = CliRunner().invoke(main, ["demo", "--out", str(out), "--samples", str(SAMPLES)],
                                env={"PRESTAFLOW_SMTP_HOST": "127.0.0.1", "PRESTAFLOW_SMTP_PORT": "9"},
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    home = out / "state"
    export = out.parent / "export"
    exported = run(home, "audit", "export", "--out", str(export))
    assert exported.exit_code == 0, exported.output
    return home, export


def copy(export, tmp_path):
    target = tmp_path / "dossier"
    shutil.copytree(export, target)
    return target


def lines(folder, topic="prestaflow.planning.events"):
    return (folder / f"{topic}.jsonl").read_bytes().splitlines()


def write(folder, rows, topic="prestaflow.planning.events"):
    (folder / f"{topic}.jsonl").write_bytes(b"".join(r + b"\n" for r in rows))


def test_ops04_the_demos_log_is_exported_verbatim_and_its_chains_are_intact(demo):
    home, export = demo
    manifest = json.loads((export / "manifest.json").read_text())
    assert set(manifest["topics"]) == {f"prestaflow.{s}.events" for s in
                                       ("planning", "import", "affectation", "billing", "notify")}
    planning = [json.loads(line) for line in lines(export)]
    assert [e["sequence"] for e in planning] == list(range(1, len(planning) + 1)) and len(planning) > 10
    assert planning[1]["previous_hash"] == event_hash(lines(export)[0])
    verified = run(home, "audit", "verify", "--from-export", str(export), "--json")
    assert verified.exit_code == 0, verified.output
    result = json.loads(verified.output)
    assert result["intact"] and result["chained"]["planning"] == len(planning)
    assert sum(result["chained"].values()) == sum(t["events"] for t in manifest["topics"].values())
    # The services' outboxes (the embedded default's log) verify the same.
    assert run(home, "audit", "verify").exit_code == 0


def test_ops04_an_event_altered_in_an_export_is_named_by_verify(demo, tmp_path):
    home, export = demo
    folder = copy(export, tmp_path)
    rows = lines(folder)
    altered = json.loads(rows[4])
    assert altered["type"] == "ActionPlanned"
    rows[4] = rows[4].replace(b'"max_participants":1', b'"max_participants":9', 1)
    assert rows[4] != lines(export)[4]
    write(folder, rows)
    result = run(home, "audit", "verify", "--from-export", str(folder))
    assert result.exit_code == 1
    assert f"l'événement n°5 de planning (ActionPlanned, {altered['event_id']}" in result.output
    assert "a été modifié" in result.output and "Chaîne(s) rompue(s)." in result.output


def test_ops04_the_last_event_altered_is_named_against_the_manifests_chain_head(demo, tmp_path):
    home, export = demo
    folder = copy(export, tmp_path)
    rows = lines(folder, "prestaflow.billing.events")
    last = json.loads(rows[-1])
    # Nothing follows the last event to carry its hash: only the manifest's chain head can catch it.
    rows[-1] = rows[-1].replace(b'"occurred_at":"2025', b'"occurred_at":"2024', 1)
    assert rows[-1] != lines(export, "prestaflow.billing.events")[-1]
    write(folder, rows, "prestaflow.billing.events")
    result = run(home, "audit", "verify", "--from-export", str(folder))
    assert result.exit_code == 1
    assert f"l'événement n°{len(rows)} de billing ({last['type']}" in result.output


def test_ops04_an_event_removed_from_an_export_is_named_by_verify(demo, tmp_path):
    home, export = demo
    folder = copy(export, tmp_path)
    rows = lines(folder)
    removed = json.loads(rows[6])
    del rows[6]
    write(folder, rows)
    manifest = json.loads((folder / "manifest.json").read_text())  # a careful forger fixes the count too
    manifest["topics"]["prestaflow.planning.events"]["events"] -= 1
    (folder / "manifest.json").write_text(json.dumps(manifest))
    result = run(home, "audit", "verify", "--from-export", str(folder), "--json")
    assert result.exit_code == 1
    breaks = json.loads(result.output)["breaks"]
    assert list(breaks) == ["planning"] and removed["sequence"] == 7
    assert "événement(s) n°7 absent(s) (supprimé(s))" in breaks["planning"]
    assert "la chaîne reprend à l'événement n°8 de planning" in breaks["planning"]


def test_ops04_bad_exports_are_refused_in_french_and_nothing_is_written_to_the_services(demo, tmp_path):
    home, export = demo
    before = {s: run(home, "audit", "verify", "--json").output for s in ("all",)}
    truncated = copy(export, tmp_path / "t")
    data = (truncated / "prestaflow.planning.events.jsonl").read_bytes()
    (truncated / "prestaflow.planning.events.jsonl").write_bytes(data[: len(data) - 40])
    result = run(home, "audit", "replay", "--from-export", str(truncated))
    assert result.exit_code == 1
    assert "Refusé, rien n'a été écrit dans les services" in result.output
    assert "prestaflow.planning.events.jsonl : fichier tronqué (la dernière ligne n'est pas terminée)" in result.output
    assert "ligne" in result.output and "enveloppe illisible" in result.output

    unknown = copy(export, tmp_path / "u")
    rows = lines(unknown)
    rows[3] = rows[3].replace(b'"type":"ActionPlanned"', b'"type":"ActionInventee"')
    write(unknown, rows)
    result = run(home, "audit", "replay", "--from-export", str(unknown))
    assert result.exit_code == 1
    assert ("prestaflow.planning.events.jsonl ligne 4 : type d'événement inconnu « ActionInventee » (version 2)"
            in result.output)

    broken = copy(export, tmp_path / "b")
    rows = lines(broken)
    del rows[2]
    write(broken, rows)
    manifest = json.loads((broken / "manifest.json").read_text())
    manifest["topics"]["prestaflow.planning.events"]["events"] -= 1
    (broken / "manifest.json").write_text(json.dumps(manifest))
    result = run(home, "audit", "replay", "--from-export", str(broken))
    assert result.exit_code == 1
    assert "Chaîne d'événements rompue, rejeu refusé" in result.output and "n°3 absent(s)" in result.output

    assert run(home, "audit", "verify", "--json").output == before["all"]  # the live log is unchanged


def test_ops04_replay_of_the_demos_log_reports_each_services_digest_against_the_live_one(demo):
    """Every service's copy is rebuilt and compared; affectation's (input events, and its own
    ParticipantAssigned for the assignment the demo made) is the live one."""
    home, export = demo
    result = run(home, "audit", "replay", "--from-export", str(export), "--json")
    report = json.loads(result.output)
    assert set(report["services"]) == {"planning", "importer", "affectation", "billing", "notify"}
    for name, service in report["services"].items():
        assert service["log_complete"], name  # each live chain head is the export's last event
        assert len(service["digest"]) == len(service["live_digest"]) == 64
    assert report["services"]["affectation"]["applied"] > 10
    assert report["services"]["affectation"]["identical"], report["services"]["affectation"]
    # Importer's records are restored from its own events; its keys, never in the log, are named as out.
    assert report["services"]["importer"]["identical"], report["services"]["importer"]
    assert set(report["services"]["importer"]["excluded"]) == {"beneficiary_keys", "beneficiary_changes"}
    assert result.exit_code == (0 if report["identical"] else 1)


# What a replay of the demo's log cannot rebuild yet, service by service (deploy/AUDIT.md, "Limit
# today"): state decided by commands whose own events do not carry it.
NOT_YET_RESTORED = {
    # Nothing: every service's command-made state reaches the log (billing, notify restored too).
}


def test_ops04_the_demos_log_replayed_from_its_export_rebuilds_each_service(demo):
    """OPS-04: the demo's log replayed --from-export. Importer (its records restored from its own
    events, its keys declared out of the digest), affectation and planning (its referential, agenda,
    presences, journeys and deliverables restored from its own events; advisors' e-mails and the PDFs'
    content, personal data never in the log, declared out), billing (its catalogue, invoices, credit
    notes, numbering and Chorus deposit from its own events, the documents declared out) and notify (its
    templates and rules from their snapshot event, its postman's outcomes from MessageSent and
    MessageNotSent, what was sent declared out) give the live digest; what still
    differs is exactly the state no event carries yet (NOT_YET_RESTORED)."""
    home, export = demo
    result = run(home, "audit", "replay", "--from-export", str(export), "--json")
    services = json.loads(result.output)["services"]
    for name in ("importer", "affectation", "planning", "billing"):
        assert services[name]["identical"] and services[name]["refused"] is None, services[name]
        assert services[name]["digest"] == services[name]["live_digest"]
    assert services["importer"]["applied"] >= 10  # its own events: the two imports and the purge
    assert set(services["importer"]["excluded"]) == {"beneficiary_keys", "beneficiary_changes"}
    assert "jamais dans le journal" in services["importer"]["excluded"]["beneficiary_keys"]
    # Planning's referential is restored from its ReferentialChanged, which leaves out advisors' e-mails
    # (staff's personal data): that column, and the snapshot holding them, are named as out, the rest compared.
    # Planning's deliverables are restored from DeliverablesGenerated, their PDFs (they name the person) are out.
    assert set(services["planning"]["excluded"]) == {"advisors.email", "referential_versions.snapshot",
                                                     "deliverables.content"}
    assert "données personnelles" in services["planning"]["excluded"]["advisors.email"]
    assert services["planning"]["applied"] > 20 and services["planning"]["differing_tables"] == {}
    # Billing's issuing and Chorus deposit are restored from its own events; the documents (CII XML,
    # Factur-X PDF) name the person: out, their SHA-256 in the events.
    assert set(services["billing"]["excluded"]) == {"invoices.xml", "invoices.pdf"}
    assert "bénéficiaire" in services["billing"]["excluded"]["invoices.pdf"]
    # Notify's postman outcomes are restored from its MessageSent and MessageNotSent, the contacts it
    # unsealed with the audit's keys; what was sent and the servers' answers (never in the log) are out.
    assert services["notify"]["identical"] and services["notify"]["refused"] is None, services["notify"]
    assert set(services["notify"]["excluded"]) == {"messages.recipient", "messages.subject", "messages.body_text",
                                                   "messages.body_html", "delivery_attempts.answer"}
    assert "données personnelles" in services["notify"]["excluded"]["messages.recipient"]
    for name, tables in NOT_YET_RESTORED.items():
        assert set(services[name]["differing_tables"]) == tables, (name, services[name]["differing_tables"])
    assert not {"importer", "affectation", "planning", "billing", "notify"} & set(NOT_YET_RESTORED)


def test_ops04_the_demos_log_replayed_gives_five_identical_digests(demo):
    """OPS-04 as the issue states it: the demo's log replayed with five identical digests."""
    home, export = demo
    result = run(home, "audit", "replay", "--from-export", str(export), "--json")
    services = json.loads(result.output)["services"]
    assert {name: s["identical"] for name, s in services.items()} == dict.fromkeys(
        ("planning", "importer", "affectation", "billing", "notify"), True)
    assert result.exit_code == 0


def test_ops04_a_corrected_record_replays_to_importers_live_digest(demo, tmp_path):
    """OPS-04 with BEN-01: staff's correction (e-mail, SMS consent withdrawn) is restored from importer's
    own BeneficiaryCorrected; the history of corrections is named as out of the digest."""
    home, export = demo
    live = tmp_path / "state"
    shutil.copytree(home, live)  # the module's demo stays as it was for the other tests
    events = [json.loads(line) for line in lines(export, "prestaflow.import.events")]
    items = [(e["type"], i.get("beneficiary_id")) for e in events for i in e["payload"].get("items", ())]
    person = next(b for t, b in items if t == "BeneficiaryRegistered" and ("BeneficiaryPurged", b) not in items)
    edited = run(live, "beneficiary", "edit", person, "--email", "moussa.n@example.org", "--consent-sms", "non")
    assert edited.exit_code == 0, edited.output
    corrected = tmp_path / "export"
    assert run(live, "audit", "export", "--out", str(corrected)).exit_code == 0
    importer = json.loads(run(live, "audit", "replay", "--from-export", str(corrected), "--json").output)[
        "services"]["importer"]
    assert importer["identical"] and importer["refused"] is None, importer
    assert "beneficiary_changes" in importer["excluded"]


def test_ops04_agenda_changes_by_hand_replay_to_plannings_live_digest(demo, tmp_path):
    """OPS-04 with PLN-02, PLN-05, PRC-08: participants added and removed by hand, an action changed and
    another cancelled with its participant are restored from planning's own events."""
    home, export = demo
    live = tmp_path / "state"
    shutil.copytree(home, live)  # the module's demo stays as it was for the other tests
    events = [json.loads(line) for line in lines(export)]
    caused = {json.loads(line)["event_id"] for topic in export.glob("*.jsonl")
              for line in topic.read_bytes().splitlines()}
    by_hand = [i for e in events if e["type"] == "ActionPlanned" and e.get("causation_id") not in caused
               for i in e["payload"]["items"] if i["ods"] and i["max_participants"] == 1]
    taken = {i["action_id"] for e in events if e["type"] == "ParticipantAdded" for i in e["payload"]["items"]}
    first, second = [i["action_id"] for i in by_hand if i["action_id"] not in taken][:2]
    imported = [json.loads(line) for line in lines(export, "prestaflow.import.events")]
    person = next(i["beneficiary_id"] for e in imported if e["type"] == "BeneficiaryRegistered"
                  for i in e["payload"]["items"])
    for command in (("add-participant", first, person), ("change", first, "--max", "2"),
                    ("remove-participant", first, person, "--reason", "Empêchement"),
                    ("add-participant", second, person), ("cancel", second, "--reason", "Conseiller absent")):
        done = run(live, "planning", *command)
        assert done.exit_code == 0, (command, done.output)
    changed = tmp_path / "export"
    assert run(live, "audit", "export", "--out", str(changed)).exit_code == 0
    types = [json.loads(line)["type"] for line in lines(changed)[len(events):]]
    assert types == ["ParticipantAdded", "ActionChanged", "ParticipantRemoved", "ParticipantAdded",
                     "ParticipantRemoved", "ActionCancelled"]
    planning = json.loads(run(live, "audit", "replay", "--from-export", str(changed), "--json").output)[
        "services"]["planning"]
    assert planning["identical"] and planning["refused"] is None, planning
