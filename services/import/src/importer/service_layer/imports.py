"""Importing a Prest@ppli "Liste des inscrits" (IMP-01..IMP-08) and the GDPR purge that follows.

The whole import is one transaction: a killed import leaves nothing, and running it again
imports it exactly once. Within it, the list is applied in parts of ``PART_ROWS`` rows, each
written and announced before the next is staged, so that memory does not grow with the list.
"""

import asyncio
import hashlib
import itertools
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from contracts.base import Item, ListEvent
from contracts.importer import (BeneficiaryDeactivated, BeneficiaryDeactivatedItem, BeneficiaryPurged,
                                BeneficiaryPurgedItem, BeneficiaryRegistered, BeneficiaryRegisteredItem,
                                ImportCounts, InscritsImported, ParticipantConfirmed, ParticipantConfirmedItem,
                                ParticipantNotConfirmed, ParticipantNotConfirmedItem, RegistrationCancelled,
                                RegistrationCancelledItem, RegistrationRecorded, RegistrationRecordedItem)
from servicekit import crypto, faults
from servicekit.clock import PARIS
from servicekit.limits import french_count, limits

from importer.adapters.progress import ImportProgress
from importer.domain.duplicates import IdentityKeys, duplicates_of
from importer.domain.imports import PROJECT, check_list, list_kind, purge_day, registration_to_cancel
from importer.domain.records import Beneficiary, Enrolment, Identity, RecordedRegistration
from importer.domain.registration_list import (Registration, RegistrationListError, RowError,
                                               parse_registration_list)
from importer.service_layer.duplicates import RECORDS, index_records  # RECORDS: imports and purges take turns

log = logging.getLogger("importer.imports")
PARIS_DAY = timedelta(days=1)
PROGRESS_EVERY = 100  # rows between two reports of the progress
PART_ROWS = 5_000  # rows staged in memory at once (see _import_list)


@dataclass(frozen=True)
class ImportList:
    file_name: str
    data: bytes
    resource: str
    user: str = "inconnu"
    partial: bool = False
    kind: Literal["J-10", "J-2"] | None = None
    upload_id: str | None = None  # lets the uploader follow the progress


# The order of an import's list events: a person before their registrations, a registration
# recorded before it is confirmed, not confirmed or cancelled, a person deactivated after their
# last registration was not confirmed.
PHASES: tuple[type[ListEvent], ...] = (BeneficiaryRegistered, RegistrationRecorded, ParticipantConfirmed,
                                       ParticipantNotConfirmed, RegistrationCancelled, BeneficiaryDeactivated)
_PHASE = {event_type: n for n, event_type in enumerate(PHASES)}


class Announcements:
    """An import's list events, emitted at its end in phases (every ``BeneficiaryRegistered`` item,
    then every ``RegistrationRecorded`` item, ...): a handful of events for a whole list.

    Consumers apply what is about one aggregate in the order it happened (planning attaches a
    registration, then removes it when a later row cancels it), and a registration's items after
    what came before them about its person. Phases keep that order when things happen in phase
    order; an item that would go before an earlier item about the same registration or person (a
    person deactivated by one row and back on a later row; a registration cancelled, then moved)
    starts a new round of phases after it. Items about different aggregates keep no order between
    them beyond the phases. Usual lists are one round."""

    def __init__(self) -> None:
        self._placed: list[tuple[int, int, int, type[ListEvent], Item]] = []  # (round, phase, n, type, item)
        self._last: dict[tuple[str, str], tuple[int, int]] = {}  # aggregate -> (round, phase) of its last item

    def add(self, event_type: type[ListEvent], item: Item) -> None:
        phase = _PHASE[event_type]
        aggregate = (item.aggregate, item.aggregate_id)
        person = ("beneficiary", item.beneficiary_id)
        after = [self._last[k] for k in {aggregate, person} if k in self._last]
        # Same phase of the same round is the same event, where items keep the order they came in.
        round_ = max((r if p <= phase else r + 1 for r, p in after), default=0)
        self._last[aggregate] = (round_, phase)
        self._placed.append((round_, phase, len(self._placed), event_type, item))

    def emit(self, uow) -> None:
        self._placed.sort(key=lambda placed: placed[:3])
        for (_, _, event_type), placed in itertools.groupby(self._placed, key=lambda p: (p[0], p[1], p[3])):
            uow.emit_items(event_type, [p[4] for p in placed])
        self._placed, self._last = [], {}


class _Run:
    """One import's effects and report, within the unit of work's transaction."""

    def __init__(self, cmd: ImportList, uow, people, kind: str, ods: str, batch_id: str, keys: IdentityKeys):
        self.cmd, self.uow, self.kind, self.ods, self.batch_id, self.keys = cmd, uow, kind, ods, batch_id, keys
        # BEN-03: the live records by blind index (each part's, and those this import made), and the doublons.
        self.by_ft: dict[str, set[str]] = {}
        self.by_identity: dict[str, set[str]] = {}
        self.duplicates: list[dict[str, Any]] = []
        self.indexes: dict[str, dict[str, str | None]] = {}  # the records' new indexes, written with the part
        self.people = people  # the import's staged view of the records (adapters.staged.StagedPeople)
        self.counts = dict.fromkeys(ImportCounts.model_fields, 0)
        self.differences: list[tuple[int | None, str, str, str, datetime, str | None]] = []
        self.events = Announcements()
        self.now = uow.clock.now()

    async def end_part(self) -> None:
        """Write what the part staged and emit its events; its records are let go."""
        await self.people.flush()
        await self.uow.people.set_indexes([{"id": i, **v} for i, v in self.indexes.items()])
        self.indexes = {}
        self.events.emit(self.uow)
        self.people = None

    def note(self, kind: str, registration: RecordedRegistration, row: int | None, who: str | None) -> None:
        # A tuple of what the records already hold (one per row of a long list), a dict in the report.
        self.differences.append((row, kind, registration.id, registration.site_code, registration.starts_at, who))

    def report_differences(self) -> list[dict[str, Any]]:
        return [{"row": row, "change": kind, "registration_id": registration_id, "site": site,
                 "starts_at": starts_at.astimezone(PARIS).isoformat(), "beneficiary": who}
                for row, kind, registration_id, site, starts_at, who in self.differences]

    async def load_indexes(self, part: list[tuple[Registration, str]]) -> None:
        """The live records that share a blind index with the part's rows (BEN-03)."""
        rows = [self.keys.of(reg.ft_id, reg.last_name, reg.first_name, reg.birth_date) for reg, _ in part]
        by_ft, by_identity = await self.uow.people.sharing_indexes([r["ft_id_hash"] for r in rows],
                                                                  [r["identity_hash"] for r in rows])
        for index, found in ((self.by_ft, by_ft), (self.by_identity, by_identity)):
            for value, ids in found.items():
                index.setdefault(value, set()).update(ids)

    def report_duplicates(self, person: Beneficiary, indexes: dict[str, str | None], row: int) -> None:
        """BEN-03: a record this row created or changed that looks like another: reported, never merged."""
        self.indexes[person.id] = indexes
        ft_hash, identity_hash = indexes["ft_id_hash"], indexes["identity_hash"]
        for found in duplicates_of(person.id, ft_hash, identity_hash, self.by_ft, self.by_identity):
            self.duplicates.append({"row": row, "field": "Doublon", "message": found.message(row, person.id)})
        for value, index in ((ft_hash, self.by_ft), (identity_hash, self.by_identity)):
            if value:
                index.setdefault(value, set()).add(person.id)

    async def beneficiary(self, reg: Registration) -> Beneficiary:
        identity = Identity(ft_id=reg.ft_id, civility=reg.civility, last_name=reg.last_name,
                            first_name=reg.first_name, birth_date=reg.birth_date, postcode=reg.postcode,
                            email=reg.email, phone=reg.phone)
        person = await self.people.by_ft_id(reg.ft_id)
        if person is not None and person.merged_into:
            # A merged record's identifiant is the kept record's (BEN-03): the row goes to it, as it stands.
            while person.merged_into:
                person = await self.people.beneficiary(person.merged_into)
            return person
        if person is not None:
            identity = person.with_corrections(identity)  # what staff corrected stays (BEN-01)
        indexes = self.keys.of(identity.ft_id, identity.last_name, identity.first_name, identity.birth_date)
        if person is None:
            person = await self.people.create_beneficiary(identity, self.now)
            self.counts["created"] += 1
            self.report_duplicates(person, indexes, reg.row)
        elif person.differs_from(identity) or not person.active:
            known = self.keys.of(person.ft_id, person.last_name, person.first_name, person.birth_date)
            person = await self.people.update_beneficiary(person.id, **identity.values(), active=True, purge_on=None)
            if indexes != known:
                self.report_duplicates(person, indexes, reg.row)
        else:
            return person
        key = await self.people.key(person.id)
        self.events.add(BeneficiaryRegistered, BeneficiaryRegisteredItem(
            beneficiary_id=person.id, sealed=crypto.seal(key, identity.values()),
            accepts_email=person.accepts_email, accepts_sms=person.accepts_sms))
        return person

    async def enrolment(self, person: Beneficiary, reg: Registration, site: str) -> Enrolment:
        people = self.people
        order = {"order_number": reg.order_number, "prescriber_name": reg.prescriber_name,
                 "agency_code": reg.prescriber_agency, "prescription_date": reg.prescription_date}
        enrolment = await people.enrolment_by_order(reg.order_number) if reg.order_number else None
        if enrolment is None:
            enrolment = await people.open_enrolment(person.id, self.cmd.resource)
            if enrolment and reg.order_number:
                enrolment = await people.update_enrolment(enrolment.id, **order)
        if enrolment is None:
            # A new order number for a person already enrolled opens a second enrolment (IMP-07).
            enrolment = await people.create_enrolment(
                beneficiary_id=person.id, resource_code=self.cmd.resource, ods_code=self.ods, site_code=site,
                project=PROJECT, virtual_office_access=True, created_at=self.now, **order)
        return enrolment

    async def row(self, reg: Registration, site: str, remote: bool) -> str | None:
        """Apply one accepted row; the registration it touched."""
        people, who = self.people, f"{reg.last_name} {reg.first_name}"
        person = await self.beneficiary(reg)
        if reg.status == "Désinscrit":
            registration = registration_to_cancel(
                await people.registrations_at(person.id, self.cmd.resource, reg.starts_at), site, reg.order_number)
            if registration is None or registration.status == "cancelled":
                self.counts["unchanged"] += 1
                return registration and registration.id
            registration = await people.update_registration(registration.id, status="cancelled",
                                                            batch_id=self.batch_id)
            self.events.add(RegistrationCancelled, RegistrationCancelledItem(
                registration_id=registration.id, beneficiary_id=person.id, starts_at=registration.starts_at))
            self.counts["cancelled"] += 1
            self.note("désinscrit", registration, reg.row, who)
            return registration.id

        enrolment = await self.enrolment(person, reg, site)
        registration = await people.registration_of(enrolment.id)
        moved_from = None
        if registration is None:
            registration = await people.create_registration(
                beneficiary_id=person.id, enrolment_id=enrolment.id, resource_code=self.cmd.resource,
                site_code=site, starts_at=reg.starts_at, remote=remote, status="registered",
                order_number=reg.order_number, batch_id=self.batch_id)
            self.note("nouveau", registration, reg.row, who)
        elif (registration.starts_at, registration.site_code) != (reg.starts_at, site):
            moved_from = registration.starts_at
            registration = await people.update_registration(registration.id, starts_at=reg.starts_at,
                                                            site_code=site, remote=remote, batch_id=self.batch_id)
            self.counts["updated"] += 1
            self.note("déplacé", registration, reg.row, who)
        elif registration.order_number != reg.order_number and reg.order_number:
            registration = await people.update_registration(registration.id, order_number=reg.order_number)
            self.counts["updated"] += 1
        elif self.kind == "J-10" or registration.status in ("confirmed", "not_confirmed"):
            self.counts["unchanged"] += 1
            return registration.id

        if moved_from is not None or registration.batch_id == self.batch_id:
            self.events.add(RegistrationRecorded, RegistrationRecordedItem(
                registration_id=registration.id, beneficiary_id=person.id, enrolment_id=enrolment.id,
                resource=self.cmd.resource, ods=self.ods, site=site, starts_at=reg.starts_at, remote=remote,
                order_number=reg.order_number, list_kind=self.kind, moved_from=moved_from,
                prescriber=reg.prescriber_name, agency_code=reg.prescriber_agency,
                prescription_date=reg.prescription_date))
        if self.kind == "J-2":
            if reg.order_number:
                registration = await people.update_registration(registration.id, status="confirmed",
                                                                order_number=reg.order_number)
                self.events.add(ParticipantConfirmed, ParticipantConfirmedItem(
                    registration_id=registration.id, beneficiary_id=person.id, enrolment_id=enrolment.id,
                    order_number=reg.order_number, starts_at=reg.starts_at, prescriber=reg.prescriber_name,
                    agency_code=reg.prescriber_agency, prescription_date=reg.prescription_date))
                self.counts["confirmed"] += 1
                self.note("confirmé", registration, reg.row, who)
            else:
                await self.not_confirmed(registration, "no_order_number", reg.row, who)
        return registration.id

    async def not_confirmed(self, registration: RecordedRegistration, reason: str, row: int | None,
                            who: str | None) -> None:
        """IMP-06: the beneficiary is told (notify), the record is deactivated and purged 5 days later."""
        people = self.people
        registration = await people.update_registration(registration.id, status="not_confirmed")
        self.events.add(ParticipantNotConfirmed, ParticipantNotConfirmedItem(
            registration_id=registration.id, beneficiary_id=registration.beneficiary_id,
            enrolment_id=registration.enrolment_id, starts_at=registration.starts_at, reason=reason))
        self.counts["not_confirmed"] += 1
        self.note("non confirmé", registration, row, who)
        person = await people.beneficiary(registration.beneficiary_id)
        if person.created_by_import and not await people.has_live_registration(person.id):
            purge_on = purge_day(self.now.date())
            await people.update_beneficiary(person.id, active=False, purge_on=purge_on)
            self.events.add(BeneficiaryDeactivated, BeneficiaryDeactivatedItem(beneficiary_id=person.id,
                                                                               purge_on=purge_on))


def _messages(errors: list[RowError], problems: list[str],
              duplicates: list[dict[str, Any]] = ()) -> list[dict[str, Any]]:
    """The first PRESTAFLOW_LIMIT_IMPORT_MESSAGES messages, then how many others there were (X-03): a
    list of bad rows must not fill the import history. Doublons (BEN-03) come after the rows' errors."""
    keep = limits().import_messages
    every = itertools.chain(({"row": None, "field": None, "message": m} for m in problems),
                            ({"row": e.row, "field": e.field, "message": e.message} for e in errors), duplicates)
    kept = list(itertools.islice(every, keep))
    others = len(problems) + len(errors) + len(duplicates) - len(kept)
    if others:
        kept.append({"row": None, "field": None, "message": f"… et {french_count(others)} autre(s) message(s) "
                     f"non conservé(s) (les {french_count(keep)} premiers sont gardés, "
                     "PRESTAFLOW_LIMIT_IMPORT_MESSAGES)."})
    return kept


async def import_list(cmd: ImportList, uow, progress: ImportProgress, keys: IdentityKeys) -> dict[str, Any]:
    """Import one list; returns the report. ``status`` is ``imported``, ``refused`` or ``already_imported``.
    ``keys``: the blind indexes' (BEN-03 doublons, reported among the report's messages)."""
    try:
        return await _import_list(cmd, uow, progress, keys)
    finally:
        if cmd.upload_id:
            await progress.finish(cmd.upload_id)


async def _import_list(cmd: ImportList, uow, progress: ImportProgress, keys: IdentityKeys) -> dict[str, Any]:
    sha256 = hashlib.sha256(cmd.data).hexdigest()
    batch_id = str(uuid.uuid4())
    async with uow:
        uow.caused_by(f"import-{batch_id}", None, cmd.user)
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
            await progress.start(cmd.upload_id, total)
        # The list is applied in parts of PART_ROWS rows, all in this one transaction: for each part, one
        # read of every record its rows can touch, one write of what changed, then its events; what the
        # part staged is let go before the next (a 100,000-row list is not held staged all at once).
        await index_records(uow, keys)
        run = _Run(cmd, uow, None, kind, target.ods_codes[0], batch_id, keys)
        run.counts.update(read=parsed.rows_read, skipped=checked.skipped, errors=len(checked.row_errors))
        seen: set[str] = set()
        for start in range(0, max(total, 1), PART_ROWS):
            if run.people is not None:
                await run.end_part()
            part = checked.accepted[start:start + PART_ROWS]
            run.people = uow.staged_people()
            await run.load_indexes(part)
            await run.people.preload(ft_ids={reg.ft_id for reg, _ in part},
                                     order_numbers={reg.order_number for reg, _ in part if reg.order_number})
            for n, (reg, site) in enumerate(part, start):
                if n == halfway:
                    faults.point("importer.import.halfway")
                if n % PROGRESS_EVERY == 0:
                    if cmd.upload_id:
                        await progress.advance(cmd.upload_id, n, total)
                    # Rows are applied in memory, without awaiting the database: let the server answer
                    # other requests (the progress of this one) in the meantime.
                    await asyncio.sleep(0)
                touched = await run.row(reg, site, target.addresses_remote(site))
                if touched:
                    seen.add(touched)
        # The last part stays open for a J-2 list's registrations absent from it (announced with its rows).
        if kind == "J-2" and checked.accepted:
            days = [r.starts_at for r, _ in checked.accepted]
            first = min(days).replace(hour=0, minute=0)
            for registration in await run.people.waiting_registrations(
                    cmd.resource, first, max(days).replace(hour=0, minute=0) + PARIS_DAY):
                if registration.id not in seen:
                    await run.not_confirmed(registration, "absent_from_j2", None, None)
        await run.end_part()
        counts = ImportCounts(**run.counts)
        messages = _messages(checked.row_errors, [], run.duplicates)
        mode = "partial" if cmd.partial else "strict"
        await uow.imports.add(id=batch_id, file_name=cmd.file_name, sha256=sha256, resource_code=cmd.resource,
                              user_name=cmd.user, list_kind=kind, mode=mode,
                              status="imported", imported_at=run.now, counts=counts.model_dump(), messages=messages)
        uow.emit(InscritsImported(batch_id=batch_id, file_name=cmd.file_name, sha256=sha256, resource=cmd.resource,
                                  list_kind=kind, counts=counts, mode=mode, messages=messages))
        await uow.commit()
        log.info("list imported", extra={"correlation_id": f"import-{batch_id}", "count": parsed.rows_read})
        return report_of(await _history_row(uow, batch_id)) | {"differences": run.report_differences()}


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
        purged += await uow.people.merged_into_these(purged)  # BEN-03: their merged records go with them
        await uow.people.purge(purged, now)
        uow.emit_items(BeneficiaryPurged, [BeneficiaryPurgedItem(beneficiary_id=b) for b in purged])
        await uow.commit()
    if purged:
        await uow.scrub()
    return purged
