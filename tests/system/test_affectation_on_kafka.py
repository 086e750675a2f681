"""Assignment with every service in its own process, on the real broker and PostgreSQL (AFF-01, AFF-03, X-01)."""

import json
import threading

import httpx
import pytest

from cluster import SAMPLES, wait_until

pytestmark = pytest.mark.system


def test_aff03_two_concurrent_assignments_one_wins_and_the_worklist_replays_identically(cluster):
    cluster.start()
    assert cluster.cli("referential", "load", str(SAMPLES / "referentiel.yaml")).returncode == 0
    wait_until(lambda: cluster.get("importer", "/referential")["version"] == 1, what="importer projection")
    wait_until(lambda: cluster.get("affectation", "/referential")["version"] == 1, what="affectation projection")
    imported = cluster.cli("import", str(SAMPLES / "liste_inscrits_J-10.csv"), "--ressource", "ACR2025-L12")
    assert imported.returncode == 0, imported.stderr
    rows = wait_until(lambda: len(r := cluster.get("affectation", "/appointments")) == 6 and r, what="worklist")
    entry = next(r for r in rows if r["starts_at"].startswith("2025-01-16T09:00"))
    assert [b["last_name"] for b in entry["beneficiaries"]] == ["BENALI"]  # names unsealed with importer's key

    answers: dict[str, httpx.Response] = {}
    barrier = threading.Barrier(2)

    def assign(advisor: str) -> None:
        barrier.wait()
        answers[advisor] = httpx.post(f"{cluster.url('affectation')}/affectation/appointments/{entry['action_id']}/assign",
                                      json={"advisor": advisor, "site": "ARM", "user": advisor},
                                      headers=cluster.headers(), timeout=30)

    threads = [threading.Thread(target=assign, args=(a,)) for a in ("cdurand", "kbenamar")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status_code for r in answers.values())
    assert codes == [200, 409], {a: r.text for a, r in answers.items()}
    winner = next(a for a, r in answers.items() if r.status_code == 200)
    loser = next(r for r in answers.values() if r.status_code == 409)
    assert "autre utilisateur" in loser.json()["messages"][0]

    action = wait_until(lambda: (a := cluster.get("planning", f"/actions/{entry['action_id']}"))["advisor"] and a,
                        what="planning applied the assignment")
    assert action["advisor"] == winner and action["participants"] == 1 and not action["to_assign"]
    wait_until(lambda: len(cluster.get("affectation", "/appointments")) == 5, what="entry left the worklist")

    # The auditor's replay of the topics rebuilds affectation (its worklist and the winning assignment)
    # exactly as the live one (OPS-04).
    replayed = cluster.cli("audit", "replay", "--from-kafka", cluster.broker.bootstrap, "--json")
    services = json.loads(replayed.stdout)["services"]
    assert all(s["log_complete"] for s in services.values()), services  # each topic read to its end
    affectation = services["affectation"]
    # Its input events, its own ParticipantAssigned and planning's AssignmentApplied (published last,
    # in one batch with ActionChanged: the assignment's outcome).
    assert affectation["applied"] == 7, affectation
    assert affectation["identical"] and affectation["differing_tables"] == {}, affectation
