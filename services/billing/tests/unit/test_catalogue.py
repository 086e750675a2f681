"""Billing's catalogue (BIL-01, BIL-02): pure rules of ``billing.domain.catalogue``.

The sample is shared/prestappli/samples/referentiel.yaml; its billing part (``billing_support.billing_part``) is
built as prestaflow/src/prestaflow/referential_file.py ``split`` builds it.
"""

from datetime import date
from decimal import Decimal

import pytest

from billing.domain.catalogue import Catalogue, CataloguePart, duplicate_codes, iban_is_valid

from billing_support import billing_part

SAMPLE_IBAN = "FR7630006000011234567890189"


def part(**changes) -> CataloguePart:
    raw = billing_part()
    raw.update(changes)
    return CataloguePart.model_validate(raw)


def problems_of(**changes) -> list[str]:
    p = part(**changes)
    return duplicate_codes(p) + Catalogue().merged_with(p).problems()


def legal_entity(**changes) -> dict:
    return {**billing_part()["legal_entities"][0], **changes}


def tariff(**changes) -> dict:
    return {**billing_part()["tariffs"][0], **changes}


# --- the sample ----------------------------------------------------------------------------------------------------

def test_bil_sample_catalogue_is_valid():
    p = part()
    assert duplicate_codes(p) == []
    catalogue = Catalogue().merged_with(p)
    assert catalogue.problems() == []
    assert catalogue.base_number == "14"
    assert list(catalogue.legal_entities) == ["BGE-HDF"]
    assert {a.code: a.legal_entity for a in catalogue.antennes.values()} == {"LILLE": "BGE-HDF",
                                                                            "DOUAISIS": "BGE-HDF"}
    (t,) = catalogue.tariffs.values()
    assert (t.ods, t.resource, t.funder, t.amount_eur, t.unit) == ("ACR2025", "ACR2025-L12", "FT", Decimal("1200.00"),
                                                                   "journey")


def test_bil_reloading_the_sample_changes_nothing():
    catalogue = Catalogue().merged_with(part())
    assert catalogue.merged_with(part()).digest() == catalogue.digest()


# --- legal entities (BIL-02) ---------------------------------------------------------------------------------------

def test_bil02_iban_check_digits():
    assert iban_is_valid(SAMPLE_IBAN)
    assert iban_is_valid("FR76 3000 6000 0112 3456 7890 189"), "spaces as printed on a RIB"
    assert iban_is_valid(SAMPLE_IBAN.lower())
    assert not iban_is_valid("FR7630006000011234567890188"), "last digit changed"
    assert not iban_is_valid("FR7730006000011234567890189"), "check digits changed"
    assert not iban_is_valid("FR7630006000011234567890198"), "two digits swapped"
    assert not iban_is_valid("FR76")
    assert not iban_is_valid("7630006000011234567890189FR")


def test_bil02_legal_entity_with_wrong_iban_is_refused():
    problems = problems_of(legal_entities=[legal_entity(iban="FR7630006000011234567890188")])
    assert problems == ["Entité juridique « BGE-HDF » : IBAN « FR7630006000011234567890188 » incorrect "
                        "(clé de contrôle fausse)."]


@pytest.mark.parametrize("bic,valid", [("AGRIFRPPXXX", True), ("AGRIFRPP", True), ("AGRIFRPP123", True),
                                       ("AGRIFRP", False), ("AGRIFRPPXX", False), ("agrifrppxxx", False),
                                       ("AGR1FRPPXXX", False), ("AGRIFRPPXXXX", False)])
def test_bil02_bic_format(bic, valid):
    problems = problems_of(legal_entities=[legal_entity(bic=bic)])
    if valid:
        assert problems == []
    else:
        assert problems == [f"Entité juridique « BGE-HDF » : BIC « {bic} » incorrect (8 ou 11 caractères)."]


def test_bil02_invoice_prefix_must_be_unique_across_legal_entities():
    other = legal_entity(code="BGE-PARTNER", name="BGE Partenaire", siret="41234567800027",
                         iban="FR76 3000 6000 0112 3456 7890 189")
    problems = problems_of(legal_entities=[legal_entity(), other])
    assert problems == ["Entité juridique « BGE-PARTNER » : préfixe « JUN » déjà pris par « BGE-HDF »."]
    assert problems_of(legal_entities=[legal_entity(), {**other, "invoice_prefix": "PAR"}]) == []


def test_bil02_invoice_prefix_and_siret_formats():
    problems = problems_of(legal_entities=[legal_entity(invoice_prefix="jun-2025", siret="4123")])
    assert problems == [
        "Entité juridique « BGE-HDF » : SIRET « 4123 » incorrect (14 chiffres attendus).",
        "Entité juridique « BGE-HDF » : préfixe de facture « jun-2025 » incorrect "
        "(1 à 6 lettres majuscules ou chiffres).",
    ]


def test_bil02_antenne_with_unknown_legal_entity_is_refused():
    antennes = [{"code": "LILLE", "legal_entity": "BGE-HDF"}, {"code": "DOUAISIS", "legal_entity": "BGE-NORD"}]
    assert problems_of(antennes=antennes) == ["Antenne « DOUAISIS » : entité juridique « BGE-NORD » inconnue."]


def test_bil_duplicate_codes_in_one_part_are_refused():
    problems = problems_of(legal_entities=[legal_entity(), legal_entity()])
    assert "Entité juridique « BGE-HDF » : code en double dans le fichier." in problems
    buyers = billing_part()["buyers"]
    assert "Acheteur « FT » : code en double dans le fichier." in problems_of(buyers=buyers + buyers)


def test_bil_base_number_format():
    assert problems_of(base_number="14A") == []
    assert problems_of(base_number=14) == []
    assert problems_of(base_number="12345") == ["Numéro de base « 12345 » incorrect (1 à 4 chiffres ou lettres "
                                                "majuscules)."]


# --- tariffs (BIL-01) ------------------------------------------------------------------------------------------------

def test_bil01_tariff_with_unknown_funder_is_refused():
    problems = problems_of(tariffs=[tariff(funder="REGION")])
    assert problems == ["Tarif ODS « ACR2025 » / ressource « ACR2025-L12 » / financeur « REGION » du 01/01/2025 : "
                        "financeur « REGION » inconnu."]


def test_bil01_overlapping_tariffs_for_the_same_ods_ressource_funder_are_refused():
    first = tariff(start="2025-01-01", end="2026-12-31")
    second = tariff(start="2026-06-01", end="2028-12-31", amount_eur="1300.00")
    problems = problems_of(tariffs=[second, first])
    assert problems == ["Tarif ODS « ACR2025 » / ressource « ACR2025-L12 » / financeur « FT » du 01/06/2026 : "
                        "chevauche le tarif précédent (qui finit le 31/12/2026)."]


def test_bil01_tariff_after_an_open_ended_one_is_refused():
    problems = problems_of(tariffs=[tariff(end=None), tariff(start="2027-01-01", end=None)])
    assert len(problems) == 1 and "chevauche le tarif précédent (qui finit jamais)" in problems[0]


def test_bil01_tariff_starting_the_day_the_previous_ends_overlaps():
    problems = problems_of(tariffs=[tariff(end="2025-12-31"), tariff(start="2025-12-31", end=None)])
    assert len(problems) == 1 and "chevauche" in problems[0]


def test_bil01_successive_tariffs_are_accepted_with_history():
    tariffs = [tariff(start="2025-01-01", end="2025-12-31", amount_eur="1100.00"),
               tariff(start="2026-01-01", end="2026-12-31", amount_eur="1200.00"),
               tariff(start="2027-01-01", end=None, amount_eur="1250.00")]
    assert problems_of(tariffs=tariffs) == []
    catalogue = Catalogue().merged_with(part(tariffs=tariffs))
    assert sorted(t.start for t in catalogue.tariffs.values()) == [date(2025, 1, 1), date(2026, 1, 1),
                                                                   date(2027, 1, 1)]


def test_bil01_a_successive_tariff_in_a_later_load_is_added_to_the_history():
    catalogue = Catalogue().merged_with(part(tariffs=[tariff(end="2025-12-31")]))
    later = catalogue.merged_with(CataloguePart.model_validate({"tariffs": [tariff(start="2026-01-01")]}))
    assert later.problems() == []
    assert len(later.tariffs) == 2
    overlapping = catalogue.merged_with(CataloguePart.model_validate({"tariffs": [tariff(start="2025-07-01")]}))
    assert len(overlapping.problems()) == 1 and "chevauche" in overlapping.problems()[0]


def test_bil01_same_period_for_other_ressource_funder_or_site_does_not_overlap():
    buyers = billing_part()["buyers"] + [{"code": "REGION", "name": "Région Hauts-de-France",
                                          "siret": "20005376700014"}]
    tariffs = [tariff(), tariff(funder="REGION"), tariff(resource="ACR2025-L13"), tariff(site="ARM")]
    assert problems_of(buyers=buyers, tariffs=tariffs) == []


def test_bil01_ods_tariff_and_action_type_tariff_side_by_side_are_accepted():
    """A tariff per ODS or per type d'action (BIL-01): both kinds in one catalogue."""
    tariffs = [tariff(), tariff(ods=None, action_type="atelier", amount_eur="150.00", unit="action",
                                rule="each_action")]
    assert problems_of(tariffs=tariffs) == []


@pytest.mark.parametrize("ods,action_type", [("ACR2025", "diagnostic"), (None, None)])
def test_bil01_tariff_with_both_or_neither_ods_and_action_type_is_refused(ods, action_type):
    problems = problems_of(tariffs=[tariff(), tariff(ods=ods, action_type=action_type, start="2029-01-01",
                                                     end=None)])
    assert len(problems) == 1
    assert problems[0].endswith(": indiquer une ODS ou un type d'action, pas les deux ni aucun.")


def test_bil01_tariff_ending_before_it_starts_is_refused():
    problems = problems_of(tariffs=[tariff(start="2026-01-01", end="2025-12-31")])
    assert problems == ["Tarif ODS « ACR2025 » / ressource « ACR2025-L12 » / financeur « FT » du 01/01/2026 : "
                        "fin 31/12/2025 avant le début."]


def test_bil01_duplicate_tariff_in_one_part_is_refused():
    problems = problems_of(tariffs=[tariff(), tariff(amount_eur="1300.00")])
    assert "Tarif ODS « ACR2025 » / ressource « ACR2025-L12 » / financeur « FT » du 01/01/2025 : " \
           "tarif en double dans le fichier." in problems


def test_bil01_tariff_amount_must_be_positive():
    with pytest.raises(ValueError):
        part(tariffs=[tariff(amount_eur="0")])
