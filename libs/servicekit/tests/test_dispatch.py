"""Consumer side with fakes: inbox skips redeliveries, failures are retried then dead-lettered,
and re-driven once fixed (X-02)."""

from contracts.planning import ReferentialChanged
from servicekit.dispatch import EventDispatcher
from servicekit.testing import FakeDeadLetters, FakeUnitOfWork, envelope_of

from kit_app import CLOCK, referential_changed


class Projection:
    def __init__(self):
        self.versions: list[int] = []
        self.failures_left = 0


def build(projection: Projection, attempts: int = 3):
    uow = FakeUnitOfWork(producer="importer", clock=CLOCK, projection=projection)

    async def record(event: ReferentialChanged, uow) -> None:
        async with uow:
            if uow.projection.failures_left:
                uow.projection.failures_left -= 1
                raise RuntimeError("database unavailable")
            uow.projection.versions.append(event.version)
            await uow.commit()

    dead = FakeDeadLetters()
    dispatcher = EventDispatcher("importer", {ReferentialChanged: record}, lambda: uow, dead, attempts=attempts,
                                 backoff_seconds=0)
    return dispatcher, uow, dead


def message(version: int = 1) -> dict:
    return envelope_of(referential_changed(version), occurred_at=CLOCK.now()).model_dump(mode="json")


async def test_x02_redelivered_event_is_skipped():
    projection = Projection()
    dispatcher, uow, _ = build(projection)
    body = message()
    await dispatcher(body, "prestaflow.planning.events")
    await dispatcher(body, "prestaflow.planning.events")
    assert projection.versions == [1]
    assert len(uow.processed) == 1


async def test_x02_transient_failure_is_retried_and_applied_once():
    projection = Projection()
    projection.failures_left = 2
    dispatcher, _, dead = build(projection, attempts=3)
    await dispatcher(message(), "t")
    assert projection.versions == [1]
    assert dead.letters == []


async def test_x02_persistent_failure_is_dead_lettered_with_its_error_then_redriven():
    projection = Projection()
    projection.failures_left = 3
    dispatcher, uow, dead = build(projection, attempts=3)
    body = message()
    await dispatcher(body, "prestaflow.planning.events")
    assert projection.versions == []
    [letter] = dead.letters
    assert letter["attempts"] == 3 and "database unavailable" in letter["error"]
    assert letter["topic"] == "prestaflow.planning.events" and letter["envelope"] == body
    assert not uow.processed  # not marked as seen: the re-drive must still apply it

    result = await dispatcher.redrive()
    assert result == {"redriven": [1], "failed": []}
    assert projection.versions == [1]
    assert await dead.parked() == []


async def test_x02_malformed_payload_is_parked_without_retrying():
    projection = Projection()
    dispatcher, _, dead = build(projection)
    body = message()
    body["payload"] = {"version": "not a number"}
    await dispatcher(body, "t")
    assert len(dead.letters) == 1 and dead.letters[0]["attempts"] == 1
    body = {"no": "envelope"}
    await dispatcher(body, "t")
    assert "enveloppe invalide" in dead.letters[1]["error"]


async def test_events_of_other_types_are_ignored():
    projection = Projection()
    dispatcher, uow, dead = build(projection)
    body = message()
    body["type"] = "CatalogueChanged"
    await dispatcher(body, "t")
    assert projection.versions == [] and dead.letters == [] and not uow.processed
