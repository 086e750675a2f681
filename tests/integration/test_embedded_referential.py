"""The referential slice on the embedded runner (in-memory bus), on SQLite and on the real PostgreSQL:
the same code gives the same projections on both (REF-01..REF-05, X-01)."""

import json

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from prestaflow import referential
from prestaflow.client import Api
from prestaflow.embedded import Embedded

from cluster import SAMPLES

REFERENTIAL = SAMPLES / "referentiel.yaml"


async def load_and_show(settings) -> dict:
    async with Api(settings) as api:
        first = await referential.load(api, REFERENTIAL)
        second = await referential.load(api, REFERENTIAL)
        view = await referential.show(api)
    assert all(r["changed"] for r in first.values())
    assert not any(r["changed"] for r in second.values())
    return view


async def test_ref05_same_projections_on_sqlite_and_postgresql(sqlite_settings, pg_settings):
    on_sqlite = await load_and_show(sqlite_settings)
    on_postgres = await load_and_show(pg_settings)
    assert json.dumps(on_sqlite, sort_keys=True) == json.dumps(on_postgres, sort_keys=True)
    assert on_postgres["importer"]["version"] == on_postgres["planning"]["version"] == 1
    assert on_postgres["billing"]["referential"]["resources"][0]["lead_contractor"] == "self"
    assert on_postgres["billing"]["catalogue"]["tariffs"][0]["amount_eur"] == "1200.00"


async def test_ref01_state_persists_between_commands_under_prestaflow_home(sqlite_settings):
    async with Api(sqlite_settings) as api:
        await referential.load(api, REFERENTIAL)
    async with Api(sqlite_settings) as api:
        view = await referential.show(api)
    assert sorted(view["planning"]["sites"]) == ["ARM", "DIST", "DOU", "LIL"]
    assert view["affectation"]["version"] == 1


async def test_ref05_a_changed_ressource_gets_a_new_version_and_projections_follow(pg_settings, tmp_path):
    changed = tmp_path / "referentiel.yaml"
    changed.write_text(REFERENTIAL.read_text(encoding="utf-8").replace("2028-12-31", "2027-12-31"), encoding="utf-8")
    async with Api(pg_settings) as api:
        await referential.load(api, REFERENTIAL)
        result = await referential.load(api, changed)
        view = await referential.show(api)
        versions = (await api.request("GET", "planning", "/referential/versions")).json()
    assert result["référentiel planning"] == {"changed": True, "version": 2}
    assert [v["version"] for v in versions] == [1, 2]
    assert view["planning"]["resources"]["ACR2025-L12"]["setting_version"] == 2
    assert view["importer"]["version"] == 2
    assert view["importer"]["resources"][0]["end"] == "2027-12-31"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_migrations_match_the_models(backend, sqlite_settings, pg_settings):
    """Each service's Alembic scripts build exactly the tables its code uses."""
    settings = sqlite_settings if backend == "sqlite" else pg_settings
    embedded = Embedded(settings, background_relays=False)
    for runtime in embedded.runtimes:
        await runtime.database.migrate()
        metadata = __import__(f"{runtime.name}.adapters.orm", fromlist=["metadata"]).metadata
        async with runtime.database.engine.connect() as conn:
            diff = await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), metadata))
        await runtime.database.dispose()
        assert diff == [], f"{runtime.name}: {diff}"


async def test_health_and_metrics_endpoints(sqlite_settings):
    async with Api(sqlite_settings) as api:
        client = api._client
        live = await client.get("/health/live")
        ready = await client.get("/health/ready")
        metrics = await client.get("/metrics")
    assert live.json() == {"status": "ok"}
    assert ready.status_code == 200 and all(ready.json()["checks"].values())
    assert set(ready.json()["checks"]) >= {"planning.database", "notify.database", "bus"}
    assert "prestaflow_events_published_total" in metrics.text
