"""Events produced by the billing service."""

from datetime import date
from decimal import Decimal

from pydantic import Field

from contracts.base import Contract, Event

PRODUCER = "billing"


class LegalEntityRef(Contract):
    code: str = Field(description="Legal entity code.", examples=["BGE-HDF"])
    name: str = Field(description="Name on invoices.", examples=["BGE Hauts-de-France"])
    siret: str = Field(description="SIRET.", examples=["41234567800019"])
    invoice_prefix: str = Field(description="Préfixe in invoice numbers.", examples=["JUN"])
    antennes: tuple[str, ...] = Field(description="Antennes whose sites invoice under this entity.",
                                      examples=[["LILLE"]])


class TariffRef(Contract):
    ods: str | None = Field(description="ODS priced, or none when priced by type d'action.", examples=["ACR2025"])
    action_type: str | None = Field(default=None, description="Type d'action priced, when not an ODS.")
    resource: str = Field(description="Ressource code.", examples=["ACR2025-L12"])
    funder: str = Field(description="Buyer code (financeur).", examples=["FT"])
    site: str | None = Field(default=None, description="Site, when the tariff is site-specific.")
    start: date = Field(description="First day in force.", examples=["2025-01-01"])
    end: date | None = Field(description="Last day in force.", examples=["2028-12-31"])
    amount: Decimal = Field(description="Amount in euros.", examples=["1200.00"])
    unit: str = Field(description="'journey' (per complete journey) or 'action'.", examples=["journey"])
    rule: str = Field(description="When it is invoiced.", examples=["on_close"])
    without_quote: bool = Field(description="Facturation sans devis.", examples=[True])


class CatalogueChanged(Event):
    """Billing's set-up after a change: legal entities and tariffs (snapshot)."""

    event_type = "CatalogueChanged"
    producer = PRODUCER

    base_number: str | None = Field(description="Installation number, first part of invoice numbers.",
                                    examples=["14"])
    legal_entities: tuple[LegalEntityRef, ...] = Field(description="All legal entities.")
    buyers: tuple[str, ...] = Field(description="Codes of the known buyers.", examples=[["FT"]])
    tariffs: tuple[TariffRef, ...] = Field(description="All tariffs, past and present.")
