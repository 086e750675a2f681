"""Importing a Prest@ppli "Liste des inscrits" (IMP-01..IMP-08) and the GDPR purge that follows.

The whole import is one transaction: a killed import leaves nothing, and running it again
imports it exactly once.
"""

import asyncio
import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from contracts.importer import (BeneficiaryDeactivated, BeneficiaryPurged, BeneficiaryRegistered, ImportCounts,
                                InscritsImported, ParticipantConfirmed, ParticipantNotConfirmed,
                                RegistrationCancelled, RegistrationRecorded)
from servicekit import crypto, faults

from importer.domain.imports import PROJECT, check_list, list_kind, purge_day, registration_to_cancel
from importer.domain.registration_list import PARIS
from importer.domain.registration_list import (Registration, RegistrationListError, RowError,
                                               parse_registration_list)

log = logging.getLogger("importer.imports")
PARIS_DAY = timedelta(days=1)
RECORDS = "beneficiary records"  # the lock imports and purges hold (UnitOfWork.exclusive)


@dataclass(frozen=True)
class ImportList:
    file_name: str
    data: bytes
    resource: str
    user: str = "inconnu"
    partial: bool = False
    kind: Literal["J-10", "J-2"] | None = None
    upload_id: str | None = None  # lets the uploader follow the progress


# Rows applied so far by the imports running in this process, by upload id: (done, total).
PROGRESS: dict[str, tuple[int, int]] = {}
PROGRESS_EVERY = 100  # rows between two updates of PROGRESS


class _Run:
    """One import's effects and report, within the unit of work's transaction."""

    def __init__(self, cmd: ImportList, uow, people, kind: str, ods: str, batch_id: str):
        self.cmd, self.uow, self.kind, self.ods, self.batch_id = cmd, uow, kind, ods, batch_id
        self.people = people  # the import's staged view of the records (adapters.staged.StagedPeople)
        self.counts = dict.fromkeys(ImportCounts.model_fields, 0)
        self.differences: list[dict[str, Any]] = []
        self.now = uow.clock.now()

    def note(self, kind: str, registration: dict, row: int | None, who: str | None) -> None:
        self.differences.append({"row": row, "change": kind, "registration_id": registration["id"],
                                 "site": registration["site_code"],
                                 "starts_at": registration["starts_at"].astimezone(PARIS).isoformat(),
                                 "beneficiary": who})

    async def beneficiary(self, reg: Registration) -> dict:
        identity = {"ft_id": reg.ft_id, "civility": reg.civility, "last_name": reg.last_name,
                    "first_name": reg.first_name, "birth_date": reg.birth_date, "postcode": reg.postcode,
                    "email": reg.email, "phone": reg.phone}
        person = await self.people.by_ft_id(reg.ft_id)
        if person is None:
            person = await self.people.create_beneficiary(identity, self.now)
            self.counts["created"] += 1
        elif any(person[k] != v for k, v in identity.items()) or not person["active"]:
            await self.people.update_beneficiary(person["id"], **identity, active=True, purge_on=None)
            person |= identity
        else:
            return person
        key = await self.people.key(person["id"])
        self.uow.emit(BeneficiaryRegistered(
            beneficiary_id=person["id"], sealed=crypto.seal(key, identity),
            accepts_email=person["accepts_email"], accepts_sms=person["accepts_sms"]), key=person["id"])
        return person

    async def enrolment(self, person: dict, reg: Registration, site: str) -> dict:
        people = self.people
        order = {"order_number": reg.order_number, "prescriber_name": reg.prescriber_name,
                 "agency_code": reg.prescriber_agency, "prescription_date": reg.prescription_date}
        enrolment = await people.enrolment_by_order(reg.order_number) if reg.order_number else None
        if enrolment is None:
            enrolment = await people.open_enrolment(person["id"], self.cmd.resource)
            if enrolment and reg.order_number:
                await people.update_enrolment(enrolment["id"], **order)
                enrolment |= order
        if enrolment is None:
            # A new order number for a person already enrolled opens a second enrolment (IMP-07).
            enrolment = await people.create_enrolment(
                beneficiary_id=person["id"], resource_code=self.cmd.resource, ods_code=self.ods, site_code=site,
                project=PROJECT, virtual_office_access=True, created_at=self.now, **order)
        return enrolment

    async def row(self, reg: Registration, site: str, remote: bool) -> str | None:
        """Apply one accepted row; the registration it touched."""
        people, who = self.people, f"{reg.last_name} {reg.first_name}"
        person = await self.beneficiary(reg)
        if reg.status == "Désinscrit":
            registration = registration_to_cancel(
                await people.registrations_at(person["id"], self.cmd.resource, reg.starts_at), site, reg.order_number)
            if registration is None or registration["status"] == "cancelled":
                self.counts["unchanged"] += 1
                return registration and registration["id"]
            await people.update_registration(registration["id"], status="cancelled", batch_id=self.batch_id)
            self.uow.emit(RegistrationCancelled(registration_id=registration["id"], beneficiary_id=person["id"],
                                                starts_at=registration["starts_at"]), key=person["id"])
            self.counts["cancelled"] += 1
            self.note("désinscrit", registration, reg.row, who)
            return registration["id"]

        enrolment = await self.enrolment(person, reg, site)
        registration = await people.registration_of(enrolment["id"])
        moved_from = None
        if registration is None:
            registration = await people.create_registration(
                beneficiary_id=person["id"], enrolment_id=enrolment["id"], resource_code=self.cmd.resource,
                site_code=site, starts_at=reg.starts_at, remote=remote, status="registered",
                order_number=reg.order_number, batch_id=self.batch_id)
            self.note("nouveau", registration, reg.row, who)
        elif (registration["starts_at"], registration["site_code"]) != (reg.starts_at, site):
            moved_from = registration["starts_at"]
            await people.update_registration(registration["id"], starts_at=reg.starts_at, site_code=site,
                                             remote=remote, batch_id=self.batch_id)
            registration |= {"starts_at": reg.starts_at, "site_code": site, "remote": remote}
            self.counts["updated"] += 1
            self.note("déplacé", registration, reg.row, who)
        elif registration["order_number"] != reg.order_number and reg.order_number:
            await people.update_registration(registration["id"], order_number=reg.order_number)
            registration["order_number"] = reg.order_number
            self.counts["updated"] += 1
        elif self.kind == "J-10" or registration["status"] in ("confirmed", "not_confirmed"):
            self.counts["unchanged"] += 1
            return registration["id"]

        if moved_from is not None or registration["batch_id"] == self.batch_id:
            self.uow.emit(RegistrationRecorded(
                registration_id=registration["id"], beneficiary_id=person["id"], enrolment_id=enrolment["id"],
                resource=self.cmd.resource, ods=self.ods, site=site, starts_at=reg.starts_at, remote=remote,
                order_number=reg.order_number, list_kind=self.kind, moved_from=moved_from), key=person["id"])
        if self.kind == "J-2":
            if reg.order_number:
                await people.update_registration(registration["id"], status="confirmed", order_number=reg.order_number)
                self.uow.emit(ParticipantConfirmed(
                    registration_id=registration["id"], beneficiary_id=person["id"], enrolment_id=enrolment["id"],
                    order_number=reg.order_number, starts_at=reg.starts_at), key=person["id"])
                self.counts["confirmed"] += 1
                self.note("confirmé", registration, reg.row, who)
            else:
                await self.not_confirmed(registration, "no_order_number", reg.row, who)
        return registration["id"]

    async def not_confirmed(self, registration: dict, reason: str, row: int | None, who: str | None) -> None:
        """IMP-06: the beneficiary is told (notify), the record is deactivated and purged 5 days later."""
        people = self.people
        await people.update_registration(registration["id"], status="not_confirmed")
        self.uow.emit(ParticipantNotConfirmed(
            registration_id=registration["id"], beneficiary_id=registration["beneficiary_id"],
            enrolment_id=registration["enrolment_id"], starts_at=registration["starts_at"], reason=reason),
            key=registration["beneficiary_id"])
        self.counts["not_confirmed"] += 1
        self.note("non confirmé", registration, row, who)
        person = await people.beneficiary(registration["beneficiary_id"])
        if person["created_by_import"] and not await people.has_live_registration(person["id"]):
            purge_on = purge_day(self.now.date())
            await people.update_beneficiary(person["id"], active=False, purge_on=purge_on)
            self.uow.emit(BeneficiaryDeactivated(beneficiary_id=person["id"], purge_on=purge_on), key=person["id"])


def _messages(errors: list[RowError], problems: list[str]) -> list[dict[str, Any]]:
    return [{"row": None, "field": None, "message": m} for m in problems] + [
        {"row": e.row, "field": e.field, "message": e.message} for e in errors]


async def import_list(cmd: ImportList, uow) -> dict[str, Any]:
    """Import one list; returns the report. ``status`` is ``imported``, ``refused`` or ``already_imported``."""
    try:
        return await _import_list(cmd, uow)
    finally:
        PROGRESS.pop(cmd.upload_id or "", None)


async def _import_list(cmd: ImportList, uow) -> dict[str, Any]:
    sha256 = hashlib.sha256(cmd.data).hexdigest()
    batch_id = str(uuid.uuid4())
    async with uow:
        uow.caused_by(f"import-{batch_id}", None)
        # Imports and purges take turns: the same file uploaded twice at once is imported once (the
        # second finds it in the history), and a purge never runs on a record an import is changing.
        await uow.exclusive(RECORDS)
        previous = await uow.imports.find(sha256, cmd.resource)
        if previous:
            return report_of(previous) | {"status": "already_imported", "messages": [{
                "row": None, "field": None,
                "message": f"Fichier déjà importé le {previous['imported_at']:%d/%m/%Y à %H:%M} (même contenu, même "
                           "ressource) : rien n'a changé."}]}
        target = await uow.referential.import_target(cmd.resource)
        try:
            parsed = parse_registration_list(cmd.data)
        except RegistrationListError as exc:
            return await _refuse(uow, cmd, batch_id, sha256, "J-10", exc.messages, [], 0)
        checked = check_list(parsed, target, cmd.partial)
        kind = cmd.kind or list_kind(parsed)
        if checked.refused:
            return await _refuse(uow, cmd, batch_id, sha256, kind, checked.file_problems, checked.row_errors,
                                 parsed.rows_read)
        halfway, total = len(checked.accepted) // 2, len(checked.accepted)
        if cmd.upload_id:
            PROGRESS[cmd.upload_id] = (0, total)
        # One read of every record the rows can touch, one write of what changed (flush below):
        # per-row statements made a 10,000-row list take tens of seconds.
        people = uow.staged_people()
        await people.preload(ft_ids={reg.ft_id for reg, _ in checked.accepted},
                             order_numbers={reg.order_number for reg, _ in checked.accepted if reg.order_number})
        run = _Run(cmd, uow, people, kind, target.ods_codes[0], batch_id)
        run.counts.update(read=parsed.rows_read, skipped=checked.skipped, errors=len(checked.row_errors))
        seen: set[str] = set()
        for n, (reg, site) in enumerate(checked.accepted):
            if n == halfway:
                faults.point("importer.import.halfway")
            if n % PROGRESS_EVERY == 0:
                if cmd.upload_id:
                    PROGRESS[cmd.upload_id] = (n, total)
                # Rows are applied in memory, without awaiting the database: let the server answer
                # other requests (the progress of this one) in the meantime.
                await asyncio.sleep(0)
            touched = await run.row(reg, site, target.addresses_remote(site))
            if touched:
                seen.add(touched)
        if kind == "J-2" and checked.accepted:
            days = [r.starts_at for r, _ in checked.accepted]
            first = min(days).replace(hour=0, minute=0)
            for registration in await people.waiting_registrations(cmd.resource, first,
                                                                   max(days).replace(hour=0, minute=0) + PARIS_DAY):
                if registration["id"] not in seen:
                    await run.not_confirmed(registration, "absent_from_j2", None, None)
        await people.flush()
        counts = ImportCounts(**run.counts)
        messages = _messages(checked.row_errors, [])
        await uow.imports.add(id=batch_id, file_name=cmd.file_name, sha256=sha256, resource_code=cmd.resource,
                              user_name=cmd.user, list_kind=kind, mode="partial" if cmd.partial else "strict",
                              status="imported", imported_at=run.now, counts=counts.model_dump(), messages=messages)
        uow.emit(InscritsImported(batch_id=batch_id, file_name=cmd.file_name, sha256=sha256, resource=cmd.resource,
                                  list_kind=kind, counts=counts), key=batch_id)
        await uow.commit()
        log.info("list imported", extra={"correlation_id": f"import-{batch_id}", "count": parsed.rows_read})
        return report_of(await _history_row(uow, batch_id)) | {"differences": run.differences}


async def _history_row(uow, batch_id: str) -> dict[str, Any]:
    async with uow:
        return await uow.imports.get(batch_id)


async def _refuse(uow, cmd: ImportList, batch_id: str, sha256: str, kind: str, problems: list[str],
                  errors: list[RowError], rows_read: int) -> dict[str, Any]:
    """Nothing is imported; the attempt and its messages stay in the history (IMP-08)."""
    counts = dict.fromkeys(ImportCounts.model_fields, 0) | {"read": rows_read, "errors": len(errors)}
    row = dict(id=batch_id, file_name=cmd.file_name, sha256=sha256, resource_code=cmd.resource, user_name=cmd.user,
               list_kind=kind, mode="partial" if cmd.partial else "strict", status="refused",
               imported_at=uow.clock.now(), counts=counts, messages=_messages(errors, problems))
    await uow.imports.add(**row)
    await uow.commit()
    return report_of(row)


def report_of(batch: dict[str, Any]) -> dict[str, Any]:
    return {"batch_id": batch["id"], "status": batch["status"], "file_name": batch["file_name"],
            "sha256": batch["sha256"], "resource": batch["resource_code"], "user": batch["user_name"],
            "list_kind": batch["list_kind"], "mode": batch["mode"], "imported_at": batch["imported_at"].isoformat(),
            "counts": batch["counts"], "messages": batch["messages"]}


async def purge_due(uow) -> list[str]:
    """Purge the records deactivated five days ago or more (IMP-06, X-04); returns their ids."""
    async with uow:
        await uow.exclusive(RECORDS)  # one purge at a time, never during an import (see _import_list)
        now = uow.clock.now()
        purged = await uow.people.due_for_purge(now.date())
        for beneficiary_id in purged:
            await uow.people.purge(beneficiary_id, now)
            uow.emit(BeneficiaryPurged(beneficiary_id=beneficiary_id), key=beneficiary_id)
        await uow.commit()
    return purged

