"""OPS-01: the Kubernetes manifests under deploy/ build, and every object they hold is valid.

- ``kubectl kustomize`` builds each overlay (kubectl missing: the test fails and says so);
- every core object is valid against Kubernetes' own schemas (``kubernetes-validate``, strict);
- every custom resource (Strimzi, CloudNativePG, KEDA, Prometheus Operator) is valid against the
  schema of its CRD, as released by its project and kept in deploy/crds/;
- ``checkov`` finds no failed check (a check that does not apply is waived in the manifest, with
  its reason, as a ``checkov.io/skip`` annotation);
- and what the system needs is there: a topic per producer with infinite retention, bounded dead
  letters, a user per service whose ACLs match its subscriptions, migrations before serving,
  a default-deny policy, a budget per service.
"""

import importlib
import json
import os
import shutil
import subprocess
from functools import cache
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from contracts.topics import BY_PRODUCER, dead_letter_topic

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
OVERLAYS = ("dev", "prod")
KUBERNETES_VERSION = "1.32.0"
SERVICES = ("planning", "importer", "affectation", "billing", "notify")


@cache
def build(overlay: str) -> tuple[dict, ...]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail("kubectl is not installed: the manifests cannot be built (install kubectl >= 1.27)")
    done = subprocess.run([kubectl, "kustomize", str(DEPLOY / "overlays" / overlay)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"kubectl kustomize {overlay} failed:\n{done.stderr}"
    return tuple(d for d in yaml.safe_load_all(done.stdout) if d)


@cache
def crd_schemas() -> dict[tuple[str, str], dict]:
    """(apiVersion, kind) -> the openAPIV3Schema of every CRD kept in deploy/crds/."""
    schemas = {}
    for path in sorted((DEPLOY / "crds").glob("*.yaml")):
        for crd in yaml.safe_load_all(path.read_text()):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                schemas[(f"{group}/{version['name']}", kind)] = version["schema"]["openAPIV3Schema"]
    return schemas


def is_custom(obj: dict) -> bool:
    group = obj["apiVersion"].rpartition("/")[0]
    return "." in group and not group.endswith(".k8s.io")


def objects(overlay: str, kind: str) -> list[dict]:
    return [o for o in build(overlay) if o["kind"] == kind]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_ops01_each_overlay_builds_with_kubectl_kustomize(overlay):
    kinds = {o["kind"] for o in build(overlay)}
    assert {"Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy", "KafkaTopic", "KafkaUser",
            "Cluster", "PrometheusRule"} <= kinds
    assert sorted(o["metadata"]["name"] for o in objects(overlay, "Deployment")) == sorted(SERVICES)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_ops01_every_core_object_is_valid_for_kubernetes(overlay):
    core = [o for o in build(overlay) if not is_custom(o)]
    assert len(core) > 20
    for obj in core:
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {error.message} at {list(error.path)}")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_ops01_every_custom_resource_is_valid_against_its_crd(overlay):
    custom = [o for o in build(overlay) if is_custom(o)]
    schemas = crd_schemas()
    assert {"Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser", "Cluster", "ScaledObject",
            "TriggerAuthentication", "PodMonitor", "PrometheusRule"} <= {o["kind"] for o in custom}
    for obj in custom:
        schema = schemas.get((obj["apiVersion"], obj["kind"]))
        assert schema is not None, f"no CRD in deploy/crds/ for {obj['apiVersion']} {obj['kind']}"
        errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(obj), key=lambda e: list(e.path))
        assert not errors, f"{obj['kind']}/{obj['metadata']['name']}: " + "; ".join(
            f"{e.message} at {list(e.path)}" for e in errors[:5])


def test_ops01_a_custom_resource_that_breaks_its_crd_is_caught():
    """The CRD check can fail: a KafkaTopic with partitions as text, or an unknown trigger field."""
    topic = dict(objects("prod", "KafkaTopic")[0])
    topic["spec"] = {**topic["spec"], "partitions": "six"}
    schema = crd_schemas()[(topic["apiVersion"], "KafkaTopic")]
    assert list(jsonschema.Draft7Validator(schema).iter_errors(topic))


def test_ops01_topics_keep_events_forever_and_dead_letters_bounded():
    topics = {t["metadata"]["name"]: t["spec"] for t in objects("prod", "KafkaTopic")}
    assert set(topics) == set(BY_PRODUCER.values()) | {dead_letter_topic(s) for s in SERVICES}
    for name, spec in topics.items():
        assert spec["replicas"] == 3 and spec["config"]["min.insync.replicas"] == 2, name
        if name in BY_PRODUCER.values():
            assert spec["config"]["retention.ms"] == -1 and spec["config"]["retention.bytes"] == -1, name
        else:
            assert 0 < spec["config"]["retention.ms"] <= 90 * 24 * 3600 * 1000, name
    dev = {t["metadata"]["name"]: t["spec"] for t in objects("dev", "KafkaTopic")}
    assert all(s["replicas"] == 1 and s["config"]["min.insync.replicas"] == 1 for s in dev.values())


def test_ops01_each_service_user_writes_its_topics_and_reads_exactly_its_subscriptions():
    from affectation.entrypoints.consumers import SUBSCRIPTIONS as affectation
    from billing.entrypoints.consumers import SUBSCRIPTIONS as billing
    from importer.entrypoints.consumers import SUBSCRIPTIONS as importer
    from notify.entrypoints.consumers import SUBSCRIPTIONS as notify
    from planning.entrypoints.consumers import SUBSCRIPTIONS as planning

    subscriptions = {"planning": planning, "importer": importer, "affectation": affectation,
                     "billing": billing, "notify": notify}
    users = {u["metadata"]["name"]: u["spec"] for u in objects("prod", "KafkaUser")}
    for service in SERVICES:
        acls = users[service]["authorization"]["acls"]
        by_operation: dict[str, set[str]] = {}
        for acl in acls:
            for operation in acl["operations"]:
                by_operation.setdefault(operation, set()).add(f"{acl['resource']['type']}:{acl['resource'].get('name')}")
        assert by_operation["Write"] == {f"topic:{BY_PRODUCER[service]}", f"topic:{dead_letter_topic(service)}"}
        assert by_operation["Read"] == {f"topic:{t}" for t in subscriptions[service]} | {f"group:{service}"}
        assert users[service]["authentication"]["type"] == "scram-sha-512"
    # Nobody else writes: KEDA only describes, the auditor only reads.
    for other in set(users) - set(SERVICES):
        operations = {o for acl in users[other]["authorization"]["acls"] for o in acl["operations"]}
        assert operations <= {"Read", "Describe"}, other
    assert set(users) == set(SERVICES) | {"keda", "auditor"}


def test_SEC_03_key_readers_are_the_consumers_of_importers_events_in_config_and_network_policy():
    """Importer's keys go to the services that receive its sealed personal data (they subscribe to
    its topic) and to the auditor's replay: the same set in the ConfigMap (PRESTAFLOW_KEY_READERS,
    checked on each token), in importer's default, and in the network policies to and from importer."""
    from importer.config import KEY_READERS

    readers = {s for s in SERVICES if BY_PRODUCER["importer"] in subscriptions_of(s)}
    assert readers == {"affectation", "billing", "notify", "planning"}
    for overlay in OVERLAYS:
        config = next(c for c in objects(overlay, "ConfigMap") if c["metadata"]["name"].startswith("prestaflow-config"))
        assert set(json.loads(config["data"]["PRESTAFLOW_KEY_READERS"])) == readers | {"replay"} == set(KEY_READERS)
        policies = {p["metadata"]["name"]: p["spec"] for p in objects(overlay, "NetworkPolicy")}
        ingress = policies["importer-keys-ingress"]["ingress"][0]["from"][0]["podSelector"]["matchExpressions"]
        egress = policies["key-readers-egress"]["podSelector"]["matchExpressions"]
        assert set(ingress[0]["values"]) == set(egress[0]["values"]) == readers


def subscriptions_of(service: str) -> tuple[str, ...]:
    return importlib.import_module(f"{service}.entrypoints.consumers").SUBSCRIPTIONS


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_ops01_migrations_run_before_serving_and_pods_are_guarded(overlay):
    deployments = objects(overlay, "Deployment")
    for deployment in deployments:
        pod = deployment["spec"]["template"]["spec"]
        name = deployment["metadata"]["name"]
        assert [c["name"] for c in pod["initContainers"]] == ["migrate"]
        assert pod["initContainers"][0]["image"] == pod["containers"][0]["image"]
        assert "migrate" in " ".join(pod["initContainers"][0]["command"])
        kafka_password = next(e for e in pod["containers"][0]["env"] if e["name"] == "PRESTAFLOW_KAFKA_PASSWORD")
        assert kafka_password["valueFrom"]["secretKeyRef"]["name"] == name  # its own KafkaUser
        assert pod["containers"][0]["image"].rpartition(":")[0].endswith(f"prestaflow/{name}")
    budgets = {p["metadata"]["name"]: p["spec"]["selector"] for p in objects(overlay, "PodDisruptionBudget")}
    assert budgets == {s: {"matchLabels": {"app.kubernetes.io/name": s}} for s in SERVICES}
    scaled = {s["metadata"]["name"]: s["spec"] for s in objects(overlay, "ScaledObject")}
    assert set(scaled) == {"planning", "importer", "affectation", "billing"}  # notify is serialized
    for name, spec in scaled.items():
        assert spec["scaleTargetRef"]["name"] == name
        assert spec["triggers"][0]["type"] == "kafka" and spec["triggers"][0]["metadata"]["consumerGroup"] == name
    policies = {p["metadata"]["name"]: p["spec"] for p in objects(overlay, "NetworkPolicy")}
    assert policies["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_ops01_prod_database_is_replicated_and_backed_up_every_night():
    cluster = objects("prod", "Cluster")[0]["spec"]
    assert cluster["instances"] == 3 and cluster["backup"]["barmanObjectStore"]["destinationPath"]
    backup = objects("prod", "ScheduledBackup")[0]["spec"]
    assert backup["cluster"]["name"] == "prestaflow-db" and backup["schedule"] == "0 0 2 * * *"
    assert not objects("dev", "ScheduledBackup")


def checkov() -> str:
    """checkov lives in its own virtualenv (its dependencies conflict with the project's), which
    ``make test`` creates: .venv-checkov at the repository root, or CHECKOV naming the program."""
    program = os.environ.get("CHECKOV") or str(ROOT / ".venv-checkov" / "bin" / "checkov")
    if not Path(program).exists():
        pytest.fail(f"checkov is not installed at {program}: run `make checkov` (make test does it)")
    return program


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_ops01_checkov_finds_no_failed_check(overlay, tmp_path):
    rendered = tmp_path / f"{overlay}.yaml"
    rendered.write_text(yaml.safe_dump_all(build(overlay), sort_keys=False))
    done = subprocess.run([checkov(), "--skip-download", "--framework", "kubernetes", "-o", "json",
                           "-f", str(rendered)], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "BC_SKIP_MAPPING": "TRUE"})
    report = json.loads(done.stdout)
    results = report[0]["results"] if isinstance(report, list) else report["results"]
    failed = [f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in results["failed_checks"]]
    assert not failed, "\n".join(failed)
    assert results["passed_checks"], "checkov checked nothing"
    skipped = results["skipped_checks"]
    assert all(len(s["check_result"].get("suppress_comment", "")) > 20 for s in skipped), \
        "a waived check without its reason"
