"""OPS-02: the alert rules and the dashboard shipped with the manifests are about the metrics the
services really expose (servicekit.metrics), and every one of them is alerted on and drawn."""

import json
import re
from pathlib import Path

import yaml
from prometheus_client import REGISTRY

import servicekit.metrics  # noqa: F401 - registers the metrics

MONITORING = Path(__file__).resolve().parents[2] / "deploy" / "base" / "monitoring"
SUFFIXES = ("_total", "_bucket", "_count", "_sum", "_created")


def exposed() -> set[str]:
    names = set()
    for metric in REGISTRY.collect():
        if metric.name.startswith("prestaflow_"):
            names.add(metric.name)
    return names


def used(expr: str) -> set[str]:
    names = set()
    for name in re.findall(r"\b(prestaflow_\w+)", expr):
        for suffix in SUFFIXES:
            if name.endswith(suffix) and name.removesuffix(suffix) in exposed():
                name = name.removesuffix(suffix)
        names.add(name)
    return names


def alert_exprs() -> dict[str, str]:
    rule = yaml.safe_load((MONITORING / "prometheusrule.yaml").read_text())
    return {r["alert"]: r["expr"] for group in rule["spec"]["groups"] for r in group["rules"]}


def dashboard_exprs() -> list[str]:
    dashboard = json.loads((MONITORING / "prestaflow-dashboard.json").read_text())
    return [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]


def test_ops02_alerts_and_dashboard_name_only_exposed_metrics_and_cover_each_one():
    expected = {"prestaflow_consumer_lag", "prestaflow_outbox_backlog", "prestaflow_outbox_oldest_unpublished_seconds",
                "prestaflow_dead_letters_parked", "prestaflow_handler_errors", "prestaflow_handler_duration_seconds",
                "prestaflow_http_request_duration_seconds", "prestaflow_events_consumed", "prestaflow_events_published"}
    assert expected <= exposed()
    alerted = set().union(*map(used, alert_exprs().values()))
    drawn = set().union(*map(used, dashboard_exprs()))
    assert alerted <= exposed() and drawn <= exposed(), (alerted | drawn) - exposed()
    assert expected - {"prestaflow_events_published"} <= alerted
    assert expected <= drawn
    for expr in [*alert_exprs().values(), *dashboard_exprs()]:
        assert expr.count("(") == expr.count(")") and expr.count("[") == expr.count("]"), expr


def test_ops02_every_alert_says_what_and_how_bad():
    rule = yaml.safe_load((MONITORING / "prometheusrule.yaml").read_text())
    for group in rule["spec"]["groups"]:
        for alert in group["rules"]:
            assert alert["labels"]["severity"] in {"warning", "critical"}, alert["alert"]
            assert alert["annotations"]["summary"], alert["alert"]
            assert re.fullmatch(r"\d+m", alert["for"]), alert["alert"]
