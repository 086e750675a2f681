"""The only place that names notify's concrete adapters."""

from pathlib import Path

from servicekit.bus import Bus
from servicekit.clock import Clock
from servicekit.runtime import ServiceRuntime, assemble

from notify.adapters import orm
from notify.config import NotifySettings
from notify.entrypoints import api, consumers
from notify.service_layer.handlers import EVENT_HANDLERS
from notify.service_layer.unit_of_work import NotifyUnitOfWork

NAME = "notify"
MIGRATIONS = Path(__file__).parent / "migrations"


def bootstrap(bus: Bus, settings: NotifySettings | None = None, clock: Clock | None = None) -> ServiceRuntime:
    runtime = assemble(NAME, settings or NotifySettings(), bus, orm.metadata, orm.kit, MIGRATIONS,
                       EVENT_HANDLERS, consumers.SUBSCRIPTIONS, NotifyUnitOfWork, clock)
    runtime.router = api.build_router(runtime)
    return runtime
