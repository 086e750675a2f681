"""A log recorded before events carried lists, replayed into today's services (#15).

``tests/fixtures/v1-demo/events.jsonl`` is the ``events.jsonl`` that ``make demo`` wrote on main before
the change (every list-carrying type at version 1, one aggregate per event, keyed by aggregate). Read
today, each v1 event is upcast to its list version with one item; fed to today's five services, it
builds the same state as the same log written natively as version 2 events, and the same state
again on a second replay (ids made by handlers come from the events)."""

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts import Envelope, parse_event
from contracts.base import ListEvent
from contracts.registry import FIRST_VERSIONS
from servicekit.bus import Bus
from servicekit.http import build_app
from servicekit.settings import ServiceSettings

from prestaflow import audit
from prestaflow.embedded import BOOTSTRAPS, SERVICE_NAMES

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "v1-demo"
LIST_TYPES = {model.event_type for model in FIRST_VERSIONS}


def recorded_log() -> list[Envelope]:
    return [Envelope.model_validate_json(line) for line in (FIXTURE / "events.jsonl").read_text().splitlines()]


def as_version_2(envelope: Envelope) -> Envelope:
    """The same event as a list-carrying producer writes it now."""
    event = parse_event(envelope)
    return envelope.model_copy(update={"version": event.event_version, "payload": event.model_dump(mode="json")})


# What users read of each projection of the referential (``prestaflow referential show``); billing's
# catalogue is its own state, loaded by a command, and no event rebuilds it.
VIEWS = {"importer": "/referential", "affectation": "/referential", "billing": "/referential"}


async def replay(log: list[Envelope], home: Path) -> dict[str, dict]:
    """The audit's replay (OPS-04): every event into fresh databases of the five services, each taking
    the types it handles; each one's state digest, table by table."""
    rebuilt = await audit.rebuild(log, home)
    for name, service in rebuilt.items():
        assert service["refused"] is None, service["refused"]
    return {name: service["tables"] for name, service in rebuilt.items()}


async def views_of(log: list[Envelope], home: Path) -> dict[str, Any]:
    """What the referential routes of a replayed copy answer (``prestaflow referential show``)."""
    settings = ServiceSettings(home=home, bus="memory://", database_url=None)
    views = {}
    await audit.rebuild(log, home)
    for name, bootstrap in zip(SERVICE_NAMES, BOOTSTRAPS, strict=True):
        if name in VIEWS:
            bus = Bus("memory://")
            runtime = bootstrap(bus, settings)
            app = build_app([runtime], bus, name, run_relays=False)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://replay") as client:
                views[name] = (await client.get(f"/{name}{VIEWS[name]}")).json()
            await runtime.database.dispose()
    return views


def test_x01_every_v1_event_of_the_recorded_log_is_upcast_to_one_item_of_its_list_event():
    log = recorded_log()
    assert {e.version for e in log if e.type in LIST_TYPES} == {1}  # the fixture is what it claims
    items: dict[str, int] = {}
    for envelope in log:
        event = parse_event(envelope)
        if envelope.type in LIST_TYPES:
            assert isinstance(event, ListEvent) and event.event_version == 2
            assert len(event.items) == 1 and event.items[0].version == 0
            items[envelope.type] = items.get(envelope.type, 0) + 1
    assert items["ActionPlanned"] == 56 and items["MessageSent"] == 22 and items["BeneficiaryRegistered"] == 6
    first = parse_event(next(e for e in log if e.type == "ActionPlanned"))
    planned = next(e for e in log if e.type == "ActionPlanned").payload["action"]
    assert first.items[0].model_dump(mode="json", exclude={"version"}) == planned


# Rows the v1 demo's events build in each service (six people, seven places, one waiting entry).
# Planning restores its referential and agenda from its own events (OPS-04); the v1 import made its
# appointment to assign under a random id, which today's handler derives from the event, so the log's
# assignment (naming the random id) is refused on replay and the person keeps one place, not two.
BUILT_BY_EVENTS = {
    "planning": {"registrations": 6, "participants": 6}, "importer": {"ref_resources": 1},
    "affectation": {"actions": 56, "beneficiaries": 6, "worklist": 1}, "billing": {"ref_sites": 4},
    "notify": {"appointments": 6, "participations": 7, "contacts": 6},
}


@pytest.mark.parametrize("service", SERVICE_NAMES)
async def test_x01_ops04_audit_replay_of_the_v1_log_builds_the_state_the_same_log_as_v2_builds(tmp_path, service):
    log = recorded_log()
    upcast_on_read = await replay(log, tmp_path / "v1")
    native = await replay([as_version_2(e) for e in log], tmp_path / "v2")
    again = await replay(log, tmp_path / "again")
    for table, count in BUILT_BY_EVENTS[service].items():  # the replay built something to compare
        assert upcast_on_read[service][table]["rows"] == count, table
    assert upcast_on_read[service] == native[service]
    assert upcast_on_read[service] == again[service]  # nothing random in what handlers make


async def test_x01_projections_rebuilt_from_the_v1_log_answer_what_the_v1_demo_showed(tmp_path):
    """``referential.json`` is what the demo printed of each service's view before the change."""
    views = await views_of(recorded_log(), tmp_path)
    shown = json.loads((FIXTURE / "referential.json").read_text())
    shown["billing"] = shown["billing"]["referential"]
    for service in VIEWS:
        assert views[service] == shown[service], service
