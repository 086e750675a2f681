"""The referential flow with every service in its own process, on a real Kafka-protocol broker and
the real PostgreSQL, crash and redelivery included (REF-01..REF-05, X-01, X-02)."""

import json
import os
import subprocess
import sys

import pytest
from aiokafka import AIOKafkaConsumer

from cluster import SAMPLES, wait_until

pytestmark = pytest.mark.system

REFERENTIAL = str(SAMPLES / "referentiel.yaml")


def embedded_env(cluster) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRESTAFLOW_")}
    return env | {"PRESTAFLOW_HOME": str(cluster.workdir / "embedded")}


def projection_version(cluster, service: str) -> int:
    return cluster.get(service, "/referential")["version"]


def test_ref01_referential_reaches_every_service_through_the_broker(cluster):
    cluster.start()
    loaded = cluster.cli("referential", "load", REFERENTIAL)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.count("modifié") == 3

    for service in ("importer", "affectation", "billing"):
        wait_until(lambda s=service: projection_version(cluster, s) == 1, what=f"{service} projection")
    importer = cluster.get("importer", "/referential")
    assert importer["structure_siret"] == "41234567800019"
    assert [r["market_number"] for r in importer["resources"]] == ["2024-FT-ACR-0042"]
    assert {a["address"]: a["site_code"] for a in importer["site_addresses"]}["A DISTANCE"] == "DIST"
    affectation = cluster.get("affectation", "/referential")
    assert {a["code"]: a["sites"] for a in affectation["advisors"]}["kbenamar"] == ["ARM", "LIL"]

    # The embedded default (SQLite, in-memory bus) holds exactly the same projections.
    shown = cluster.cli("referential", "show", "--json")
    assert shown.returncode == 0, shown.stderr
    embedded = subprocess.run([sys.executable, "-m", "prestaflow.cli", "referential", "load", REFERENTIAL],
                              env=embedded_env(cluster), capture_output=True, text=True)
    assert embedded.returncode == 0, embedded.stderr
    embedded = subprocess.run([sys.executable, "-m", "prestaflow.cli", "referential", "show", "--json"],
                              env=embedded_env(cluster), capture_output=True, text=True)
    assert json.loads(embedded.stdout) == json.loads(shown.stdout)

    again = cluster.cli("referential", "load", REFERENTIAL)
    assert again.returncode == 0 and again.stdout.count("inchangé") == 3
    # Nothing new was emitted: the event log holds one ReferentialChanged.
    assert [e["envelope"]["type"] for e in cluster.get("planning", "/admin/events")] == ["ReferentialChanged"]


def test_x02_consumer_killed_after_commit_before_ack_skips_the_redelivered_event(cluster):
    cluster.start()
    cluster.set_faults(crash=["importer.after_commit"])
    assert cluster.cli("referential", "load", REFERENTIAL).returncode == 0
    assert cluster.wait_exit("importer") == 137  # died between its commit and the offset commit

    cluster.set_faults()
    cluster.start("importer")
    wait_until(lambda: cluster.metric("importer", "prestaflow_events_consumed_total", service="importer",
                                      type="ReferentialChanged", outcome="duplicate") == 1,
               what="redelivered event skipped by the inbox")
    assert cluster.metric("importer", "prestaflow_events_consumed_total", service="importer",
                          type="ReferentialChanged", outcome="processed") == 0
    assert projection_version(cluster, "importer") == 1


def test_x02_relay_killed_before_publishing_publishes_after_restart(cluster):
    cluster.start()
    cluster.set_faults(crash=["planning.relay.before_publish"])
    cluster.cli("referential", "load", REFERENTIAL)  # planning may die before or after answering
    assert cluster.wait_exit("planning") == 137
    assert projection_version(cluster, "importer") == 0

    cluster.set_faults()
    cluster.start("planning")
    assert cluster.get("planning", "/referential")["version"] == 1  # the change was committed
    for service in ("importer", "affectation", "billing"):
        wait_until(lambda s=service: projection_version(cluster, s) == 1, what=f"{service} projection")
    events = cluster.get("planning", "/admin/events")
    assert len(events) == 1 and events[0]["published"]


async def test_x02_failing_handler_is_retried_dead_lettered_then_redriven(cluster):
    cluster.start()
    cluster.set_faults(fail=["billing.handle.ReferentialChanged"])
    assert cluster.cli("referential", "load", REFERENTIAL).returncode == 0

    [letter] = wait_until(lambda: cluster.get("billing", "/admin/dead-letters"), what="dead letter")
    assert letter["type"] == "ReferentialChanged" and letter["attempts"] == 3
    assert "fault injected at billing.handle.ReferentialChanged" in letter["error"]
    assert projection_version(cluster, "billing") == 0
    wait_until(lambda: projection_version(cluster, "importer") == 1, what="importer unaffected")

    consumer = AIOKafkaConsumer(cluster.broker.namespace + "prestaflow.billing.deadletter",
                                bootstrap_servers=cluster.broker.bootstrap, auto_offset_reset="earliest",
                                group_id=None)
    await consumer.start()
    try:
        record = await consumer.getone()
    finally:
        await consumer.stop()
    assert b"fault injected" in record.value

    cluster.set_faults()  # the cause is fixed
    redriven = cluster.cli("deadletters", "redrive", "--service", "billing")
    assert redriven.returncode == 0, redriven.stdout + redriven.stderr
    assert projection_version(cluster, "billing") == 1
    assert cluster.get("billing", "/admin/dead-letters") == []
