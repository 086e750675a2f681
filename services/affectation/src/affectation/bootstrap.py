"""The only place that names affectation's concrete adapters."""

from pathlib import Path

from servicekit.bus import Bus
from servicekit.clock import Clock
from servicekit.keys import HttpKeySource
from servicekit.oidc_client import auth_from_settings
from servicekit.runtime import ServiceRuntime, assemble

from affectation.adapters import orm
from affectation.config import AffectationSettings
from affectation.entrypoints import api, consumers
from affectation.service_layer.handlers import EVENT_HANDLERS, RESTORERS
from affectation.service_layer.unit_of_work import AffectationUnitOfWork

NAME = "affectation"
MIGRATIONS = Path(__file__).parent / "migrations"


def bootstrap(bus: Bus, settings: AffectationSettings | None = None, clock: Clock | None = None) -> ServiceRuntime:
    runtime = assemble(NAME, settings or AffectationSettings(), bus, orm.metadata, orm.kit, MIGRATIONS,
                       EVENT_HANDLERS, consumers.SUBSCRIPTIONS, AffectationUnitOfWork, clock)
    runtime.key_source = HttpKeySource(runtime.settings.importer_url, auth=auth_from_settings(runtime.settings))
    runtime.restorers = RESTORERS
    runtime.router = api.build_router(runtime, runtime.key_source)
    return runtime
