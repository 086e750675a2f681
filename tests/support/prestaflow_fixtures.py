"""Fixtures of the whole application: in-process (embedded runner) on SQLite or the real PostgreSQL,
or as five processes on the real broker."""

import uuid

import pytest

from prestaflow import referential
from prestaflow.client import Api
from servicekit.pytest_plugin import drop_schemas

from cluster import SAMPLES, Cluster


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


@pytest.fixture
async def cluster(kafka_broker, tmp_path):
    """Five service processes on the real broker and the real PostgreSQL, schemas of their own."""
    prefix = f"t{uuid.uuid4().hex[:8]}_"
    c = Cluster(kafka_broker, prefix, tmp_path)
    c.set_faults()
    try:
        yield c
    finally:
        c.close()
        await drop_schemas(prefix)
