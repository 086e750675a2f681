"""An import's list events in phases, and the rounds that keep each aggregate's items in order."""

from datetime import UTC, date, datetime

from contracts.importer import (BeneficiaryDeactivated, BeneficiaryDeactivatedItem, BeneficiaryRegistered,
                                BeneficiaryRegisteredItem, ParticipantConfirmed, ParticipantConfirmedItem,
                                RegistrationCancelled, RegistrationCancelledItem, RegistrationRecorded,
                                RegistrationRecordedItem)
from servicekit.testing import FakeUnitOfWork

from importer.service_layer.imports import Announcements

AT = datetime(2025, 2, 3, 8, tzinfo=UTC)


def registered(person: str) -> BeneficiaryRegisteredItem:
    return BeneficiaryRegisteredItem(beneficiary_id=person, sealed="x", accepts_email=True, accepts_sms=True)


def recorded(registration: str, person: str, moved_from: datetime | None = None) -> RegistrationRecordedItem:
    return RegistrationRecordedItem(registration_id=registration, beneficiary_id=person,
                                    enrolment_id="e-" + registration, resource="R", ods="O", site="ARM", starts_at=AT,
                                    remote=False, order_number=None, list_kind="J-10", moved_from=moved_from)


def confirmed(registration: str, person: str) -> ParticipantConfirmedItem:
    return ParticipantConfirmedItem(registration_id=registration, beneficiary_id=person, enrolment_id="e",
                                    order_number="BDC", starts_at=AT)


def cancelled(registration: str, person: str) -> RegistrationCancelledItem:
    return RegistrationCancelledItem(registration_id=registration, beneficiary_id=person, starts_at=AT)


async def emitted(*added) -> list[tuple[str, list[str]]]:
    """Each committed event's type and its items' aggregate ids."""
    uow = FakeUnitOfWork("importer")
    announcements = Announcements()
    async with uow:
        for event_type, item in added:
            announcements.add(event_type, item)
        announcements.emit(uow)
        await uow.commit()
    return [(e.type, [i.get("registration_id", i["beneficiary_id"]) for i in e.payload["items"]]) for e in uow.events]


async def test_rows_in_any_order_are_one_event_per_phase():
    assert await emitted(
        (BeneficiaryRegistered, registered("a")), (RegistrationRecorded, recorded("ra", "a")),
        (ParticipantConfirmed, confirmed("ra", "a")), (BeneficiaryRegistered, registered("b")),
        (RegistrationRecorded, recorded("rb", "b")), (RegistrationRecorded, recorded("ra2", "a")),
        (RegistrationCancelled, cancelled("ra", "a")), (ParticipantConfirmed, confirmed("rb", "b")),
    ) == [("BeneficiaryRegistered", ["a", "b"]), ("RegistrationRecorded", ["ra", "rb", "ra2"]),
          ("ParticipantConfirmed", ["ra", "rb"]), ("RegistrationCancelled", ["ra"])]


async def test_a_registration_cancelled_then_moved_is_moved_after_its_cancellation():
    assert await emitted(
        (RegistrationRecorded, recorded("ra", "a")), (RegistrationCancelled, cancelled("ra", "a")),
        (RegistrationRecorded, recorded("rb", "b")), (RegistrationRecorded, recorded("ra", "a", moved_from=AT)),
    ) == [("RegistrationRecorded", ["ra", "rb"]), ("RegistrationCancelled", ["ra"]),
          ("RegistrationRecorded", ["ra"])]


async def test_a_person_deactivated_then_back_comes_back_after_the_deactivation_with_what_follows():
    assert await emitted(
        (BeneficiaryRegistered, registered("a")),
        (BeneficiaryDeactivated, BeneficiaryDeactivatedItem(beneficiary_id="a", purge_on=date(2025, 2, 8))),
        (BeneficiaryRegistered, registered("b")), (BeneficiaryRegistered, registered("a")),
        (RegistrationRecorded, recorded("ra", "a")), (RegistrationRecorded, recorded("rb", "b")),
    ) == [("BeneficiaryRegistered", ["a", "b"]), ("RegistrationRecorded", ["rb"]), ("BeneficiaryDeactivated", ["a"]),
          ("BeneficiaryRegistered", ["a"]), ("RegistrationRecorded", ["ra"])]
