import pytest

from servicekit.pytest_plugin import service_databases

from billing_support import Keys, InProcessSettings, billing_service, clock_at, make_bootstrap


@pytest.fixture
def keys() -> Keys:
    return Keys()


@pytest.fixture
def clock():
    from datetime import date
    return clock_at(date(2025, 4, 15))


@pytest.fixture
async def pg_billing(tmp_path, keys, clock):
    """Billing on the real PostgreSQL with the sample's catalogue and referential."""
    async with service_databases("postgresql", tmp_path, make_bootstrap(keys), InProcessSettings, clock) as make:
        yield await billing_service(make, keys)


@pytest.fixture
async def pg_make(tmp_path, keys, clock):
    async with service_databases("postgresql", tmp_path, make_bootstrap(keys), InProcessSettings, clock) as make:
        yield make
