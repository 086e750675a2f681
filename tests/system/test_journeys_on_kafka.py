"""Journeys with every service in its own process on the real broker and PostgreSQL (PRC-01, PRC-07):
the imported J-10 list reaches planning through the broker and opens the enrolments; a form and the
closing run from the command line close one journey, once, even when the run is repeated."""

import json

import pytest

from cluster import SAMPLES, wait_until

pytestmark = pytest.mark.system


def test_prc01_prc07_journeys_open_from_the_broker_and_close_once(cluster):
    clock = cluster.workdir / "clock.txt"
    clock.write_text("2025-01-04T09:00:00+01:00")
    cluster.extra_env["PRESTAFLOW_CLOCK_FILE"] = str(clock)
    cluster.start()
    assert cluster.cli("referential", "load", str(SAMPLES / "referentiel.yaml")).returncode == 0
    wait_until(lambda: cluster.get("importer", "/referential")["version"] == 1, what="importer projection")
    j10 = cluster.cli("import", str(SAMPLES / "liste_inscrits_J-10.csv"), "--ressource", "ACR2025-L12", "--json")
    assert j10.returncode == 0, j10.stderr
    wait_until(lambda: len(cluster.get("planning", "/journeys")) == 6, what="six enrolments opened in planning")
    assert len(cluster.items("planning", "EnrolmentOpened")) == 6

    journey = next(j for j in (cluster.get("planning", f"/journeys/{row['id']}")
                               for row in cluster.get("planning", "/journeys")) if j["form"]["agency_code"] == "59123")
    clock.write_text("2025-01-20T09:00:00+01:00")
    [action] = journey["actions"]
    presence = cluster.cli("planning", "presence", action["action_id"], journey["beneficiary_id"], "oui")
    assert presence.returncode == 0, presence.stderr
    # BEN-02: notify sent the GDPR mail with the link it took from importer (its own credentials, SEC-03)
    person = f"/beneficiaries/{journey['beneficiary_id']}"
    wait_until(lambda: cluster.get("importer", person)["gdpr"]["status"] == "requested", what="accord RGPD demandé")
    paper = cluster.cli("beneficiary", "gdpr-paper", journey["beneficiary_id"], "--json")  # with PRESTAFLOW_URL
    assert paper.returncode == 0 and json.loads(paper.stdout)["status"] == "paper", paper.stderr
    again = cluster.cli("beneficiary", "gdpr-request", journey["beneficiary_id"])
    assert again.returncode == 1 and "Accord RGPD déjà recueilli (accord papier du" in again.stderr
    form = cluster.cli("journey", "form", journey["id"], "--initial-interview", "2025-01-14", "--initial-outcome",
                       "poursuivi", "--end-date", "2025-01-17", "--exit", "sortie", "--reason", "Reprise d'emploi")
    assert form.returncode == 0, form.stderr

    clock.write_text("2025-04-15T09:00:00+02:00")
    runs = [json.loads(cluster.cli("journey", "close-due", "--json").stdout) for _ in range(2)]
    assert [r["closed"] for r in runs] == [[journey["id"]], []]
    [closed] = cluster.items("planning", "ODSClosed")
    assert (closed["enrolment_id"], closed["outcome"], closed["outcome_date"], closed["closing"]) == (
        journey["id"], "sortie_anticipee", "2025-01-17", 1)
