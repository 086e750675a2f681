"""``prestaflow serve``: every service in one process, one HTTP port, each API under its prefix."""

import os
import subprocess
import sys

import httpx
import pytest

from servicekit.oidc_provider import LocalOpenIdProvider
from servicekit.pytest_plugin import free_port

from cluster import SAMPLES, wait_until

pytestmark = pytest.mark.system


@pytest.fixture
def provider():
    with LocalOpenIdProvider() as p:
        yield p


def test_serve_runs_every_service_on_one_port_and_the_cli_talks_to_it(tmp_path, provider):
    """SEC-01: the port opens with authentication on; the CLI sends PRESTAFLOW_TOKEN; 401/403 in French."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRESTAFLOW_")} | {
        "PRESTAFLOW_HOME": str(tmp_path / "home"), "PRESTAFLOW_OIDC_ISSUER": provider.issuer,
        "PRESTAFLOW_OIDC_AUDIENCE": provider.audience, "PRESTAFLOW_OIDC_JWKS_URL": provider.jwks_url,
        "PRESTAFLOW_ADMINISTRATORS": '["admin"]'}
    admin = {"Authorization": "Bearer " + provider.token("admin")}
    server = subprocess.Popen([sys.executable, "-m", "prestaflow.cli", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=(tmp_path / "serve.log").open("wb"))
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: httpx.get(url + "/health/ready", timeout=2).status_code == 200, timeout=60, what="ready")
        client_env = env | {"PRESTAFLOW_URL": url, "PRESTAFLOW_TOKEN": provider.token("admin")}
        assert httpx.get(url + "/planning/referential").status_code == 401
        stranger = subprocess.run([sys.executable, "-m", "prestaflow.cli", "referential", "show"],
                                  env=client_env | {"PRESTAFLOW_TOKEN": provider.token("stranger")},
                                  capture_output=True, text=True)
        assert stranger.returncode == 1
        assert "Accès refusé : votre profil ne donne pas le droit « lecture » sur le module « planning »." \
            in stranger.stderr
        no_token = subprocess.run([sys.executable, "-m", "prestaflow.cli", "referential", "show"],
                                  env=client_env | {"PRESTAFLOW_TOKEN": ""}, capture_output=True, text=True)
        assert no_token.returncode == 1 and "Authentification requise" in no_token.stderr
        loaded = subprocess.run([sys.executable, "-m", "prestaflow.cli", "referential", "load",
                                 str(SAMPLES / "referentiel.yaml")], env=client_env, capture_output=True, text=True)
        assert loaded.returncode == 0, loaded.stderr
        # Background relays deliver the event without any command waiting for it.
        wait_until(lambda: httpx.get(url + "/billing/referential", headers=admin).json()["version"] == 1, what="billing projection")
        for service in ("planning", "importer", "affectation", "billing", "notify"):
            assert httpx.get(f"{url}/{service}/admin/dead-letters", headers=admin).json() == []
        assert "prestaflow_events_published_total" in httpx.get(url + "/metrics").text
        usage = subprocess.run([sys.executable, "-m", "prestaflow.cli", "referential", "lod"], env=client_env,
                               capture_output=True, text=True)
        assert usage.returncode == 2
    finally:
        server.terminate()
        server.wait(20)


def test_SEC_01_serve_refuses_to_start_without_oidc_settings_unless_auth_off(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRESTAFLOW_")} | {
        "PRESTAFLOW_HOME": str(tmp_path / "home")}
    refused = subprocess.run([sys.executable, "-m", "prestaflow.cli", "serve", "--port", str(free_port())],
                             env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1
    assert "PRESTAFLOW_OIDC_ISSUER" in refused.stderr and "PRESTAFLOW_AUTH=off" in refused.stderr

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "prestaflow.cli", "serve", "--host", "0.0.0.0", "--port",
                               str(port)], env=env | {"PRESTAFLOW_AUTH": "off"}, stdout=subprocess.DEVNULL,
                              stderr=(tmp_path / "serve.log").open("wb"))
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: httpx.get(url + "/health/ready", timeout=2).status_code == 200, timeout=60, what="ready")
        assert httpx.get(url + "/planning/referential").status_code == 200  # a trial: no authentication
        log = (tmp_path / "serve.log").read_text()
        assert "PRESTAFLOW_AUTH=off" in log and "127.0.0.1 only" in log
        assert f"Uvicorn running on http://127.0.0.1:{port}" in log  # not 0.0.0.0 as asked
    finally:
        server.terminate()
        server.wait(20)
