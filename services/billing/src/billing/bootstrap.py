"""The only place that names billing's concrete adapters."""

from pathlib import Path

from servicekit.bus import Bus
from servicekit.clock import Clock
from servicekit.keys import HttpKeySource
from servicekit.pdf import PdfRenderer
from servicekit.runtime import ServiceRuntime, assemble
from servicekit.settings import ServiceSettings

from billing.adapters import orm
from billing.adapters.documents import InvoicePdfs
from billing.adapters.validation import CiiValidator
from billing.config import billing_settings
from billing.entrypoints import api, consumers
from billing.service_layer.handlers import EVENT_HANDLERS
from billing.service_layer.invoicing import Invoicing
from billing.service_layer.unit_of_work import BillingUnitOfWork

NAME = "billing"
MIGRATIONS = Path(__file__).parent / "migrations"


def bootstrap(bus: Bus, settings: ServiceSettings | None = None, clock: Clock | None = None, *,
              key_source=None, chorus_transport=None) -> ServiceRuntime:
    """Billing's runtime. Beneficiaries' keys come from importer's API (``key_source`` replaces it in
    tests); ``chorus_transport`` lets tests answer Chorus Pro's calls."""
    settings = billing_settings(settings)
    runtime = assemble(NAME, settings, bus, orm.metadata, orm.kit, MIGRATIONS,
                       EVENT_HANDLERS, consumers.SUBSCRIPTIONS, BillingUnitOfWork, clock)
    runtime.key_source = key_source or HttpKeySource(settings.importer_url)
    runtime.invoicing = Invoicing(CiiValidator(), InvoicePdfs(PdfRenderer(settings.pdf_workers)), runtime.key_source,
                                  [])
    runtime.router = api.build_router(runtime)
    return runtime
