"""The only place that names planning's concrete adapters."""

from functools import partial
from pathlib import Path

from servicekit.bus import Bus
from servicekit.clock import Clock
from servicekit.keys import HttpKeySource
from servicekit.pdf import PdfRenderer, Templates
from servicekit.runtime import ServiceRuntime, assemble
from servicekit.settings import ServiceSettings

from planning.adapters import orm
from planning.adapters.repository import ReferentialCache
from planning.config import planning_settings
from planning.entrypoints import agenda_api, api, consumers, journey_api, journey_views_api
from planning.service_layer import journeys
from planning.service_layer.handlers import EVENT_HANDLERS
from planning.service_layer.journey_views import Deliverables
from planning.service_layer.restorers import RESTORERS
from planning.service_layer.unit_of_work import PlanningUnitOfWork

NAME = "planning"
MIGRATIONS = Path(__file__).parent / "migrations"
TEMPLATES = Path(__file__).parent / "adapters" / "templates"
# The closing run (PRC-07): daily in the users' terms; run every hour, it closes each due journey once,
# on the first run after its end date has passed.
CLOSE_DUE_EVERY_SECONDS = 3600
# Out of the state digest by design (OPS-04): staff's e-mails are personal data, never in an event topic.
UNREPLAYABLE_EMAILS = ("e-mails des conseillers : données personnelles, jamais en clair dans le journal "
                       "(ReferentialChanged les omet) ; le rejeu rétablit les conseillers sans leur e-mail")
UNREPLAYABLE_SNAPSHOT = ("copie intégrale de chaque version du référentiel : elle contient les e-mails des "
                         "conseillers ; son contenu est comparé dans les tables du référentiel et par son "
                         "empreinte (digest), que ReferentialChanged porte")
UNREPLAYABLE_PDF = ("contenu des livrables PDF : il nomme le bénéficiaire, donnée personnelle jamais dans le "
                    "journal ; DeliverablesGenerated porte son empreinte SHA-256 et sa taille, comparées")


def bootstrap(bus: Bus, settings: ServiceSettings | None = None, clock: Clock | None = None,
              pdf_workers: int | None = None) -> ServiceRuntime:
    uow_class = partial(PlanningUnitOfWork, referential_cache=ReferentialCache())
    runtime = assemble(NAME, planning_settings(settings), bus, orm.metadata, orm.kit, MIGRATIONS,
                       EVENT_HANDLERS, consumers.SUBSCRIPTIONS, uow_class, clock)
    runtime.key_source = HttpKeySource(runtime.settings.importer_url)
    runtime.router = api.build_router(runtime)
    runtime.router.include_router(agenda_api.build_router(runtime))
    runtime.router.include_router(journey_api.build_router(runtime))
    deliverables = Deliverables(Templates(TEMPLATES), PdfRenderer(pdf_workers), runtime.key_source)
    runtime.router.include_router(journey_views_api.build_router(runtime, deliverables))
    runtime.periodic.append((CLOSE_DUE_EVERY_SECONDS, lambda: journeys.close_due(runtime.uow_factory())))
    runtime.directory = api.ReferentialDirectory(runtime)
    runtime.restorers = RESTORERS
    runtime.unreplayable = {"advisors.email": UNREPLAYABLE_EMAILS,
                            "referential_versions.snapshot": UNREPLAYABLE_SNAPSHOT,
                            "deliverables.content": UNREPLAYABLE_PDF}
    return runtime
