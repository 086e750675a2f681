"""The envelope on the wire: written by hand when emitted (``envelope_json``), read in one pass when
consumed (``read_envelope``). Both must agree with the pydantic model exactly, and a v1 payload read
from an old log is upcast to the list event's one item."""

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from contracts import Envelope, parse_event
from contracts.envelope import envelope_json
from contracts.importer import RegistrationRecorded, RegistrationRecordedItem, RegistrationRecordedV1
from contracts.registry import UnknownEvent, read_envelope

FIELDS = dict(registration_id="r-1", beneficiary_id="b-1", enrolment_id="e-1", resource="ACR2025-L12", ods="ACR2025",
              site="ARM", starts_at=datetime(2025, 3, 3, 9, tzinfo=UTC), remote=False, order_number=None,
              list_kind="J-10")
EVENT = RegistrationRecorded(items=(RegistrationRecordedItem(**FIELDS, version=3),))
EVENT_ID = "3f2a5c1e-8b7d-4e6f-9a0b-1c2d3e4f5a6b"


def written(event, **fields) -> str:
    return envelope_json(event.event_type, event.event_version, event.model_dump_json(), **fields)


def by_the_model(event, **fields) -> str:
    return Envelope(event_id=fields["event_id"], type=event.event_type, version=event.event_version,
                    occurred_at=fields["occurred_at"], producer=fields["producer"], key=fields["key"],
                    correlation_id=fields["correlation_id"], causation_id=fields["causation_id"],
                    actor=fields.get("actor"), sequence=fields.get("sequence"),
                    previous_hash=fields.get("previous_hash"), payload=event.model_dump(mode="json")).model_dump_json()


@pytest.mark.parametrize("fields", [
    dict(occurred_at=datetime(2025, 1, 6, 8, tzinfo=UTC), key="bge", correlation_id="import-42", causation_id=None),
    dict(occurred_at=datetime(2025, 1, 6, 8, 30, 1, 250, tzinfo=UTC), key="bge", correlation_id=None,
         causation_id="9e2b", actor="mpetit"),
    dict(occurred_at=datetime(2025, 7, 1, 10, tzinfo=timezone(timedelta(hours=2))), key='clé "quotée"\\ é\n',
         correlation_id="commande Prest@ppli n°1", causation_id=None, actor="é\"\\"),
    dict(occurred_at=datetime(2025, 1, 6, 8, tzinfo=UTC), key="bge", correlation_id=None, causation_id=None,
         sequence=7, previous_hash="ab" * 32),
])
def test_envelope_json_is_the_models_own_json(fields):
    fields = dict(fields, event_id=EVENT_ID, producer="importer")
    assert json.loads(written(EVENT, **fields)) == json.loads(by_the_model(EVENT, **fields))
    assert Envelope.model_validate_json(written(EVENT, **fields)) == Envelope.model_validate_json(
        by_the_model(EVENT, **fields))


def test_read_envelope_with_its_type_parses_the_payload_in_the_same_pass():
    wire = written(EVENT, event_id=EVENT_ID, occurred_at=datetime(2025, 1, 6, 8, tzinfo=UTC), producer="importer",
                   key="bge", correlation_id=None, causation_id=None, actor="mpetit")
    typed = read_envelope(wire.encode(), "RegistrationRecorded")
    assert isinstance(typed.payload, RegistrationRecorded) and parse_event(typed) == EVENT
    plain = read_envelope(wire, None)  # no type header: the payload is parsed on its own
    assert isinstance(plain.payload, dict) and parse_event(plain) == EVENT
    assert (typed.event_id, typed.key, typed.actor) == (plain.event_id, plain.key, plain.actor) == (
        EVENT_ID, "bge", "mpetit")


def test_a_v1_payload_from_an_old_log_is_upcast_to_one_item_at_version_zero():
    old = RegistrationRecordedV1(**FIELDS)
    wire = written(old, event_id=EVENT_ID, occurred_at=datetime(2025, 1, 6, 8, tzinfo=UTC), producer="importer",
                   key="r-1", correlation_id=None, causation_id=None)
    for header in ("RegistrationRecorded", None):
        envelope = read_envelope(wire, header)
        assert envelope.version == 1 and isinstance(envelope.payload, dict)
        event = parse_event(envelope)
        assert isinstance(event, RegistrationRecorded)
        assert event.items == (RegistrationRecordedItem(**FIELDS, version=0),)


def test_read_envelope_falls_back_when_the_header_lies_or_the_version_is_unknown():
    wire = json.loads(written(EVENT, event_id=EVENT_ID, occurred_at=datetime(2025, 1, 6, 8, tzinfo=UTC),
                              producer="importer", key="bge", correlation_id=None, causation_id=None))
    lying = read_envelope(json.dumps(wire), "BeneficiaryRegistered")
    assert lying.type == "RegistrationRecorded" and parse_event(lying) == EVENT
    newer = read_envelope(json.dumps(wire | {"version": 3}), "RegistrationRecorded")
    with pytest.raises(UnknownEvent, match="RegistrationRecorded v3"):
        parse_event(newer)
