"""Invoices of closed journeys (BIL-03 to BIL-05, BIL-08): pure rules, no I/O.

A closed journey gives one draft in *factures à émettre sans devis*, priced at the tariff in force
on the journey's start for its ressource, funder and site, times the share its outcome allows.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from billing.domain.catalogue import Buyer, Catalogue, Tariff

CENT = Decimal("0.01")

# BIL-04: the share of the tariff each outcome allows.
PERCENTAGE = {"reoriente": 15, "abandon": 15, "sortie_anticipee": 100, "bilan": 100}
OUTCOME_LABEL = {"reoriente": "réorienté vers France Travail après l'entretien initial", "abandon": "abandon",
                 "sortie_anticipee": "sortie anticipée", "bilan": "prestation terminée (bilan)"}

# Document types of EN 16931 (BT-3).
INVOICE_TYPE, CREDIT_NOTE_TYPE = "380", "381"


def amount_of(tariff_amount: Decimal, percentage: int) -> Decimal:
    """Tariff × percentage, rounded half up to the cent (BIL-04)."""
    return (tariff_amount * percentage / Decimal(100)).quantize(CENT, rounding=ROUND_HALF_UP)


def invoice_number(base: str, prefix: str, issued_on: date, sequence: int) -> str:
    """``{base}{préfixe}F{yy}{sequence:05d}`` (BIL-05), e.g. ``14JUNF2500001``."""
    return f"{base}{prefix}F{issued_on:%y}{sequence:05d}"


@dataclass(frozen=True)
class Resource:
    code: str
    name: str
    antenne: str
    ods: str
    market_number: str
    lot_number: str
    lead_contractor: str
    funder: str

    @property
    def co_contractor(self) -> bool:
        """The BGE is *co-traitant*: it invoices the mandataire named on the ressource (BIL-06)."""
        return self.lead_contractor.strip().lower() not in ("self", "")


@dataclass(frozen=True)
class Site:
    code: str
    name: str
    antenne: str
    address: str | None


@dataclass(frozen=True)
class Closed:
    """What a draft needs of an ``ODSClosed`` item."""

    enrolment_id: str
    closing: int
    beneficiary_id: str
    ods: str
    resource: str
    site: str
    ods_start: date
    ods_end: date
    order_number: str | None
    outcome: str
    outcome_date: date
    closed_on: date


@dataclass
class Pricing:
    legal_entity: str | None
    funder: str | None
    tariff_amount: Decimal | None
    percentage: int
    amount: Decimal | None
    problems: list[str] = field(default_factory=list)


def buyer_of(catalogue: Catalogue, funder: str) -> Buyer | None:
    """The buyer a ressource's *financeur* names, by code or by name."""
    wanted = funder.strip().casefold()
    for buyer in catalogue.buyers.values():
        if wanted in (buyer.code.casefold(), buyer.name.casefold()):
            return buyer
    return None


def tariff_in_force(catalogue: Catalogue, closed: Closed, funder: str) -> Tariff | None:
    """The tariff of the journey's ODS, ressource and funder on its start; a site's own tariff first."""
    found = [t for t in catalogue.tariffs.values()
             if t.ods == closed.ods and t.resource == closed.resource and t.funder == funder
             and t.site in (None, closed.site) and t.start <= closed.ods_start
             and (t.end is None or closed.ods_start <= t.end)]
    found.sort(key=lambda t: (t.site is None, t.start))
    return found[0] if found else None


def price(catalogue: Catalogue, resources: dict[str, Resource], sites: dict[str, Site], closed: Closed) -> Pricing:
    """Legal entity, funder, tariff and amount of a closed journey, or why it cannot be issued (BIL-03/04)."""
    percentage = PERCENTAGE[closed.outcome]
    pricing = Pricing(None, None, None, percentage, None)
    resource, site = resources.get(closed.resource), sites.get(closed.site)
    if resource is None:
        pricing.problems.append(f"Ressource « {closed.resource} » inconnue de la facturation.")
    antenne = site.antenne if site else resource.antenne if resource else None
    entity = catalogue.antennes.get(antenne) if antenne else None
    if entity is None:
        pricing.problems.append(f"Aucune entité juridique pour l'antenne « {antenne or '?'} » du site "
                                f"« {closed.site} ».")
    else:
        pricing.legal_entity = entity.legal_entity
    if resource is not None:
        buyer = buyer_of(catalogue, resource.funder)
        if buyer is None:
            pricing.problems.append(f"Financeur « {resource.funder} » de la ressource « {resource.code} » absent "
                                    "du catalogue (acheteurs).")
        else:
            pricing.funder = buyer.code
            tariff = tariff_in_force(catalogue, closed, buyer.code)
            if tariff is None:
                pricing.problems.append(
                    f"Aucun tarif en vigueur le {closed.ods_start:%d/%m/%Y} pour l'ODS « {closed.ods} », la ressource "
                    f"« {closed.resource} », le financeur « {buyer.code} » et le site « {closed.site} ».")
            else:
                pricing.tariff_amount = tariff.amount_eur
                pricing.amount = amount_of(tariff.amount_eur, percentage)
    return pricing
