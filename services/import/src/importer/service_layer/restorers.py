"""An audit replay's restorers (OPS-04): importer's records, rebuilt from importer's own events.

Importer's state is what its commands decided (the imports, the GDPR purge), so a replay reads it
back from the events they emitted, one handler per event type, writing the rows the command wrote:
ids, times (the event's), the batch (the event's correlation ``import-<batch>``) and the user (its
actor; the command's default for a log written before actors) all come from the log. Identities
travel sealed with each person's key, which is never in the log (destroying it erases the person,
X-04): a replay opens them with the keys the live importer still holds (``keys``, the audit's key
source); a purged person's are gone, as in the live record.
Each restorer emits its event's items again, so that the aggregates' versions end as the live ones.
"""

from collections.abc import Callable
from datetime import date
from typing import Any

from contracts.importer import (BeneficiariesMerged, BeneficiaryCorrected, BeneficiaryDeactivated, BeneficiaryPurged,
                                BeneficiaryRegistered, InscritsImported, ParticipantConfirmed, ParticipantNotConfirmed,
                                RegistrationCancelled, RegistrationRecorded)
from servicekit.dispatch import Handler

from importer.adapters.people import IDENTITY
from importer.adapters.restored import beneficiaries, enrolments, import_batches, registrations
from importer.domain.corrections import PERSONAL, PRESCRIPTION
from importer.domain.imports import PROJECT
from importer.service_layer.imports import ImportList


def _batch(uow) -> str:
    """The import an event of an import belongs to: its correlation id is ``import-<batch id>``."""
    return (uow.correlation_id or "").removeprefix("import-")


def _identity(opened: dict[str, Any] | None) -> dict[str, Any]:
    values = {field: (opened or {}).get(field) for field in IDENTITY}
    if isinstance(values["birth_date"], str):
        values["birth_date"] = date.fromisoformat(values["birth_date"])
    return values


def restorers(keys: Callable[[], Any]) -> dict[type, Handler]:
    """The restorers, reading sealed identities through ``keys()`` (the audit sets the key source)."""

    async def restore_beneficiaries(event: BeneficiaryRegistered, uow) -> None:
        opened = await keys().unseal_all({item.beneficiary_id: item.sealed for item in event.items})
        async with uow:
            now = uow.clock.now()  # an import's consents come from the prescription, at its time
            new = {"created_by_import": True, "created_at": now, "email_consent_source": PRESCRIPTION,
                   "email_consent_at": now, "sms_consent_source": PRESCRIPTION, "sms_consent_at": now}
            await uow.restored.put(beneficiaries, [(item.beneficiary_id, _identity(opened.get(item.beneficiary_id)) | {
                "accepts_email": item.accepts_email, "accepts_sms": item.accepts_sms, "active": True, "purge_on": None},
                new) for item in event.items])
            uow.emit_items(BeneficiaryRegistered, event.items)
            await uow.commit()

    async def restore_corrections(event: BeneficiaryCorrected, uow) -> None:
        """Staff's corrections (BEN-01): the record as the event seals it, its consents as it states them.
        The history's rows are not restored (``beneficiary_changes`` is unreplayable, see bootstrap)."""
        opened = await keys().unseal_all({item.beneficiary_id: item.sealed for item in event.items})
        async with uow:
            rows = []
            for item in event.items:
                before = await uow.people.beneficiary(item.beneficiary_id)
                corrected = [f for f in ((before and before.corrected_fields) or "").split(",") if f]
                corrected += [f for f in item.changed if f in PERSONAL and f not in corrected]
                consents = {f"{channel}_consent_{part}": getattr(given, part)
                            for channel, given in (("email", item.email), ("sms", item.sms))
                            for part in ("source", "at", "by")}
                rows.append({"id": item.beneficiary_id, **_identity(opened.get(item.beneficiary_id)), **consents,
                             "accepts_email": item.email.accepted, "accepts_sms": item.sms.accepted,
                             "corrected_fields": ",".join(corrected) or None})
            await uow.restored.change(beneficiaries, rows)
            uow.emit_items(BeneficiaryCorrected, event.items)
            await uow.commit()

    async def restore_registrations(event: RegistrationRecorded, uow) -> None:
        async with uow:
            enrolled, registered = [], []
            for item in event.items:
                order = {"order_number": item.order_number, "prescriber_name": item.prescriber,
                         "agency_code": item.agency_code, "prescription_date": item.prescription_date}
                enrolled.append((item.enrolment_id, order if item.order_number else {}, {
                    "beneficiary_id": item.beneficiary_id, "resource_code": item.resource, "ods_code": item.ods,
                    "site_code": item.site, "project": PROJECT, "virtual_office_access": True,
                    "created_at": uow.clock.now()} | order))
                registered.append((item.registration_id, {
                    "starts_at": item.starts_at, "site_code": item.site, "remote": item.remote,
                    "batch_id": _batch(uow)}, {
                    "beneficiary_id": item.beneficiary_id, "enrolment_id": item.enrolment_id,
                    "resource_code": item.resource, "status": "registered", "order_number": item.order_number}))
            await uow.restored.put(enrolments, enrolled)
            await uow.restored.put(registrations, registered)
            uow.emit_items(RegistrationRecorded, event.items)
            await uow.commit()

    async def restore_confirmations(event: ParticipantConfirmed, uow) -> None:
        async with uow:
            await uow.restored.change(enrolments, [{
                "id": item.enrolment_id, "order_number": item.order_number, "prescriber_name": item.prescriber,
                "agency_code": item.agency_code, "prescription_date": item.prescription_date} for item in event.items])
            await uow.restored.change(registrations, [{
                "id": item.registration_id, "status": "confirmed", "order_number": item.order_number}
                for item in event.items])
            uow.emit_items(ParticipantConfirmed, event.items)
            await uow.commit()

    async def restore_not_confirmed(event: ParticipantNotConfirmed, uow) -> None:
        async with uow:
            await uow.restored.change(registrations, [{"id": item.registration_id, "status": "not_confirmed"}
                                                      for item in event.items])
            uow.emit_items(ParticipantNotConfirmed, event.items)
            await uow.commit()

    async def restore_cancellations(event: RegistrationCancelled, uow) -> None:
        async with uow:
            await uow.restored.change(registrations, [{"id": item.registration_id, "status": "cancelled",
                                                       "batch_id": _batch(uow)} for item in event.items])
            uow.emit_items(RegistrationCancelled, event.items)
            await uow.commit()

    async def restore_deactivations(event: BeneficiaryDeactivated, uow) -> None:
        async with uow:
            await uow.restored.change(beneficiaries, [{"id": item.beneficiary_id, "active": False,
                                                       "purge_on": item.purge_on} for item in event.items])
            uow.emit_items(BeneficiaryDeactivated, event.items)
            await uow.commit()

    async def restore_purges(event: BeneficiaryPurged, uow) -> None:
        async with uow:
            await uow.people.purge([item.beneficiary_id for item in event.items], uow.clock.now())
            uow.emit_items(BeneficiaryPurged, event.items)
            await uow.commit()

    async def restore_import(event: InscritsImported, uow) -> None:
        async with uow:
            await uow.imports.add(
                id=event.batch_id, file_name=event.file_name, sha256=event.sha256, resource_code=event.resource,
                user_name=uow.actor or ImportList.user, list_kind=event.list_kind, mode=event.mode or "strict",
                status="imported", imported_at=uow.clock.now(), counts=event.counts.model_dump(),
                messages=[m.model_dump() for m in event.messages or ()])
            await uow.commit()

    async def restore_merges(event: BeneficiariesMerged, uow) -> None:
        """BEN-03: the merged record's enrolments and registrations moved, the record marked merged."""
        async with uow:
            for item in event.items:
                await uow.merges.follow(item.merged_id, item.kept_id, uow.clock.now())
                await uow.people.mark_merged(item.merged_id, item.kept_id, uow.clock.now())
            uow.emit_items(BeneficiariesMerged, event.items)
            await uow.commit()

    return {BeneficiaryRegistered: restore_beneficiaries, BeneficiaryCorrected: restore_corrections,
            RegistrationRecorded: restore_registrations,
            ParticipantConfirmed: restore_confirmations, ParticipantNotConfirmed: restore_not_confirmed,
            RegistrationCancelled: restore_cancellations, BeneficiaryDeactivated: restore_deactivations,
            BeneficiaryPurged: restore_purges, InscritsImported: restore_import, BeneficiariesMerged: restore_merges}
