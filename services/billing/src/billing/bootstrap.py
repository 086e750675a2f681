"""The only place that names billing's concrete adapters."""

from pathlib import Path

from servicekit.bus import Bus
from servicekit.clock import Clock
from servicekit.runtime import ServiceRuntime, assemble

from billing.adapters import orm
from billing.config import BillingSettings
from billing.entrypoints import api, consumers
from billing.service_layer.handlers import EVENT_HANDLERS
from billing.service_layer.unit_of_work import BillingUnitOfWork

NAME = "billing"
MIGRATIONS = Path(__file__).parent / "migrations"


def bootstrap(bus: Bus, settings: BillingSettings | None = None, clock: Clock | None = None) -> ServiceRuntime:
    runtime = assemble(NAME, settings or BillingSettings(), bus, orm.metadata, orm.kit, MIGRATIONS,
                       EVENT_HANDLERS, consumers.SUBSCRIPTIONS, BillingUnitOfWork, clock)
    runtime.router = api.build_router(runtime)
    return runtime
