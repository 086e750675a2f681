"""The only place that names billing's concrete adapters."""

import asyncio
from pathlib import Path

from servicekit.bus import Bus
from servicekit.clock import PARIS, Clock
from servicekit.keys import HttpKeySource
from servicekit.oidc_client import auth_from_settings
from servicekit.pdf import PdfRenderer
from servicekit.runtime import ServiceRuntime, assemble
from servicekit.settings import ServiceSettings

from billing.adapters import orm
from billing.adapters.chorus import ChorusApi, ChorusFolder
from billing.adapters.documents import InvoicePdfs
from billing.adapters.validation import CiiValidator
from billing.config import BillingSettings
from billing.entrypoints import api, consumers
from billing.service_layer.chorus import deposit_night
from billing.service_layer.handlers import EVENT_HANDLERS, RESTORERS
from billing.service_layer.invoicing import Invoicing
from billing.service_layer.unit_of_work import BillingUnitOfWork

NAME = "billing"
MIGRATIONS = Path(__file__).parent / "migrations"
# Out of the state digest by design (OPS-04): the issued documents name the beneficiary.
UNREPLAYABLE_XML = ("XML Factur-X (CII) de chaque facture et avoir : il nomme le bénéficiaire, donnée personnelle "
                    "jamais dans le journal (sa clé disparaît à la purge, la facture reste) ; InvoiceIssued et "
                    "CreditNoteIssued portent son empreinte SHA-256")
UNREPLAYABLE_PDF = ("PDF Factur-X de chaque facture et avoir : il nomme le bénéficiaire et porte son heure de "
                    "rendu ; InvoiceWritten et InvoiceDeposited portent l'empreinte SHA-256 et la taille du PDF "
                    "déposé")


def bootstrap(bus: Bus, settings: ServiceSettings | None = None, clock: Clock | None = None, *,
              key_source=None, chorus_transport=None) -> ServiceRuntime:
    """Billing's runtime. Beneficiaries' keys come from importer's API (``key_source`` replaces it in
    tests); ``chorus_transport`` lets tests answer Chorus Pro's calls."""
    settings = BillingSettings.of(settings)
    runtime = assemble(NAME, settings, bus, orm.metadata, orm.kit, MIGRATIONS,
                       EVENT_HANDLERS, consumers.SUBSCRIPTIONS, BillingUnitOfWork, clock)
    runtime.key_source = key_source or HttpKeySource(settings.importer_url, auth=auth_from_settings(settings))
    runtime.restorers = RESTORERS
    runtime.unreplayable = {"invoices.xml": UNREPLAYABLE_XML, "invoices.pdf": UNREPLAYABLE_PDF}
    renderer = PdfRenderer(settings.pdf_workers)  # renders invoices and runs their EN 16931 checks
    runtime.invoicing = Invoicing(CiiValidator(renderer), InvoicePdfs(renderer), runtime.key_source, [])
    runtime.chorus = (ChorusApi(settings, chorus_transport) if settings.chorus_configured
                      else ChorusFolder(settings.chorus_outbox))
    runtime.deposit = lambda: deposit(runtime)
    runtime.nightly = Nightly(settings.chorus_nightly_hour)
    if settings.chorus_nightly_hour is not None:
        runtime.periodic.append((60, lambda: runtime.nightly.maybe_run(runtime)))
    runtime.router = api.build_router(runtime)
    return runtime


class Nightly:
    """The Chorus Pro deposit once a night, at ``hour`` (Paris), whatever the service's restarts."""

    def __init__(self, hour: int | None) -> None:
        self.hour = hour
        self.last_night: str | None = None

    async def maybe_run(self, runtime: ServiceRuntime) -> dict | None:
        now = runtime.clock.now().astimezone(PARIS)
        night = f"{now:%Y-%m-%d}"
        if self.hour is None or now.hour != self.hour or self.last_night == night:
            return None
        self.last_night = night
        return await deposit(runtime)


async def deposit(runtime: ServiceRuntime) -> dict:
    settings = runtime.settings
    return await deposit_night(runtime.uow_factory(), runtime.invoicing, runtime.chorus, settings.chorus_polls,
                               lambda: asyncio.sleep(settings.chorus_poll_seconds))
