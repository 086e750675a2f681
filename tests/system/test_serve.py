"""``prestaflow serve``: every service in one process, one HTTP port, each API under its prefix."""

import os
import subprocess
import sys

import httpx
import pytest

from servicekit.pytest_plugin import free_port

from cluster import SAMPLES, wait_until

pytestmark = pytest.mark.system


def test_serve_runs_every_service_on_one_port_and_the_cli_talks_to_it(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRESTAFLOW_")} | {
        "PRESTAFLOW_HOME": str(tmp_path / "home")}
    server = subprocess.Popen([sys.executable, "-m", "prestaflow.cli", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=(tmp_path / "serve.log").open("wb"))
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: httpx.get(url + "/health/ready", timeout=2).status_code == 200, timeout=60, what="ready")
        client_env = env | {"PRESTAFLOW_URL": url}
        loaded = subprocess.run([sys.executable, "-m", "prestaflow.cli", "referential", "load",
                                 str(SAMPLES / "referentiel.yaml")], env=client_env, capture_output=True, text=True)
        assert loaded.returncode == 0, loaded.stderr
        # Background relays deliver the event without any command waiting for it.
        wait_until(lambda: httpx.get(url + "/billing/referential").json()["version"] == 1, what="billing projection")
        for service in ("planning", "importer", "affectation", "billing", "notify"):
            assert httpx.get(f"{url}/{service}/admin/dead-letters").json() == []
        assert "prestaflow_events_published_total" in httpx.get(url + "/metrics").text
        usage = subprocess.run([sys.executable, "-m", "prestaflow.cli", "referential", "lod"], env=client_env,
                               capture_output=True, text=True)
        assert usage.returncode == 2
    finally:
        server.terminate()
        server.wait(20)
