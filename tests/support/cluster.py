"""The five services as separate processes, as they run in production (one per deployment)."""

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from servicekit.oidc_provider import LocalOpenIdProvider
from servicekit.pytest_plugin import PG_URL, KafkaBroker, free_port

SERVICES = ("planning", "importer", "affectation", "billing", "notify")
REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO.parent / "shared" / "prestappli" / "samples"
ADMIN = "admin-tests"  # the tests' administrator (PRESTAFLOW_ADMINISTRATORS)
CLI_CLIENT = "prestaflow-cli"  # the CLI's client; its service account is an administrator too


def client_secret(client: str) -> str:
    return f"secret-of-{client}"


@dataclass
class Cluster:
    broker: KafkaBroker
    schema_prefix: str
    workdir: Path
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)
    # SEC-01/SEC-03: the services check tokens of this provider; each has its own client credentials.
    oidc: LocalOpenIdProvider = field(default_factory=lambda: LocalOpenIdProvider(clients={
        c: client_secret(c) for c in [CLI_CLIENT, *(f"prestaflow-{s}" for s in SERVICES)]}).__enter__())

    def close(self) -> None:
        self.stop_all()
        self.oidc.__exit__(None, None, None)

    def headers(self, subject: str = ADMIN) -> dict[str, str]:
        """A bearer token of ``subject`` (the tests' administrator by default)."""
        return {"Authorization": f"Bearer {self.oidc.token(subject)}"}

    @property
    def faults_file(self) -> Path:
        return self.workdir / "faults.json"

    def set_faults(self, crash: list[str] = (), fail: list[str] = ()) -> None:
        self.faults_file.write_text(json.dumps({"crash": list(crash), "fail": list(fail)}))

    def env(self, service: str | None = None) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "PRESTAFLOW_BUS": self.broker.url,
            "PRESTAFLOW_TOPIC_NAMESPACE": self.broker.namespace,
            "PRESTAFLOW_KAFKA_IDEMPOTENCE": str(self.broker.idempotence).lower(),
            "PRESTAFLOW_DATABASE_URL": PG_URL,
            "PRESTAFLOW_DB_SCHEMA_PREFIX": self.schema_prefix,
            "PRESTAFLOW_FAULTS_FILE": str(self.faults_file),
            "PRESTAFLOW_RETRY_BACKOFF_SECONDS": "0.05",
            "PRESTAFLOW_RELAY_POLL_SECONDS": "0.2",
            "PRESTAFLOW_URL": self.url("planning"),
            "PRESTAFLOW_IMPORTER_URL": self.url("importer"),
            "PRESTAFLOW_PLANNING_URL": self.url("planning"),
            "PRESTAFLOW_OIDC_ISSUER": self.oidc.issuer,
            "PRESTAFLOW_OIDC_AUDIENCE": self.oidc.audience,
            "PRESTAFLOW_OIDC_JWKS_URL": self.oidc.jwks_url,
            "PRESTAFLOW_ADMINISTRATORS": json.dumps([ADMIN, f"service-account-{CLI_CLIENT}"]),
            # the CLI's client replays services' logs (prestaflow replay), which reads importer's keys
            "PRESTAFLOW_SERVICE_CLIENTS": json.dumps({f"prestaflow-{s}": s for s in SERVICES} | {CLI_CLIENT: "replay"}),
            "PRESTAFLOW_CLIENT_ID": CLI_CLIENT,
            "PRESTAFLOW_CLIENT_SECRET": client_secret(CLI_CLIENT),
        })
        env.update({f"PRESTAFLOW_URL_{s.upper()}": self.url(s) for s in self.ports})
        env.update(self.extra_env)
        if service:
            env["PRESTAFLOW_HTTP_PORT"] = str(self.ports[service])
            env["PRESTAFLOW_CLIENT_ID"] = f"prestaflow-{service}"
            env["PRESTAFLOW_CLIENT_SECRET"] = client_secret(f"prestaflow-{service}")
        return env

    def events(self, service: str) -> list[dict]:
        """Every envelope in ``service``'s event log, page by page."""
        out, after = [], 0
        while page := self.get(service, f"/admin/events?after={after}&limit=10000"):
            out += [e["envelope"] for e in page]
            after = page[-1]["position"]
        return out

    def items(self, service: str, event_type: str) -> list[dict]:
        """The items of every ``event_type`` event in ``service``'s log, in order."""
        return [item for e in self.events(service) if e["type"] == event_type for item in e["payload"]["items"]]

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports.setdefault(service, free_port())}"

    def start(self, *services: str) -> None:
        for service in services or SERVICES:
            self.url(service)
        for service in services or SERVICES:
            log = (self.workdir / f"{service}.log").open("ab")
            self.processes[service] = subprocess.Popen(
                [sys.executable, "-m", service], env=self.env(service), stdout=log, stderr=log, cwd=self.workdir)
        for service in services or SERVICES:
            self.wait_ready(service)

    def wait_ready(self, service: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.processes[service].poll() is not None:
                raise RuntimeError(f"{service} exited: {self.log(service)[-3000:]}")
            try:
                if httpx.get(self.url(service) + "/health/ready", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{service} not ready: {self.log(service)[-3000:]}")

    def kill(self, service: str) -> None:
        process = self.processes.pop(service)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(10)

    def wait_exit(self, service: str, timeout: float = 60) -> int:
        return self.processes.pop(service).wait(timeout)

    def stop_all(self) -> None:
        for service in list(self.processes):
            process = self.processes.pop(service)
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()

    def log(self, service: str) -> str:
        path = self.workdir / f"{service}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def get(self, service: str, path: str):
        response = httpx.get(f"{self.url(service)}/{service}{path}", headers=self.headers(), timeout=10)
        response.raise_for_status()
        return response.json()

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "prestaflow.cli", *args], env=self.env(),
                              capture_output=True, text=True, timeout=120)

    def metric(self, process: str, name: str, **labels: str) -> float:
        text = httpx.get(self.url(process) + "/metrics", timeout=5).text
        wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        for line in text.splitlines():
            if line.startswith(name + "{"):
                got = ",".join(sorted(line[len(name) + 1:line.index("}")].split(",")))
                if got == wanted:
                    return float(line.rsplit(" ", 1)[1])
        return 0.0


def wait_until(predicate, timeout: float = 60, interval: float = 0.3, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(interval)
    raise TimeoutError(f"{what} not reached in {timeout}s (last: {last!r})")
