import uuid

import pytest

from servicekit.pytest_plugin import drop_schemas

from cluster import Cluster


@pytest.fixture
async def cluster(kafka_broker, tmp_path):
    """Five service processes on the real broker and the real PostgreSQL, schemas of their own."""
    prefix = f"t{uuid.uuid4().hex[:8]}_"
    c = Cluster(kafka_broker, prefix, tmp_path)
    c.set_faults()
    try:
        yield c
    finally:
        c.stop_all()
        await drop_schemas(prefix)
