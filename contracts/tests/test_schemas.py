"""Event contracts: schema compatibility within a version, the published schemas, the envelope.

Within one version of an event only optional fields may be added (contracts/schemas.py); the
published JSON Schemas in ``contracts/schemas/`` must match the models (``make schemas``).
"""

import json
import uuid
from datetime import UTC, date, datetime
from typing import Literal

import pytest
from pydantic import BaseModel, ValidationError

from contracts.envelope import Envelope
from contracts.planning import (AdvisorRef, AntenneRef, OdsRef, ReferentialChanged, ResourceRef, SiteRef, StepRef,
                                StructureRef)
from contracts.registry import EVENT_MODELS, PUBLISHED_MODELS, UnknownEvent, model_for, parse_event
from contracts.schemas import SCHEMA_DIR, check, current_schemas, incompatibilities, write


def schema(model: type[BaseModel]) -> dict:
    """As published: ``contracts.schemas`` uses the serialization mode."""
    return model.model_json_schema(mode="serialization")


# --- incompatibilities(old, new) -----------------------------------------------------------------------------------

class Old(BaseModel):
    code: str
    label: str
    note: str | None = None


def test_schema_identical_models_are_compatible():
    assert incompatibilities(schema(Old), schema(Old)) == []


def test_schema_adding_an_optional_field_is_compatible():
    class New(BaseModel):
        code: str
        label: str
        note: str | None = None
        extra: int | None = None

    assert incompatibilities(schema(Old), schema(New)) == []


def test_schema_removing_a_field_is_reported():
    class New(BaseModel):
        code: str
        note: str | None = None

    assert incompatibilities(schema(Old), schema(New)) == ["/label: field removed"]


def test_schema_making_an_optional_field_required_is_reported():
    class New(BaseModel):
        code: str
        label: str
        note: str | None

    assert incompatibilities(schema(Old), schema(New)) == ["/note: field became required"]


def test_schema_adding_a_required_field_is_reported():
    class New(BaseModel):
        code: str
        label: str
        note: str | None = None
        siret: str

    assert incompatibilities(schema(Old), schema(New)) == ["/siret: new required field"]


def test_schema_changing_a_type_string_to_integer_is_reported():
    class New(BaseModel):
        code: int
        label: str
        note: str | None = None

    problems = incompatibilities(schema(Old), schema(New))
    assert problems == ["/code: type ['string'] became ['integer']"]


def test_schema_making_a_field_nullable_is_reported_but_narrowing_is_not():
    class Nullable(BaseModel):
        code: str | None
        label: str
        note: str | None = None

    class Narrowed(BaseModel):
        code: str
        label: str
        note: str = ""

    assert incompatibilities(schema(Old), schema(Nullable)) == ["/code: type ['string'] became ['null', 'string']"]
    assert incompatibilities(schema(Old), schema(Narrowed)) == []


class InnerV1(BaseModel):
    name: str
    siret: str


class InnerV2(BaseModel):
    name: str


def test_schema_nested_model_field_removed_through_defs_ref_is_reported():
    class OuterOld(BaseModel):
        structure: InnerV1

    class OuterNew(BaseModel):
        structure: InnerV2

    old, new = schema(OuterOld), schema(OuterNew)
    assert "$ref" in old["properties"]["structure"], "the nested model must travel through $defs/$ref"
    assert incompatibilities(old, new) == ["/structure/siret: field removed"]


def test_schema_nested_model_field_removed_in_a_list_is_reported():
    class OuterOld(BaseModel):
        sites: tuple[InnerV1, ...]

    class OuterNew(BaseModel):
        sites: tuple[InnerV2, ...]

    assert incompatibilities(schema(OuterOld), schema(OuterNew)) == ["/sites[]/siret: field removed"]


def test_schema_nested_optional_model_field_removed_is_reported():
    """``structure: StructureRef | None`` (ReferentialChanged) is an anyOf around the $ref."""
    class OuterOld(BaseModel):
        structure: InnerV1 | None

    class OuterNew(BaseModel):
        structure: InnerV2 | None

    class ListOld(BaseModel):
        sites: list[InnerV1] | None = None

    class ListNew(BaseModel):
        sites: list[InnerV2] | None = None

    assert incompatibilities(schema(OuterOld), schema(OuterNew)) == ["/structure/siret: field removed"]
    assert incompatibilities(schema(ListOld), schema(ListNew)) == ["/sites[]/siret: field removed"]


def test_schema_nested_field_required_in_a_new_nested_model_is_reported():
    class InnerMore(BaseModel):
        name: str
        siret: str
        naf: str

    class OuterOld(BaseModel):
        structure: InnerV1

    class OuterNew(BaseModel):
        structure: InnerMore

    assert incompatibilities(schema(OuterOld), schema(OuterNew)) == ["/structure/naf: new required field"]


def test_schema_new_literal_value_is_reported_also_when_optional():
    class LitOld(BaseModel):
        presence: Literal["oui", "non"]
        mode: Literal["on_site", "remote"] | None = None

    class LitNew(BaseModel):
        presence: Literal["oui", "non", "excusé"]
        mode: Literal["on_site", "remote", "hybrid"] | None = None

    assert incompatibilities(schema(LitOld), schema(LitNew)) == [
        "/presence: new enum values ['excusé']", "/mode: new enum values ['hybrid']"]


def test_schema_removing_a_field_of_a_real_event_is_reported():
    """A field removed from StructureRef (ReferentialChanged.structure) would break importer's projection."""
    published = json.loads((SCHEMA_DIR / "ReferentialChanged.v1.json").read_text(encoding="utf-8"))
    changed = json.loads(json.dumps(published))
    del changed["$defs"]["StructureRef"]["properties"]["siret"]
    changed["$defs"]["StructureRef"]["required"].remove("siret")
    assert incompatibilities(published, changed) == ["/structure/siret: field removed"]


# --- check(): the published schemas ------------------------------------------------------------------------------

def test_schema_check_published_schemas_match_the_models():
    """Fails when a model changed without `make schemas` (or changed incompatibly)."""
    assert check() == []


def test_schema_every_event_model_is_published_and_first_versions_stay_published():
    published = {p.name for p in SCHEMA_DIR.glob("*.json")}
    expected = {"Envelope.json"} | {f"{m.event_type}.v{m.event_version}.json" for m in PUBLISHED_MODELS}
    assert expected == published
    # Every list event replaced a first version whose schema an old log's reader still needs.
    assert {f"{m.event_type}.v1.json" for m in EVENT_MODELS} <= published


def test_schema_check_reports_an_out_of_date_and_an_incompatible_schema(tmp_path):
    write(tmp_path)
    assert check(tmp_path) == []
    path = tmp_path / "ReferentialChanged.v1.json"
    published = json.loads(path.read_text(encoding="utf-8"))

    # The published schema lacks an optional field the model has: compatible, but out of date.
    older = json.loads(json.dumps(published))
    del older["$defs"]["SiteRef"]["properties"]["active"]
    path.write_text(json.dumps(older), encoding="utf-8")
    assert check(tmp_path) == ["ReferentialChanged.v1.json: out of date, run `make schemas`"]

    # The published schema has a field the model no longer has: incompatible.
    removed = json.loads(json.dumps(published))
    removed["$defs"]["SiteRef"]["properties"]["floor"] = {"type": "integer"}
    path.write_text(json.dumps(removed), encoding="utf-8")
    assert check(tmp_path) == ["ReferentialChanged.v1.json/sites[]/floor: field removed"]

    (tmp_path / "Gone.v1.json").write_text("{}", encoding="utf-8")
    path.unlink()
    assert check(tmp_path) == ["Gone.v1.json: published schema has no model any more",
                               "ReferentialChanged.v1.json: not published yet, run `make schemas`"]


def test_schema_current_schemas_cover_envelope_and_every_event():
    names = set(current_schemas())
    assert "Envelope.json" in names and "ReferentialChanged.v1.json" in names
    assert len(names) == len(PUBLISHED_MODELS) + 1


# --- registry and envelope ---------------------------------------------------------------------------------------

def referential_changed() -> ReferentialChanged:
    return ReferentialChanged(
        version=1,
        structure=StructureRef(name="BGE Hauts-de-France", siret="41234567800019"),
        antennes=(AntenneRef(code="LILLE", name="Antenne Lille Métropole"),),
        sites=(SiteRef(code="ARM", name="Armentières", antenne="LILLE", address="12 rue de Lille, 59280 Armentières",
                       france_travail_addresses=("12 RUE DE LILLE 59280 ARMENTIERES",)),),
        advisors=(AdvisorRef(code="cdurand", name="Claire DURAND", sites=("ARM",), remote=False),),
        ods=(OdsRef(code="ACR2025", name="Activ'Créa 2025", special_service="Activ'Créa 2025", sites=("ARM",),
                    steps=(StepRef(order=1, name="Entretien initial de diagnostic", action_type="diagnostic",
                                   duration_min=60, nature="individual"),)),),
        resources=(ResourceRef(code="ACR2025-L12", name="marché Activ'Créa 2025 2025-2028 lot 12", antenne="LILLE",
                               start=date(2025, 1, 1), end=date(2028, 12, 31), market_number="2024-FT-ACR-0042",
                               lot_number="12", ods="ACR2025", lead_contractor="self", funder="France Travail",
                               setting_version=1),),
    )


def envelope_fields(**changes) -> dict:
    event = referential_changed()
    fields = dict(event_id=str(uuid.uuid4()), type=event.event_type, version=event.event_version,
                  occurred_at="2025-01-06T08:00:00+00:00", producer="planning", key="referential",
                  correlation_id="cmd-1", causation_id=None, payload=event.model_dump(mode="json"))
    fields.update(changes)
    return fields


def test_registry_parse_event_round_trips_a_referential_changed_envelope():
    event = referential_changed()
    envelope = Envelope(event_id=uuid.uuid4(), type="ReferentialChanged", version=1,
                        occurred_at=datetime(2025, 1, 6, 8, tzinfo=UTC), producer="planning", key="referential",
                        payload=event.model_dump(mode="json"))
    on_the_wire = json.dumps(envelope.model_dump(mode="json"))
    received = Envelope.model_validate_json(on_the_wire)
    assert received == envelope
    parsed = parse_event(received)
    assert isinstance(parsed, ReferentialChanged)
    assert parsed == event
    assert parsed.resources[0].start == date(2025, 1, 1)
    assert parsed.structure.siret == "41234567800019"


def test_registry_unknown_event_type_raises_unknown_event():
    envelope = Envelope.model_validate(envelope_fields(type="ReferentialExploded"))
    with pytest.raises(UnknownEvent):
        parse_event(envelope)
    with pytest.raises(UnknownEvent):
        model_for("ReferentialExploded")


def test_registry_a_newer_version_than_known_raises_unknown_event():
    envelope = Envelope.model_validate(envelope_fields(version=2))
    with pytest.raises(UnknownEvent, match="ReferentialChanged v2"):
        parse_event(envelope)


def test_registry_a_payload_not_matching_its_model_is_refused():
    payload = referential_changed().model_dump(mode="json")
    payload["colour"] = "red"
    with pytest.raises(ValidationError):
        parse_event(Envelope.model_validate(envelope_fields(payload=payload)))


def test_envelope_valid_fields_are_accepted():
    envelope = Envelope.model_validate(envelope_fields())
    assert envelope.occurred_at.utcoffset() is not None


def test_envelope_is_strict_extra_field_refused():
    with pytest.raises(ValidationError) as exc:
        Envelope.model_validate(envelope_fields(tenant="bge-hdf"))
    assert exc.value.errors()[0]["type"] == "extra_forbidden"


def test_envelope_is_strict_naive_datetime_refused():
    with pytest.raises(ValidationError) as exc:
        Envelope.model_validate(envelope_fields(occurred_at="2025-01-06T08:00:00"))
    assert exc.value.errors()[0]["type"] == "timezone_aware"
    with pytest.raises(ValidationError):
        Envelope(event_id=uuid.uuid4(), type="ReferentialChanged", version=1, occurred_at=datetime(2025, 1, 6, 8),
                 producer="planning", key="referential", payload={})


def test_envelope_version_must_be_positive_and_is_immutable():
    with pytest.raises(ValidationError):
        Envelope.model_validate(envelope_fields(version=0))
    envelope = Envelope.model_validate(envelope_fields())
    with pytest.raises(ValidationError):
        envelope.key = "other"
