"""Notify reads two topics at once (importer's and planning's), as its two Kafka subscriptions do: an
appointment (``RegistrationRecorded``) and its place in an action (``ParticipantAdded``) may be
consumed at the same time, each in its own transaction. Whichever commits first, the appointment must
end up linked to its action (NOT-04: reminders follow the action when planning moves or cancels it)."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from contracts import Envelope, Event
from contracts.importer import RegistrationRecorded, RegistrationRecordedItem
from contracts.planning import ActionItem, ActionPlanned, ParticipantAdded, ParticipantAddedItem
from servicekit.bus import Bus
from servicekit.clock import FixedClock

from notify.adapters import orm
from notify.bootstrap import bootstrap

NOW = datetime(2025, 3, 20, 8, tzinfo=UTC)
PEOPLE = 300


def envelope(e: Event) -> dict:
    return Envelope(event_id=uuid.uuid4(), type=e.event_type, version=e.event_version, occurred_at=NOW,
                    producer=e.producer, key="bge", payload=e.model_dump(mode="json")).model_dump(mode="json")


def appointment(i: int) -> RegistrationRecorded:
    return RegistrationRecorded(items=(RegistrationRecordedItem(
        registration_id=f"r-{i}", beneficiary_id=f"b-{i}", enrolment_id=f"e-{i}", resource="ACR2025-L12",
        ods="ACR2025", site="ARM", starts_at=starts(i), remote=False, order_number=None, list_kind="J-10"),))


def starts(i: int) -> datetime:
    return datetime(2025, 4, 1, 8, tzinfo=UTC) + timedelta(hours=i)


def planned(i: int) -> ActionPlanned:
    return ActionPlanned(items=(ActionItem(
        action_id=f"a-{i}", advisor=None, action_type="diagnostic", ods="ACR2025", step=1, resource="ACR2025-L12",
        mode="on_site", site="ARM", starts_at=starts(i), ends_at=starts(i) + timedelta(hours=1),
        nature="individual", max_participants=1, to_assign=True),))


async def test_not04_an_appointment_and_its_place_consumed_at_once_are_linked_whichever_commits_first(pg_settings):
    runtime = bootstrap(Bus("memory://"), pg_settings, FixedClock(NOW))
    await runtime.database.migrate()
    consume = runtime.dispatcher.consume
    try:
        for attempt in range(3):  # the two transactions interleave differently from one run to the next
            people = range(attempt * PEOPLE, (attempt + 1) * PEOPLE)
            await consume([envelope(planned(i)) for i in people], "prestaflow.planning.events")
            await asyncio.gather(
                consume([envelope(appointment(i)) for i in people], "prestaflow.import.events"),
                consume([envelope(ParticipantAdded(items=(ParticipantAddedItem(
                    action_id=f"a-{i}", beneficiary_id=f"b-{i}", resource="ACR2025-L12", ods="ACR2025"),)))
                    for i in people], "prestaflow.planning.events"))
        async with runtime.database.sessions() as session:
            rows = (await session.execute(orm.appointments.select())).mappings().all()
        assert len(rows) == 3 * PEOPLE
        unlinked = [r["registration_id"] for r in rows if r["action_id"] != f"a-{r['registration_id'][2:]}"]
        assert unlinked == []
        assert await runtime.dispatcher.dead_letters.parked() == []
    finally:
        await runtime.stop()
