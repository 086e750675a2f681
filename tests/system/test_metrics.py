"""OPS-02: after a scenario on the real broker and PostgreSQL (referential, an import, a handler
that fails until its event is parked, a relay that cannot publish), each service's /metrics holds
every series an operator alerts on, with the values the scenario implies."""

import json
import re
import time

import httpx
import pytest

from cluster import SAMPLES, SERVICES, wait_until

pytestmark = pytest.mark.system


def scrape(cluster, service: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of the service's /metrics: (name, labels) -> value."""
    text = httpx.get(cluster.url(service) + "/metrics", timeout=10).text
    samples = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        match = re.fullmatch(r"([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)", line)
        assert match, line
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
        samples[(match.group(1), labels)] = float(match.group(3))
    return samples


def series(samples, name: str, **labels: str) -> dict[frozenset, float]:
    wanted = set(labels.items())
    return {k: v for (n, k), v in samples.items() if n == name and wanted <= k}


def participants(cluster) -> int:
    return sum(a["participants"] for a in cluster.get("planning", "/actions"))


def test_ops02_metrics_after_an_import_a_parked_event_and_a_stuck_relay(cluster):
    cluster.set_faults(fail=["billing.handle.ReferentialChanged"])  # billing cannot apply the referential
    cluster.start()
    assert cluster.cli("referential", "load", str(SAMPLES / "referentiel.yaml")).returncode == 0
    wait_until(lambda: cluster.get("importer", "/referential")["version"] == 1, what="importer projection")
    imported = cluster.cli("import", str(SAMPLES / "liste_inscrits_J-10.csv"), "--ressource", "ACR2025-L12", "--json")
    assert imported.returncode == 0, imported.stderr
    wait_until(lambda: participants(cluster) == 6, what="six appointments attached in planning")
    wait_until(lambda: len(cluster.get("billing", "/admin/dead-letters")) == 1, what="billing's parked event")

    # Consumer lag, per topic and partition: planning consumed importer's events up to the end.
    def planning_caught_up():
        lag = series(scrape(cluster, "planning"), "prestaflow_consumer_lag", service="planning",
                     topic="prestaflow.import.events")
        return len(lag) == 3 and all(v == 0 for v in lag.values())  # 3 partitions, none behind
    wait_until(planning_caught_up, what="planning's lag on importer's topic, 0 on each of 3 partitions")

    planning = scrape(cluster, "planning")
    assert {dict(k)["topic"] for k in series(planning, "prestaflow_consumer_lag")} == {
        "prestaflow.import.events", "prestaflow.affectation.events", "prestaflow.billing.events",
        "prestaflow.notify.events"}
    # Handler durations: importer's list event (one per import) handled by planning, timed.
    durations = series(planning, "prestaflow_handler_duration_seconds_count", service="planning")
    assert sum(durations.values()) >= 1
    assert 0 < sum(series(planning, "prestaflow_handler_duration_seconds_sum", service="planning").values()) < 60
    # Outbox: everything planning emitted is published.
    assert series(planning, "prestaflow_outbox_backlog", service="planning") == {frozenset({("service", "planning")}): 0}
    assert list(series(planning, "prestaflow_outbox_oldest_unpublished_seconds").values()) == [0]

    # Handler errors and dead letters: billing tried the referential 3 times, then parked it.
    billing = scrape(cluster, "billing")
    assert series(billing, "prestaflow_handler_errors_total", service="billing", type="ReferentialChanged") \
        == {frozenset({("service", "billing"), ("type", "ReferentialChanged")}): 3}
    assert list(series(billing, "prestaflow_dead_letters_parked", service="billing").values()) == [1]
    assert list(series(planning, "prestaflow_dead_letters_parked", service="planning").values()) == [0]

    # HTTP latency, by route template (never the raw path), with its status.
    importer = scrape(cluster, "importer")
    posted = series(importer, "prestaflow_http_request_duration_seconds_count", service="importer", method="POST")
    assert any(dict(k)["route"] == "/importer/imports" and dict(k)["status"] == "200" and v >= 1
               for k, v in posted.items()), posted
    assert all(dict(k)["route"].startswith("/importer/") for k in posted)

    # A relay that cannot publish: the backlog grows and its oldest row ages.
    cluster.set_faults(fail=["importer.relay.before_publish"])
    confirmed = cluster.cli("import", str(SAMPLES / "liste_inscrits_J-2.csv"), "--ressource", "ACR2025-L12", "--json")
    assert confirmed.returncode == 0, confirmed.stderr
    time.sleep(1.5)
    stuck = scrape(cluster, "importer")
    backlog = list(series(stuck, "prestaflow_outbox_backlog", service="importer").values())[0]
    age = list(series(stuck, "prestaflow_outbox_oldest_unpublished_seconds", service="importer").values())[0]
    assert backlog >= 1 and 1.0 <= age < 120, (backlog, age)
    cluster.set_faults()
    wait_until(lambda: list(series(scrape(cluster, "importer"), "prestaflow_outbox_backlog").values()) == [0],
               what="the backlog published once the relay can")
    assert json.loads(confirmed.stdout)["counts"]["confirmed"] == 4
    assert set(SERVICES) >= {"planning", "importer", "billing"}
