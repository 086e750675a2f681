"""Fixtures of the whole application in-process (embedded runner), on SQLite or the real PostgreSQL."""

import pytest

from prestaflow import referential
from prestaflow.client import Api

from cluster import SAMPLES


@pytest.fixture(params=["sqlite", "postgresql"])
async def api(request, sqlite_settings, pg_settings):
    """Every service in-process on SQLite or the real PostgreSQL, with the sample referential loaded."""
    settings = sqlite_settings if request.param == "sqlite" else pg_settings
    async with Api(settings) as client:
        await referential.load(client, SAMPLES / "referentiel.yaml")
        yield client


@pytest.fixture
async def pg_api(pg_settings):
    async with Api(pg_settings) as client:
        await referential.load(client, SAMPLES / "referentiel.yaml")
        yield client
