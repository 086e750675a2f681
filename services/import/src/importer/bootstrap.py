"""The only place that names importer's concrete adapters."""

from pathlib import Path

from servicekit.bus import Bus
from servicekit.clock import Clock
from servicekit.keys import NoKeys
from servicekit.runtime import ServiceRuntime, assemble

from importer.adapters import orm
from importer.adapters.identity import IdentitySecret
from importer.adapters.progress import ImportProgress, MemoryImportProgress, SqlImportProgress
from importer.config import ImporterSettings
from importer.adapters.gdpr_links import links_from_settings
from importer.entrypoints import api, consumers, gdpr_api
from importer.service_layer import gdpr, imports
from importer.service_layer.handlers import EVENT_HANDLERS
from importer.service_layer.restorers import restorers
from importer.service_layer.unit_of_work import ImporterUnitOfWork

NAME = "importer"
PURGE_EVERY_SECONDS = 3600
MIGRATIONS = Path(__file__).parent / "migrations"
# Why beneficiary_keys is out of the state digest (shown to auditors, in French): each person's key to
# their sealed event fields is never in the log by design, so that destroying it erases the person
# everywhere, the log included (crypto-shredding, X-04); no replay can rebuild it.
# beneficiary_changes (BEN-01's history of corrections) keeps each personal value before and after,
# sealed when the correction is made (a Fernet token, random each time), and BeneficiaryCorrected
# carries only the record after it: a replay rebuilds the record, never these tokens.
UNREPLAYABLE_HISTORY = ("historique des corrections : ses valeurs personnelles d'avant et d'après sont scellées au "
                        "moment de la correction (chiffrement aléatoire) et l'événement ne porte que la fiche "
                        "corrigée ; le rejeu rétablit la fiche, pas cet historique")
UNREPLAYABLE_KEYS = ("clés des champs scellés de chaque personne : jamais dans le journal, pour que détruire une "
                     "clé efface la personne partout, journal compris (effacement cryptographique, X-04)")


def bootstrap(bus: Bus, settings: ImporterSettings | None = None, clock: Clock | None = None) -> ServiceRuntime:
    settings = ImporterSettings.of(settings)
    runtime = assemble(NAME, settings, bus, orm.metadata, orm.kit, MIGRATIONS,
                       EVENT_HANDLERS, consumers.SUBSCRIPTIONS, ImporterUnitOfWork, clock)
    identity = IdentitySecret(settings.identity_secret, runtime.database.sessions)  # BEN-03's blind indexes
    runtime.router = api.build_router(runtime, import_progress(runtime), settings, identity)
    # BEN-02: the accord RGPD, its personal links (signed with the server's secret) and their public page.
    runtime.router.include_router(gdpr_api.build_router(runtime, links_from_settings(settings)))
    # The progress of uploads under way is what an uploader polls, not state: out of the digest (OPS-04);
    # nor is the blind indexes' secret.
    runtime.not_state = frozenset({"import_progress", "identity_secret", "beneficiary_indexes"})
    # An audit replay restores the records from importer's own events (OPS-04), opening the sealed
    # identities with the keys the live importer serves (the audit replaces ``key_source`` with its
    # source; without one, identities read as erased). The keys themselves are never in the log:
    # destroying one erases a person.
    runtime.key_source = NoKeys()
    runtime.restorers = restorers(lambda: runtime.key_source) | gdpr.RESTORERS  # BEN-02's statuses too
    runtime.unreplayable = {"beneficiary_keys": UNREPLAYABLE_KEYS, "beneficiary_changes": UNREPLAYABLE_HISTORY}
    # IMP-06: records of unconfirmed beneficiaries are purged once their five days have passed.
    runtime.periodic.append((PURGE_EVERY_SECONDS, lambda: imports.purge_due(runtime.uow_factory())))
    return runtime


def import_progress(runtime: ServiceRuntime) -> ImportProgress:
    """In the database, where every replica reads it; in the process on SQLite (one writer at a
    time: the import's own transaction holds it), where one process uses the database file."""
    if runtime.database.engine.dialect.name == "postgresql":
        return SqlImportProgress(runtime.database.sessions, runtime.clock)
    return MemoryImportProgress()
