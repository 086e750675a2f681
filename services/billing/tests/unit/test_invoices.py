"""Pricing and numbering rules of ``billing.domain.invoices`` (BIL-03, BIL-04, BIL-05), without I/O."""

from datetime import date
from decimal import Decimal

from billing.domain.catalogue import Catalogue, CataloguePart
from billing.domain.invoices import Closed, Resource, Site, invoice_number, price

from billing_support import billing_part

RESOURCES = {"ACR2025-L12": Resource("ACR2025-L12", "marché", "LILLE", "ACR2025", "2024-FT-ACR-0042", "12", "self",
                                     "France Travail")}
SITES = {"ARM": Site("ARM", "Armentières", "LILLE", "12 rue de Lille, 59280 Armentières"),
         "DOU": Site("DOU", "Douai", "DOUAISIS", None)}


def closing(**changes) -> Closed:
    values = dict(enrolment_id="e", closing=1, beneficiary_id="b", ods="ACR2025", resource="ACR2025-L12", site="ARM",
                  ods_start=date(2025, 1, 14), ods_end=date(2025, 4, 13), order_number=None, outcome="bilan",
                  outcome_date=date(2025, 4, 10), closed_on=date(2025, 4, 11))
    return Closed(**(values | changes))


def catalogue(**part_changes) -> Catalogue:
    return Catalogue().merged_with(CataloguePart.model_validate(billing_part() | part_changes))


def test_bil05_number_format_of_the_guide():
    assert invoice_number("14", "JUN", date(2022, 3, 1), 9) == "14JUNF2200009"


def test_bil03_a_site_tariff_wins_over_the_ressource_tariff_and_dates_decide():
    general = billing_part()["tariffs"][0]
    site = general | {"site": "ARM", "amount_eur": "1000.00", "end": "2025-06-30"}
    later = general | {"site": "ARM", "amount_eur": "1100.00", "start": "2025-07-01", "end": None}
    cat = catalogue(tariffs=[general, site, later])
    assert price(cat, RESOURCES, SITES, closing()).tariff_amount == Decimal("1000.00")
    assert price(cat, RESOURCES, SITES, closing(ods_start=date(2025, 7, 1))).tariff_amount == Decimal("1100.00")
    assert price(cat, RESOURCES, SITES, closing(site="LIL")).tariff_amount == Decimal("1200.00")


def test_bil04_percentages_and_problems():
    cat = catalogue()
    assert price(cat, RESOURCES, SITES, closing(outcome="abandon")).amount == Decimal("180.00")
    assert price(cat, RESOURCES, SITES, closing(outcome="sortie_anticipee")).amount == Decimal("1200.00")
    unknown = price(cat, RESOURCES, SITES, closing(resource="AUTRE"))
    assert unknown.amount is None and unknown.problems == ["Ressource « AUTRE » inconnue de la facturation."]
    no_entity = price(catalogue(antennes=[]), RESOURCES, SITES, closing(site="DOU"))
    assert no_entity.legal_entity is None
    assert "Aucune entité juridique pour l'antenne « DOUAISIS »" in no_entity.problems[0]
