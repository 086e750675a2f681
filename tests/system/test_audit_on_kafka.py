"""``prestaflow audit`` reading the real topics (OPS-04): every service in its own process on a
Kafka-protocol broker (Tansu unless one is configured) and PostgreSQL."""

import json

import pytest

from cluster import SAMPLES, wait_until

pytestmark = pytest.mark.system


def test_ops04_audit_reads_the_topics_from_the_beginning_verifies_and_replays_them(cluster, tmp_path):
    cluster.start()
    loaded = cluster.cli("referential", "load", str(SAMPLES / "referentiel.yaml"))
    assert loaded.returncode == 0, loaded.stderr
    for service in ("importer", "affectation", "billing"):
        wait_until(lambda s=service: cluster.get(s, "/referential")["version"] == 1, what=f"{service} projection")
    bootstrap = cluster.broker.bootstrap

    exported = cluster.cli("audit", "export", "--out", str(tmp_path / "dossier"), "--from-kafka", bootstrap)
    assert exported.returncode == 0, exported.stderr
    manifest = json.loads((tmp_path / "dossier" / "manifest.json").read_text())
    published = {topic.split(".")[-2]: t["events"] for topic, t in manifest["topics"].items()}
    assert published["planning"] == 1 and published["billing"] == 1 and published["notify"] == 1

    verified = cluster.cli("audit", "verify", "--from-kafka", bootstrap, "--json")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert json.loads(verified.stdout)["chained"] == {"planning": 1, "billing": 1, "notify": 1}

    replayed = cluster.cli("audit", "replay", "--from-kafka", bootstrap, "--json")
    report = json.loads(replayed.stdout)
    services = report["services"]
    assert all(s["log_complete"] for s in services.values()), services
    # The projections of planning's ReferentialChanged, rebuilt in SQLite from the topic, are the live
    # PostgreSQL ones row for row.
    assert services["importer"]["identical"] and services["affectation"]["identical"], services
    assert services["importer"]["applied"] == services["affectation"]["applied"] == 1
    assert {"ref_resources", "ref_sites"} & set(services["billing"]["differing_tables"]) == set()
    assert replayed.returncode == (0 if report["identical"] else 1)
