"""Imports with every service in its own process on the real broker and PostgreSQL: the sample
J-10 then J-2 lists, the purge five days later, and an importer killed in the middle of an import
(IMP-04..IMP-07, X-02, X-04)."""

import asyncio
import json
import threading
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy.ext.asyncio import create_async_engine

from servicekit.pytest_plugin import PG_URL

from cluster import SAMPLES, SERVICES, wait_until
from lists import generated_list
from scans import database_text

pytestmark = pytest.mark.system
ETIENNE = ("ÉTIENNE", "François", "4567890D", "+33320112233")


def participants(cluster) -> int:
    return sum(a["participants"] for a in cluster.get("planning", "/actions"))


async def all_database_text(prefix: str) -> str:
    engine = create_async_engine(PG_URL)
    try:
        return await database_text(engine, [f"{prefix}{service}" for service in SERVICES])
    finally:
        await engine.dispose()




async def topic_text(cluster) -> str:
    consumer = AIOKafkaConsumer(bootstrap_servers=cluster.broker.bootstrap, auto_offset_reset="earliest",
                                group_id=None, consumer_timeout_ms=2000)
    await consumer.start()
    try:
        topics = [t for t in await consumer.topics() if t.startswith(cluster.broker.namespace + "prestaflow.")]
        consumer.subscribe(topics)
        chunks = []
        while batch := await consumer.getmany(timeout_ms=3000):
            chunks += [r.value.decode() for records in batch.values() for r in records]
    finally:
        await consumer.stop()
    return "\n".join(chunks)


async def test_imp06_sample_lists_confirmation_and_purge_through_the_broker(cluster):
    clock = cluster.workdir / "clock.txt"
    clock.write_text("2025-01-12T18:00:00+00:00")
    cluster.extra_env["PRESTAFLOW_CLOCK_FILE"] = str(clock)
    cluster.start()
    assert cluster.cli("referential", "load", str(SAMPLES / "referentiel.yaml")).returncode == 0
    wait_until(lambda: cluster.get("importer", "/referential")["version"] == 1, what="importer projection")

    j10 = cluster.cli("import", str(SAMPLES / "liste_inscrits_J-10.csv"), "--ressource", "ACR2025-L12", "--json")
    assert j10.returncode == 0, j10.stderr
    assert json.loads(j10.stdout)["counts"]["created"] == 6
    wait_until(lambda: participants(cluster) == 6, what="six appointments attached in planning")

    j2 = cluster.cli("import", str(SAMPLES / "liste_inscrits_J-2.csv"), "--ressource", "ACR2025-L12", "--json")
    report = json.loads(j2.stdout)
    assert (report["counts"]["confirmed"], report["counts"]["not_confirmed"]) == (4, 1)
    wait_until(lambda: participants(cluster) == 5, what="the unconfirmed participant removed")
    etienne = next(p for p in cluster.get("importer", "/beneficiaries") if p["ft_id"] == "4567890D")
    assert etienne["purge_on"] == "2025-01-17"

    clock.write_text((datetime(2025, 1, 12, 18, tzinfo=UTC) + timedelta(days=5)).isoformat())
    purged = httpx.post(cluster.url("importer") + "/importer/purge", headers=cluster.headers(), timeout=30).json()
    assert purged == {"purged": [etienne["id"]]}
    wait_until(lambda: any(e["type"] == "BeneficiaryPurged" for e in cluster.events("importer")), what="purge event")

    # Every service honours the purge when it consumes BeneficiaryPurged: give them the time to.
    for _ in range(120):
        databases = await all_database_text(cluster.schema_prefix)
        if not any(value in databases for value in ETIENNE):
            break
        await asyncio.sleep(0.5)
    log = await topic_text(cluster)
    assert "DUPONT" in databases and "BeneficiaryRegistered" in log  # the scans do see data
    for value in ETIENNE:
        assert value not in databases, f"{value} left in a database"
        assert value not in log, f"{value} readable in the event log"
    key_url = cluster.url("importer") + f"/importer/beneficiaries/{etienne['id']}/key"
    service = {"Authorization": "Bearer " + cluster.oidc.service_token("prestaflow-notify")}
    assert httpx.get(key_url, headers=service).status_code == 404
    assert httpx.get(key_url, headers=cluster.headers()).status_code == 403  # SEC-03: no person's token opens it


def started_with_a_list(cluster, tmp_path, rows: int):
    """Every service started, the sample referential loaded and in importer; a generated list's path."""
    listing = tmp_path / f"liste_{rows}.csv"
    listing.write_bytes(generated_list(rows))
    cluster.start()
    assert cluster.cli("referential", "load", str(SAMPLES / "referentiel.yaml")).returncode == 0
    wait_until(lambda: cluster.get("importer", "/referential")["version"] == 1, what="importer projection")
    return listing


@pytest.mark.timeout(900)  # 5,000 rows through five processes on two cores take minutes
def test_imp07_importer_killed_mid_import_then_rerun_registers_everyone_exactly_once(cluster, tmp_path):
    rows = 5000
    listing = started_with_a_list(cluster, tmp_path, rows)

    cluster.set_faults(crash=["importer.import.halfway"])
    outcome: dict = {}
    thread = threading.Thread(target=lambda: outcome.update(result=cluster.cli(
        "import", str(listing), "--ressource", "ACR2025-L12", "--json")))
    thread.start()
    assert cluster.wait_exit("importer", timeout=300) == 137  # SIGKILL-like death halfway through
    thread.join(60)
    assert outcome["result"].returncode != 0
    assert cluster.get("planning", "/actions") == []  # nothing of the half import escaped

    cluster.set_faults()
    cluster.start("importer")
    assert cluster.get("importer", "/beneficiaries") == []
    rerun = cluster.cli("import", str(listing), "--ressource", "ACR2025-L12", "--json")
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads(rerun.stdout)["counts"]["created"] == rows

    wait_until(lambda: participants(cluster) == rows, timeout=600, interval=2, what="every registration in planning")
    people = cluster.get("importer", "/beneficiaries")
    assert len(people) == len({p["ft_id"] for p in people}) == rows
    added = [i["beneficiary_id"] for i in cluster.items("planning", "ParticipantAdded")]
    assert len(added) == len(set(added)) == rows


def consumed(cluster, service: str, outcome: str) -> float:
    """What ``prestaflow_events_consumed_total`` says for one outcome, all types together."""
    text = httpx.get(cluster.url(service) + "/metrics", timeout=10).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("prestaflow_events_consumed_total{") and f'outcome="{outcome}"' in line)


@pytest.mark.timeout(600)
def test_x02_consumer_killed_after_committing_a_batch_gets_it_again_and_applies_nothing_twice(cluster, tmp_path):
    """A consumer commits a polled batch of an import's registrations, then dies before its offsets are
    acknowledged: restarted, it is given the batch again, its inbox skips every event of it, and each
    registration is attached exactly once (X-02, IMP-05)."""
    rows = 600
    listing = started_with_a_list(cluster, tmp_path, rows)
    wait_until(lambda: cluster.get("planning", "/referential")["version"] == 1, what="planning referential")

    cluster.set_faults(crash=["planning.after_commit"])
    imported = cluster.cli("import", str(listing), "--ressource", "ACR2025-L12", "--json")
    assert imported.returncode == 0, imported.stderr
    assert cluster.wait_exit("planning", timeout=120) == 137  # died right after its first batch's commit
    cluster.set_faults()
    cluster.start("planning")

    wait_until(lambda: participants(cluster) == rows, timeout=300, interval=2, what="every registration attached")
    added = [i["beneficiary_id"] for i in cluster.items("planning", "ParticipantAdded")]
    assert len(added) == len(set(added)) == rows
    assert consumed(cluster, "planning", "duplicate") > 0  # the committed batch did come back, and was skipped
    for service in SERVICES:
        assert cluster.get(service, "/admin/dead-letters") == []


@pytest.mark.timeout(600)
def test_x02_consumer_killed_in_the_middle_of_a_thousand_item_event_applies_every_item_exactly_once(cluster, tmp_path):
    """Planning dies (as SIGKILL would) while it applies an import's 1,000 registrations, one event of
    1,000 items, with every item written and nothing committed: restarted, it is given the event
    again and applies each item exactly once (#15, X-02, IMP-05)."""
    rows = 1000
    listing = started_with_a_list(cluster, tmp_path, rows)
    wait_until(lambda: cluster.get("planning", "/referential")["version"] == 1, what="planning referential")

    cluster.set_faults(crash=["planning.before_commit"])
    imported = cluster.cli("import", str(listing), "--ressource", "ACR2025-L12", "--json")
    assert imported.returncode == 0, imported.stderr
    recorded = [e for e in cluster.events("importer") if e["type"] == "RegistrationRecorded"]
    assert [len(e["payload"]["items"]) for e in recorded] == [rows]  # one event carries the whole list
    assert cluster.wait_exit("planning", timeout=120) == 137
    cluster.set_faults()
    cluster.start("planning")

    wait_until(lambda: participants(cluster) == rows, timeout=300, interval=2, what="every registration attached")
    added = [i["beneficiary_id"] for i in cluster.items("planning", "ParticipantAdded")]
    assert len(added) == len(set(added)) == rows
    for service in SERVICES:
        assert cluster.get(service, "/admin/dead-letters") == []
