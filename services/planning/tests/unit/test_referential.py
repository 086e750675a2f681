"""The planning referential (REF-01..REF-05): pure rules of ``planning.domain.referential`` and the
``load_referential`` handler on fakes (no database, no bus).

The sample is shared/prestappli/samples/referentiel.yaml; its planning part is built as
prestaflow/src/prestaflow/referential_file.py ``split`` builds it (structure's name and SIRET,
antennes without their legal entity, sites, advisors, ODS, ressources).
"""

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import yaml

from contracts.planning import ReferentialChanged
from contracts.registry import parse_event
from servicekit.clock import FixedClock
from servicekit.errors import RefusedInput
from servicekit.testing import FakeUnitOfWork

from planning.domain.referential import (Referential, ReferentialPart, Resource, check_part, normalise_address)
from planning.service_layer.commands import LoadReferential
from planning.service_layer.handlers import load_referential

SAMPLE = Path(__file__).resolve().parents[4] / ".." / "shared" / "prestappli" / "samples" / "referentiel.yaml"


def sample_data() -> dict:
    data = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    return json.loads(json.dumps(data, default=str))  # dates travel as text, as in referential_file.read


def planning_part(data: dict | None = None) -> dict:
    """The planning part of a referential file, as referential_file.split builds it."""
    data = sample_data() if data is None else data
    structure = data.get("structure") or {}
    part: dict = {}
    if {"name", "siret"} & structure.keys():
        part["structure"] = {k: structure.get(k) for k in ("name", "siret")}
    part["antennes"] = [{k: v for k, v in a.items() if k != "legal_entity"} for a in data.get("antennes") or []]
    for key in ("sites", "advisors", "ods", "resources"):
        part[key] = data.get(key) or []
    return part


def part(**changes) -> ReferentialPart:
    raw = planning_part()
    raw.update(changes)
    return ReferentialPart.model_validate(raw)


def sample_referential() -> Referential:
    merged, problems = check_part(Referential(), part())
    assert problems == []
    return merged


def problems_of(**changes) -> list[str]:
    return check_part(Referential(), part(**changes))[1]


def entries(kind: str) -> list[dict]:
    return json.loads(json.dumps(planning_part()[kind]))


def by_code(items: list[dict], code: str) -> dict:
    return next(i for i in items if i["code"] == code)


# --- the sample ----------------------------------------------------------------------------------------------------

def test_ref_sample_referential_has_no_problems():
    ref = sample_referential()
    assert ref.problems() == []
    assert sorted(ref.sites) == ["ARM", "DIST", "DOU", "LIL"]
    assert sorted(ref.advisors) == ["cdurand", "jroux", "kbenamar", "mpetit"]
    assert ref.resources["ACR2025-L12"].ods == ("ACR2025",)
    assert ref.resources["ACR2025-L12"].start == date(2025, 1, 1)
    assert ref.resources["ACR2025-L12"].setting_version == 1
    assert [s.order for s in ref.ods["ACR2025"].steps] == [1, 2, 3, 4]
    assert ref.structure.siret == "41234567800019"


# --- REF-01 antennes, sites, France Travail addresses --------------------------------------------------------------

@pytest.mark.parametrize("variant", [
    "12 RUE DE LILLE 59280 ARMENTIERES",
    "12 rue de lille 59280 armentieres",
    "12 Rue de Lille 59280 Armentières",
    "12  RUE DE LILLE   59280 ARMENTIÈRES",
    "12 RUE DE LILLE 59280 ARMENTIERES.",
    "  12 rue de  Lille\t59280 Armentières. ",
])
def test_ref01_address_normalisation_ignores_case_accents_spaces_and_trailing_dot(variant):
    assert normalise_address(variant) == normalise_address("12 RUE DE LILLE 59280 ARMENTIERES")


def test_ref01_address_normalisation_still_tells_different_addresses_apart():
    assert normalise_address("12 RUE DE LILLE 59280 ARMENTIERES") != normalise_address(
        "14 RUE DE LILLE 59280 ARMENTIERES")
    assert normalise_address("12 RUE DE LILLE") != normalise_address("12 RUE DE LILLE 59280")


def test_ref01_same_france_travail_address_on_two_sites_is_refused_naming_both():
    sites = entries("sites")
    # Same address as ARM, written differently: still the same address (REF-01 comparison).
    by_code(sites, "LIL")["france_travail_addresses"].append("12 rue de Lille  59280 Armentières.")
    problems = problems_of(sites=sites)
    assert len(problems) == 1
    assert "« ARM »" in problems[0] and "« LIL »" in problems[0]
    assert "deux sites" in problems[0]


def test_ref01_same_france_travail_address_twice_on_one_site_is_accepted():
    sites = entries("sites")
    by_code(sites, "ARM")["france_travail_addresses"].append("12 rue de Lille 59280 Armentières")
    assert problems_of(sites=sites) == []


def test_ref01_site_with_unknown_antenne_is_refused():
    sites = entries("sites")
    by_code(sites, "ARM")["antenne"] = "ROUBAIX"
    assert problems_of(sites=sites) == ["Site « ARM » : antenne « ROUBAIX » inconnue."]


def test_ref01_site_without_france_travail_address_is_refused():
    sites = entries("sites")
    by_code(sites, "DOU")["france_travail_addresses"] = []
    problems = problems_of(sites=sites)
    assert len(problems) == 1 and problems[0].startswith("Site « DOU »")


# --- REF-02 advisors, REF-03 ODS ------------------------------------------------------------------------------------

def test_ref02_advisor_with_unknown_site_is_refused():
    advisors = entries("advisors")
    by_code(advisors, "kbenamar")["sites"] = ["LIL", "TOURCOING"]
    assert problems_of(advisors=advisors) == ["Conseiller « kbenamar » : site « TOURCOING » inconnu."]


def test_ref03_ods_with_unknown_site_is_refused():
    ods = entries("ods")
    ods[0]["sites"] = ["ARM", "LENS"]
    assert problems_of(ods=ods) == ["ODS « ACR2025 » : site « LENS » inconnu."]


@pytest.mark.parametrize("orders", [[1, 2, 4, 5], [2, 3, 4, 5], [1, 2, 2, 3]])
def test_ref03_etapes_not_numbered_1_to_n_are_refused(orders):
    ods = entries("ods")
    for step, order in zip(ods[0]["steps"], orders, strict=True):
        step["order"] = order
    problems = problems_of(ods=ods)
    assert len(problems) == 1
    assert problems[0].startswith("ODS « ACR2025 » : étapes numérotées")
    assert str(orders) in problems[0]


def test_ref03_etapes_listed_out_of_order_but_numbered_1_to_n_are_accepted():
    ods = entries("ods")
    ods[0]["steps"].reverse()
    assert problems_of(ods=ods) == []


@pytest.mark.parametrize("kind,label", [("antennes", "Antenne"), ("sites", "Site"), ("advisors", "Conseiller"),
                                        ("ods", "ODS"), ("resources", "Ressource")])
def test_ref_duplicate_codes_in_one_part_are_refused(kind, label):
    items = entries(kind)
    items.append(json.loads(json.dumps(items[0])))
    problems = problems_of(**{kind: items})
    assert f"{label} « {items[0]['code']} » : code en double dans le fichier." in problems


@pytest.mark.parametrize("siret", ["4123456780001", "412345678000190", "4123456780001A", "412 345 678 00019"])
def test_ref_structure_with_bad_siret_is_refused(siret):
    problems = problems_of(structure={"name": "BGE Hauts-de-France", "siret": siret})
    assert problems == [f"Structure : SIRET « {siret} » incorrect (14 chiffres attendus)."]


def test_ref_structure_siret_given_as_a_number_is_read_as_text():
    assert problems_of(structure={"name": "BGE Hauts-de-France", "siret": 41234567800019}) == []


# --- REF-04 ressources ------------------------------------------------------------------------------------------------

def test_ref04_resource_linked_to_two_ods_is_refused_naming_the_ressource():
    ods = entries("ods")
    second = json.loads(json.dumps(ods[0]))
    second.update(code="ACR2026", name="Activ'Créa 2026")
    resources = entries("resources")
    resources[0]["ods"] = ["ACR2025", "ACR2026"]
    problems = problems_of(ods=ods + [second], resources=resources)
    assert len(problems) == 1
    assert problems[0].startswith("Ressource « ACR2025-L12 » : une ressource Activ'Créa est liée à exactement une ODS")
    assert "ACR2025, ACR2026" in problems[0]


def test_ref04_resource_linked_to_no_ods_is_refused():
    resources = entries("resources")
    resources[0]["ods"] = []
    problems = problems_of(resources=resources)
    assert len(problems) == 1 and "« ACR2025-L12 »" in problems[0] and "aucune" in problems[0]


def test_ref04_resource_linked_to_an_unknown_ods_is_refused():
    resources = entries("resources")
    resources[0]["ods"] = "ACR2030"
    assert problems_of(resources=resources) == ["Ressource « ACR2025-L12 » : ODS « ACR2030 » inconnue."]


def test_ref04_resource_with_unknown_antenne_or_end_before_start_is_refused():
    resources = entries("resources")
    resources[0].update(antenne="ROUBAIX", start="2028-12-31", end="2025-01-01")
    assert problems_of(resources=resources) == [
        "Ressource « ACR2025-L12 » : antenne « ROUBAIX » inconnue.",
        "Ressource « ACR2025-L12 » : début 31/12/2028 après la fin 01/01/2025.",
    ]


def test_ref04_a_second_ods_in_a_later_load_is_refused_too():
    """Linking a second ODS to an existing ressource, in a later load of only that ressource."""
    current = sample_referential()
    resource = entries("resources")[0]
    resource["ods"] = ["ACR2025", "ACR2025"]
    _, problems = check_part(current, ReferentialPart.model_validate({"resources": [resource]}))
    assert len(problems) == 1 and problems[0].startswith("Ressource « ACR2025-L12 »")


def test_ref_a_partial_load_is_checked_against_the_current_referential():
    current = sample_referential()
    site = {"code": "ROU", "name": "Roubaix", "antenne": "LILLE", "france_travail_addresses": ["1 PLACE ROUBAIX"]}
    merged, problems = check_part(current, ReferentialPart.model_validate({"sites": [site]}))
    assert problems == []
    assert sorted(merged.sites) == ["ARM", "DIST", "DOU", "LIL", "ROU"], "entries absent from the load are kept"
    assert sorted(current.sites) == ["ARM", "DIST", "DOU", "LIL"], "the current referential is not mutated"


# --- REF-05 versions --------------------------------------------------------------------------------------------------

def test_ref05_changed_ressource_gets_a_new_setting_version_unchanged_keeps_it():
    v1 = sample_referential()
    resources = entries("resources")
    resources[0]["end"] = "2027-12-31"
    v2 = v1.merged_with(part(resources=resources))
    assert v2.resources["ACR2025-L12"].setting_version == 2
    assert v2.resources["ACR2025-L12"].end == date(2027, 12, 31)

    same = v2.merged_with(part(resources=resources))
    assert same.resources["ACR2025-L12"].setting_version == 2

    back = same.merged_with(part())
    assert back.resources["ACR2025-L12"].setting_version == 3


@pytest.mark.parametrize("field,value", [("active", False), ("antenne", "DOUAISIS"), ("market_number", "2024-X"),
                                         ("start", "2025-02-01"), ("ods", "ACR2026")])
def test_ref05_any_ressource_setting_change_increments_its_version(field, value):
    v1 = sample_referential()
    resources = entries("resources")
    resources[0][field] = value
    assert v1.merged_with(part(resources=resources)).resources["ACR2025-L12"].setting_version == 2


def test_ref05_setting_version_in_the_input_is_ignored():
    v1 = sample_referential()
    resources = entries("resources")
    resources[0]["setting_version"] = 7
    assert v1.merged_with(part(resources=resources)).resources["ACR2025-L12"].setting_version == 1


def test_ref05_other_changes_leave_ressource_setting_version_alone():
    v1 = sample_referential()
    sites = entries("sites")
    by_code(sites, "ARM")["name"] = "Armentières centre"
    v2 = v1.merged_with(part(sites=sites))
    assert v2.resources["ACR2025-L12"].setting_version == 1
    assert v2.digest() != v1.digest()


def test_ref05_digest_is_stable_for_identical_content():
    a = sample_referential()
    b = sample_referential()
    assert a.digest() == b.digest()
    assert a.merged_with(part()).digest() == a.digest(), "reloading the same part changes nothing"
    # The version number is not content; neither is the order entries were listed in.
    b.version = 9
    assert b.digest() == a.digest()
    reordered = {k: list(reversed(v)) if isinstance(v, list) else v for k, v in planning_part().items()}
    c, problems = check_part(Referential(), ReferentialPart.model_validate(reordered))
    assert problems == [] and c.digest() == a.digest()


def test_ref05_digest_changes_with_content():
    a = sample_referential()
    advisors = entries("advisors")
    by_code(advisors, "cdurand")["active"] = False
    assert a.merged_with(part(advisors=advisors)).digest() != a.digest()


def test_ref05_resource_same_settings_ignores_setting_version_only():
    r = sample_referential().resources["ACR2025-L12"]
    assert r.same_settings(r.model_copy(update={"setting_version": 5}))
    assert not r.same_settings(r.model_copy(update={"lot_number": "13"}))
    assert Resource.model_validate({**entries("resources")[0], "lot_number": 12}).lot_number == "12"


# --- the load_referential handler, on fakes ---------------------------------------------------------------------------

class FakeReferentialRepository:
    def __init__(self) -> None:
        self.saved: list[tuple[Referential, datetime]] = []

    async def get(self) -> Referential:
        return self.saved[-1][0].model_copy(deep=True) if self.saved else Referential()

    async def save(self, referential: Referential, changed_at: datetime) -> None:
        self.saved.append((referential.model_copy(deep=True), changed_at))

    async def versions(self) -> list[dict]:
        return [{"version": r.version, "changed_at": at, "digest": r.digest()} for r, at in self.saved]


NOW = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)


def fake_uow() -> FakeUnitOfWork:
    return FakeUnitOfWork(producer="planning", clock=FixedClock(NOW), referential=FakeReferentialRepository())


async def test_ref05_first_load_emits_exactly_one_referential_changed():
    uow = fake_uow()
    result = await load_referential(LoadReferential(part()), uow)
    assert result == {"changed": True, "version": 1}
    assert len(uow.events) == 1
    envelope = uow.events[0]
    assert envelope.type == "ReferentialChanged" and envelope.version == 1
    assert envelope.producer == "planning" and envelope.key == "bge"  # the structure: every event of a deployment
    assert envelope.payload["version"] == 1
    event = parse_event(envelope)
    assert isinstance(event, ReferentialChanged)
    assert [r.code for r in event.resources] == ["ACR2025-L12"]
    assert event.resources[0].ods == "ACR2025" and event.resources[0].market_number == "2024-FT-ACR-0042"
    assert sorted(a.code for a in event.advisors) == ["cdurand", "jroux", "kbenamar", "mpetit"]
    assert "email" not in envelope.payload["advisors"][0], "advisors' e-mails stay in planning"
    assert [v["version"] for v in await uow.referential.versions()] == [1]
    assert uow.referential.saved[0][1] == NOW


async def test_ref05_second_identical_load_emits_nothing():
    uow = fake_uow()
    await load_referential(LoadReferential(part()), uow)
    result = await load_referential(LoadReferential(part()), uow)
    assert result == {"changed": False, "version": 1}
    assert len(uow.events) == 1
    assert len(uow.referential.saved) == 1


async def test_ref05_changed_load_emits_the_next_version_with_the_new_setting_version():
    uow = fake_uow()
    await load_referential(LoadReferential(part()), uow)
    resources = entries("resources")
    resources[0]["end"] = "2027-12-31"
    result = await load_referential(LoadReferential(ReferentialPart.model_validate({"resources": resources})), uow)
    assert result == {"changed": True, "version": 2}
    assert [e.payload["version"] for e in uow.events] == [1, 2]
    assert uow.events[1].payload["resources"][0]["setting_version"] == 2
    assert uow.events[1].payload["resources"][0]["end"] == "2027-12-31"
    assert len(uow.events[1].payload["sites"]) == 4, "a full snapshot, not only what changed"


async def test_ref04_refused_load_raises_french_messages_and_saves_and_emits_nothing():
    uow = fake_uow()
    sites = entries("sites")
    by_code(sites, "ARM")["antenne"] = "ROUBAIX"
    resources = entries("resources")
    resources[0]["ods"] = ["ACR2025", "ACR2030"]
    with pytest.raises(RefusedInput) as exc:
        await load_referential(LoadReferential(part(sites=sites, resources=resources)), uow)
    assert exc.value.messages == [
        "Site « ARM » : antenne « ROUBAIX » inconnue.",
        "Ressource « ACR2025-L12 » : une ressource Activ'Créa est liée à exactement une ODS "
        "(trouvé : ACR2025, ACR2030). L'import en dépend.",
        "Ressource « ACR2025-L12 » : ODS « ACR2030 » inconnue.",
    ]
    assert type(exc.value) is RefusedInput  # neither NotFound nor Conflict: a 422 at the entrypoint
    assert uow.events == [] and uow.referential.saved == [] and uow.commits == 0


async def test_ref_refused_load_after_a_good_one_leaves_the_referential_as_it_was():
    uow = fake_uow()
    await load_referential(LoadReferential(part()), uow)
    advisors = entries("advisors")
    by_code(advisors, "mpetit")["sites"] = ["NULLE-PART"]
    with pytest.raises(RefusedInput, match="Conseiller « mpetit » : site « NULLE-PART » inconnu."):
        await load_referential(LoadReferential(part(advisors=advisors)), uow)
    assert len(uow.events) == 1 and len(uow.referential.saved) == 1
    assert (await uow.referential.get()).advisors["mpetit"].sites == ("LIL",)


async def test_ref_dry_run_saves_and_emits_nothing():
    uow = fake_uow()
    result = await load_referential(LoadReferential(part(), dry_run=True), uow)
    assert result == {"changed": True, "version": 1, "dry_run": True}
    assert uow.events == [] and uow.referential.saved == [] and uow.commits == 0
    # The real load afterwards is still version 1.
    assert await load_referential(LoadReferential(part()), uow) == {"changed": True, "version": 1}


async def test_ref_dry_run_of_a_refused_part_raises_too():
    uow = fake_uow()
    sites = entries("sites")
    by_code(sites, "DOU")["antenne"] = "ARRAS"
    with pytest.raises(RefusedInput) as exc:
        await load_referential(LoadReferential(part(sites=sites), dry_run=True), uow)
    assert exc.value.messages == ["Site « DOU » : antenne « ARRAS » inconnue."]
    assert uow.events == [] and uow.referential.saved == []
