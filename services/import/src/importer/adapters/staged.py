"""The people an import touches, held in memory for the length of the import.

Reading and writing each row's beneficiary, enrolment and registration with about nine
statements made a 10,000-row list take tens of seconds. ``StagedPeople`` answers an import's
questions from an identity map filled by a few ``IN (...)`` queries, records the changes in it,
and writes them all in ``flush``: one ``COPY`` (PostgreSQL) or executemany per table for the new
rows, one executemany per set of changed columns for the others. Everything stays in the unit of
work's transaction, so a killed import still leaves nothing.

The map is exact, not a cache that may be stale: a beneficiary is "complete" once every enrolment,
registration and key of theirs is in it, and a question about anything not loaded loads it first.
Records (``domain.records``, frozen) are kept as the database would give them back (UTC
datetimes), so what a later row reads is what it would have read from the database; a change
replaces the record in the map and returns the new one.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import fields, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from servicekit import crypto
from servicekit.ids import new_uuid
from servicekit.sql import UtcDateTime, bulk_insert, chunks, one_of, update_rows

from importer.adapters import orm
from importer.domain.corrections import PRESCRIPTION
from importer.domain.records import Beneficiary, BeneficiaryKey, Enrolment, Identity, RecordedRegistration

_b, _k, _e, _r = orm.beneficiaries, orm.beneficiary_keys, orm.enrolments, orm.registrations
_TABLES = (_b, _k, _e, _r)  # foreign-key order: a row is written after the rows it points at
_RECORD = {_b.name: Beneficiary, _k.name: BeneficiaryKey, _e.name: Enrolment, _r.name: RecordedRegistration}
_KEY_OF = {_b.name: "id", _k.name: "beneficiary_id", _e.name: "id", _r.name: "id"}
# The columns the map is indexed by, per table.
_INDEXED = {_b.name: ("ft_id",), _k.name: (), _e.name: ("beneficiary_id", "order_number"),
            _r.name: ("beneficiary_id", "enrolment_id")}
_COLUMNS = {t.name: tuple(c.name for c in t.columns) for t in _TABLES}
_TIMESTAMPS = {t.name: tuple(c.name for c in t.columns if isinstance(c.type, UtcDateTime)) for t in _TABLES}
assert all(tuple(f.name for f in fields(_RECORD[t])) == _COLUMNS[t] for t in _COLUMNS), "records follow orm"

Record = Beneficiary | BeneficiaryKey | Enrolment | RecordedRegistration


def _as_stored(table: Table, values: dict[str, Any]) -> dict[str, Any]:
    """The values as reading them back would give them (timestamps in UTC)."""
    stored = dict(values)
    for name in _TIMESTAMPS[table.name]:
        if stored.get(name) is not None:
            stored[name] = stored[name].astimezone(UTC)
    return stored


def _row(table: Table, record: Record) -> dict[str, Any]:
    return {name: getattr(record, name) for name in _COLUMNS[table.name]}


class StagedPeople:
    """The records an import reads and changes, against an identity map; ``flush`` writes what changed."""

    def __init__(self, session: AsyncSession):
        self.session = session
        self._rows: dict[str, dict[str, Any]] = {t.name: {} for t in _TABLES}  # records by key
        self._new: dict[str, dict[str, None]] = {t.name: {} for t in _TABLES}  # ordered set of ids
        self._changed: dict[str, dict[str, set[str]]] = {t.name: {} for t in _TABLES}
        # Indexes of the map, and what each one is known to hold completely.
        self._by_ft_id: dict[str, str] = {}
        self._ft_ids_loaded: set[str] = set()
        self._by_order: dict[str, str] = {}
        self._orders_loaded: set[str] = set()
        self._complete: set[str] = set()  # beneficiaries whose enrolments, registrations and key are all here
        self._enrolments_of: dict[str, list[str]] = defaultdict(list)
        self._registrations_of: dict[str, list[str]] = defaultdict(list)
        self._registration_of_enrolment: dict[str, str | None] = {}  # an enrolment here: its registration or None

    # Loading -----------------------------------------------------------------------------------

    async def preload(self, ft_ids: Iterable[str] = (), order_numbers: Iterable[str] = (),
                      beneficiary_ids: Iterable[str] = ()) -> None:
        """Load, in a few queries, everything the rows of a list can touch: the beneficiaries of
        these identifiants France Travail and ids, the enrolments of these order numbers, and every
        enrolment, registration and key of those beneficiaries."""
        wanted = set(beneficiary_ids)
        ft_ids = {f for f in ft_ids if f not in self._ft_ids_loaded}
        for chunk in chunks(ft_ids):
            for row in await self._select(_b, one_of(self.session, _b.c.ft_id, chunk)):
                wanted.add(self._adopt(_b, row).id)
        self._ft_ids_loaded |= ft_ids
        order_numbers = {o for o in order_numbers if o not in self._orders_loaded}
        for chunk in chunks(order_numbers):
            for row in await self._select(_e, one_of(self.session, _e.c.order_number, chunk)):
                wanted.add(self._adopt(_e, row).beneficiary_id)
        self._orders_loaded |= order_numbers
        await self._complete_beneficiaries(wanted - self._complete)

    async def _complete_beneficiaries(self, ids: set[str]) -> None:
        if not ids:
            return
        missing = [i for i in ids if i not in self._rows[_b.name]]
        for chunk in chunks(missing):
            for row in await self._select(_b, one_of(self.session, _b.c.id, chunk)):
                self._adopt(_b, row)
        for chunk in chunks(ids):
            for row in await self._select(_e, one_of(self.session, _e.c.beneficiary_id, chunk)):
                self._adopt(_e, row)
            for row in await self._select(_r, one_of(self.session, _r.c.beneficiary_id, chunk)):
                self._adopt(_r, row)
            for row in await self._select(_k, one_of(self.session, _k.c.beneficiary_id, chunk)):
                self._adopt(_k, row)
        self._complete |= ids
        await self._load_registrations_of([e for b in ids for e in self._enrolments_of[b]])

    async def _load_registrations_of(self, enrolment_ids: list[str]) -> None:
        """An enrolment's registration may name another beneficiary: look for the ones still unknown."""
        unknown = [e for e in enrolment_ids if e not in self._registration_of_enrolment]
        for chunk in chunks(unknown):
            for row in await self._select(_r, one_of(self.session, _r.c.enrolment_id, chunk)):
                self._adopt(_r, row)
        for e in unknown:
            self._registration_of_enrolment.setdefault(e, None)

    async def _select(self, table: Table, *where, order_by=()) -> list[dict[str, Any]]:
        result = await self.session.execute(select(table).where(*where).order_by(*order_by))
        names = list(result.keys())
        return [dict(zip(names, row, strict=True)) for row in result]

    def _adopt(self, table: Table, row: dict[str, Any]) -> Record:
        """Put a row read from the database in the map, unless the map already has it (maybe changed)."""
        rows, key = self._rows[table.name], row[_KEY_OF[table.name]]
        if key not in rows:
            rows[key] = record = _RECORD[table.name](**row)
            self._index(table, record)
        return rows[key]

    def _index(self, table: Table, row: Record, columns: Iterable[str] | None = None) -> None:
        """Add ``row`` to the indexes of ``columns`` (all of them by default)."""
        columns = _INDEXED[table.name] if columns is None else columns
        if "ft_id" in columns and row.ft_id is not None:
            self._by_ft_id[row.ft_id] = row.id
        if "order_number" in columns and row.order_number is not None:
            self._by_order[row.order_number] = row.id
        if "beneficiary_id" in columns:
            (self._enrolments_of if table is _e else self._registrations_of)[row.beneficiary_id].append(row.id)
        if "enrolment_id" in columns:
            self._registration_of_enrolment[row.enrolment_id] = row.id

    def _unindex(self, table: Table, row: Record, columns: Iterable[str]) -> None:
        if "ft_id" in columns and self._by_ft_id.get(row.ft_id) == row.id:
            del self._by_ft_id[row.ft_id]
        if "order_number" in columns and self._by_order.get(row.order_number) == row.id:
            del self._by_order[row.order_number]
        if "beneficiary_id" in columns:
            (self._enrolments_of if table is _e else self._registrations_of)[row.beneficiary_id].remove(row.id)
        if "enrolment_id" in columns and self._registration_of_enrolment.get(row.enrolment_id) == row.id:
            self._registration_of_enrolment[row.enrolment_id] = None

    # Staging -----------------------------------------------------------------------------------

    def _stage_new(self, table: Table, record: Record) -> Record:
        record = replace(record, **_as_stored(table, {n: getattr(record, n) for n in _TIMESTAMPS[table.name]}))
        key = getattr(record, _KEY_OF[table.name])
        self._rows[table.name][key] = record
        self._new[table.name][key] = None
        self._index(table, record)
        return record

    def _stage_update(self, table: Table, key: str, values: dict[str, Any]) -> Record:
        row = self._rows[table.name].get(key)
        if row is None:  # the import only changes rows it was given: anything else is a bug
            raise LookupError(f"{table.name} {key} changed before it was loaded")
        stored = _as_stored(table, values)
        # Only an index whose key changes is touched: the others keep the rows in the order the
        # database returns them (PostgreSQL's updates in place, SQLite's rowid order).
        moved = [c for c in _INDEXED[table.name] if c in stored and stored[c] != getattr(row, c)]
        self._unindex(table, row, moved)
        self._rows[table.name][key] = changed = replace(row, **stored)
        self._index(table, changed, moved)
        if key not in self._new[table.name]:
            self._changed[table.name].setdefault(key, set()).update(values)
        return changed

    # What an import asks and changes -----------------------------------------------------------

    async def by_ft_id(self, ft_id: str) -> Beneficiary | None:
        if ft_id not in self._ft_ids_loaded:
            await self.preload(ft_ids=[ft_id])
        found = self._by_ft_id.get(ft_id)
        return self._rows[_b.name][found] if found else None

    async def beneficiary(self, beneficiary_id: str) -> Beneficiary | None:
        await self._complete_beneficiaries({beneficiary_id} - self._complete)
        return self._rows[_b.name].get(beneficiary_id)

    async def create_beneficiary(self, identity: Identity, at: datetime) -> Beneficiary:
        person = self._stage_new(_b, Beneficiary(
            id=new_uuid(), **identity.values(), accepts_email=True, accepts_sms=True, created_by_import=True,
            active=True, created_at=at, email_consent_source=PRESCRIPTION, email_consent_at=at,
            sms_consent_source=PRESCRIPTION, sms_consent_at=at))
        self._stage_new(_k, BeneficiaryKey(beneficiary_id=person.id, key=crypto.new_key()))
        self._complete.add(person.id)  # a new id: nothing of theirs can be in the database yet
        return person

    async def update_beneficiary(self, beneficiary_id: str, **values: Any) -> Beneficiary:
        return self._stage_update(_b, beneficiary_id, values)

    async def key(self, beneficiary_id: str) -> str | None:
        await self._complete_beneficiaries({beneficiary_id} - self._complete)
        row = self._rows[_k.name].get(beneficiary_id)
        return row.key if row else None

    async def enrolment_by_order(self, order_number: str) -> Enrolment | None:
        if order_number not in self._orders_loaded:
            await self.preload(order_numbers=[order_number])
        found = self._by_order.get(order_number)
        return self._rows[_e.name][found] if found else None

    async def open_enrolment(self, beneficiary_id: str, resource: str) -> Enrolment | None:
        """The enrolment a J-10 row opened, still waiting for its order number."""
        await self._complete_beneficiaries({beneficiary_id} - self._complete)
        enrolments = self._rows[_e.name]
        open_ = [enrolments[e] for e in self._enrolments_of[beneficiary_id]
                 if enrolments[e].resource_code == resource and enrolments[e].order_number is None]
        return max(open_, key=lambda e: e.created_at) if open_ else None

    async def create_enrolment(self, **values: Any) -> Enrolment:
        enrolment = self._stage_new(_e, Enrolment(id=new_uuid(), **values))
        self._registration_of_enrolment[enrolment.id] = None
        return enrolment

    async def update_enrolment(self, enrolment_id: str, **values: Any) -> Enrolment:
        return self._stage_update(_e, enrolment_id, values)

    async def registration_of(self, enrolment_id: str) -> RecordedRegistration | None:
        await self._load_registrations_of([enrolment_id])
        found = self._registration_of_enrolment[enrolment_id]
        return self._rows[_r.name][found] if found else None

    async def registrations_at(self, beneficiary_id: str, resource: str,
                               starts_at: datetime) -> list[RecordedRegistration]:
        await self._complete_beneficiaries({beneficiary_id} - self._complete)
        registrations = self._rows[_r.name]
        return [registrations[r] for r in self._registrations_of[beneficiary_id]
                if registrations[r].resource_code == resource and registrations[r].starts_at == starts_at]

    async def create_registration(self, **values: Any) -> RecordedRegistration:
        return self._stage_new(_r, RecordedRegistration(id=new_uuid(), **values))

    async def update_registration(self, registration_id: str, **values: Any) -> RecordedRegistration:
        return self._stage_update(_r, registration_id, values)

    async def waiting_registrations(self, resource: str, starts_from: datetime,
                                    starts_before: datetime) -> list[RecordedRegistration]:
        """J-10 registrations not yet confirmed, for appointments in a J-2 list's window, as the
        import has left them so far; their beneficiaries are loaded with them."""
        def waiting(r: RecordedRegistration) -> bool:
            return (r.resource_code == resource and r.status == "registered"
                    and starts_from <= r.starts_at < starts_before)

        # The database answers for the rows the import has not touched; the map, in the state the
        # import left them, for the others (a row it changed may have left or joined the window).
        stored = await self._select(_r, _r.c.resource_code == resource, _r.c.status == "registered",
                                    _r.c.starts_at >= starts_from, _r.c.starts_at < starts_before,
                                    order_by=[_r.c.starts_at])
        ids = [self._adopt(_r, r).id for r in stored]
        from_database = set(ids)
        ids += [r for r in self._rows[_r.name] if r not in from_database]
        found = [self._rows[_r.name][r] for r in ids if waiting(self._rows[_r.name][r])]
        found.sort(key=lambda r: r.starts_at)
        await self._complete_beneficiaries({r.beneficiary_id for r in found} - self._complete)
        return found

    async def has_live_registration(self, beneficiary_id: str) -> bool:
        await self._complete_beneficiaries({beneficiary_id} - self._complete)
        registrations = self._rows[_r.name]
        return any(registrations[r].status in ("registered", "confirmed")
                   for r in self._registrations_of[beneficiary_id])

    # Writing -----------------------------------------------------------------------------------

    async def flush(self) -> None:
        """Write what the import staged: new rows in foreign-key order, then the changed ones (one
        executemany per set of changed columns)."""
        for table in _TABLES:
            rows = self._rows[table.name]  # each new one with every column, in the table's order
            await bulk_insert(self.session, table, [_row(table, rows[k]) for k in self._new[table.name]])
        for table in _TABLES:
            key, rows = _KEY_OF[table.name], self._rows[table.name]
            await update_rows(self.session, table, [{key: k} | {c: getattr(rows[k], c) for c in sorted(columns)}
                                                    for k, columns in self._changed[table.name].items()])
        for table in _TABLES:
            self._new[table.name].clear()
            self._changed[table.name].clear()
