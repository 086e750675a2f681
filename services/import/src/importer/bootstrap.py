"""The only place that names importer's concrete adapters."""

from pathlib import Path

from servicekit.bus import Bus
from servicekit.clock import Clock
from servicekit.runtime import ServiceRuntime, assemble

from importer.adapters import orm
from importer.adapters.progress import ImportProgress, MemoryImportProgress, SqlImportProgress
from importer.config import ImporterSettings
from importer.adapters.gdpr_links import links_from_settings
from importer.entrypoints import api, consumers, gdpr_api
from importer.service_layer import gdpr, imports
from importer.service_layer.handlers import EVENT_HANDLERS
from importer.service_layer.unit_of_work import ImporterUnitOfWork

NAME = "importer"
PURGE_EVERY_SECONDS = 3600
MIGRATIONS = Path(__file__).parent / "migrations"


def bootstrap(bus: Bus, settings: ImporterSettings | None = None, clock: Clock | None = None) -> ServiceRuntime:
    settings = ImporterSettings.of(settings)
    runtime = assemble(NAME, settings, bus, orm.metadata, orm.kit, MIGRATIONS,
                       EVENT_HANDLERS, consumers.SUBSCRIPTIONS, ImporterUnitOfWork, clock)
    runtime.router = api.build_router(runtime, import_progress(runtime))
    # BEN-02: the accord RGPD, its personal links (signed with the server's secret) and their public page.
    runtime.router.include_router(gdpr_api.build_router(runtime, links_from_settings(settings)))
    runtime.restorers = gdpr.RESTORERS
    # The progress of uploads under way is what an uploader polls, not state: out of the digest (OPS-04).
    runtime.not_state = frozenset({"import_progress"})
    # IMP-06: records of unconfirmed beneficiaries are purged once their five days have passed.
    runtime.periodic.append((PURGE_EVERY_SECONDS, lambda: imports.purge_due(runtime.uow_factory())))
    return runtime


def import_progress(runtime: ServiceRuntime) -> ImportProgress:
    """In the database, where every replica reads it; in the process on SQLite (one writer at a
    time: the import's own transaction holds it), where one process uses the database file."""
    if runtime.database.engine.dialect.name == "postgresql":
        return SqlImportProgress(runtime.database.sessions, runtime.clock)
    return MemoryImportProgress()
