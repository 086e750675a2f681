"""Affectation's projections of agendas and beneficiaries, and its worklist of appointments to assign."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.planning import ActionFields
from servicekit.sql import bulk_insert, chunks, existing_keys, one_of, update_rows, upsert

from affectation.adapters import orm
from affectation.domain.candidates import Advisor, Slot
from affectation.domain.worklist import Appointment, Assignment, Entry

_a, _p, _w = orm.actions, orm.participants, orm.worklist
_COUNT = select(func.count()).select_from(_p).where(_p.c.action_id == _a.c.id).correlate(_a).scalar_subquery()


def _action_row(a: ActionFields, status: str = "planned") -> dict[str, Any]:
    return {"id": a.action_id, "advisor_code": a.advisor, "action_type": a.action_type, "ods_code": a.ods,
            "step_order": a.step, "resource_code": a.resource, "mode": a.mode, "site_code": a.site,
            "starts_at": a.starts_at, "ends_at": a.ends_at, "max_participants": a.max_participants,
            "to_assign": a.to_assign, "status": status}


def _slot(row) -> Slot:
    return Slot(row.id, row.advisor_code, row.action_type, row.ods_code, row.step_order, row.site_code, row.mode,
                row.starts_at, row.ends_at, row.max_participants, row.participants, row.to_assign, row.status)



def _entry(row) -> Entry:
    return Entry(row.action_id, row.status, row.assignment_id, tuple(row.refusal) if row.refusal is not None else None)


def _entry_row(entry: Entry) -> dict[str, Any]:
    return {"action_id": entry.action_id, "status": entry.status, "assignment_id": entry.assignment_id,
            "refusal": list(entry.refusal) if entry.refusal is not None else None}


def _last_by(rows: Iterable[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """One row per key, the last given: items later in an event are later changes."""
    return list({row[key]: row for row in rows}.values())


class SqlWorklist:
    """Reads what an event's items need in one query per thousand ids and writes in bulk. Worklist
    entries go through an identity map: a handler reads them once (``load_entries``), changes them
    item after item (``current``, ``put_entry``), and they are written together at commit (``flush``)."""

    def __init__(self, session: AsyncSession):
        self.session = session
        self._entries: dict[str, Entry | None] = {}  # as this transaction left them; None: no entry
        self._read: set[str] = set()  # ids looked up in the table
        self._stored: set[str] = set()  # ids with a row in the table
        self._dirty: dict[str, Entry] = {}

    # Projection of planning's actions and participants.

    async def put_actions(self, actions: Iterable[ActionFields]) -> None:
        await upsert(self.session, _a, _last_by((_action_row(a) for a in actions), "id"))

    async def cancel_actions(self, action_ids: Iterable[str]) -> None:
        for part in chunks(action_ids):
            await self.session.execute(update(_a).where(one_of(self.session, _a.c.id, part)).values(status="cancelled"))

    async def add_participants(self, pairs: Iterable[tuple[str, str]]) -> None:
        """(action, beneficiary) pairs, each recorded once: a pair already there is left as it is."""
        pairs = list(dict.fromkeys(pairs))
        existing = await existing_keys(self.session, _p, pairs)
        await bulk_insert(self.session, _p, [{"action_id": a, "beneficiary_id": b} for a, b in pairs
                                             if (a, b) not in existing])

    async def remove_participants(self, pairs: Iterable[tuple[str, str]]) -> None:
        pairs = list(dict.fromkeys(pairs))
        if pairs:
            await self.session.execute(
                delete(_p).where(_p.c.action_id == bindparam("a"), _p.c.beneficiary_id == bindparam("b")),
                [{"a": a, "b": b} for a, b in pairs])

    async def participants_of(self, action_ids: Iterable[str]) -> dict[str, list[str]]:
        """Each action's participants."""
        found: dict[str, list[str]] = {}
        for part in chunks(action_ids):
            found |= {a: [] for a in part}
            rows = await self.session.execute(
                select(_p.c.action_id, _p.c.beneficiary_id).where(one_of(self.session, _p.c.action_id, part))
                .order_by(_p.c.action_id, _p.c.beneficiary_id))
            for action_id, beneficiary_id in rows:
                found[action_id].append(beneficiary_id)
        return found

    # Beneficiaries' sealed names.

    async def put_beneficiaries(self, sealed: Iterable[tuple[str, str]]) -> None:
        """(beneficiary id, sealed names) pairs; the last one of an id wins."""
        await upsert(self.session, orm.beneficiaries, [{"id": b, "sealed": s} for b, s in dict(sealed).items()])

    async def sealed(self, beneficiary_ids: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for part in chunks(beneficiary_ids):
            rows = await self.session.execute(select(orm.beneficiaries).where(
                one_of(self.session, orm.beneficiaries.c.id, part)))
            found.update({r.id: r.sealed for r in rows})
        return found

    async def forget_beneficiaries(self, beneficiary_ids: Iterable[str]) -> None:
        for part in chunks(beneficiary_ids):
            await self.session.execute(delete(orm.beneficiaries).where(one_of(self.session, orm.beneficiaries.c.id,
                                                                              part)))
            await self.session.execute(delete(_p).where(one_of(self.session, _p.c.beneficiary_id, part)))

    # Worklist entries.

    async def entry(self, action_id: str, *, lock: bool = False) -> Entry | None:
        """One entry read now (``lock``: held until the transaction ends, for a command)."""
        query = select(_w).where(_w.c.action_id == action_id)
        row = (await self.session.execute(query.with_for_update() if lock else query)).first()
        return _entry(row) if row else None

    async def load_entries(self, action_ids: Iterable[str]) -> None:
        """Read the entries of these actions not read yet in this transaction."""
        for part in chunks(a for a in action_ids if a not in self._read):
            self._read.update(part)
            rows = await self.session.execute(select(_w).where(one_of(self.session, _w.c.action_id, part)))
            for row in rows:
                self._stored.add(row.action_id)
                self._entries.setdefault(row.action_id, _entry(row))  # what was put already is newer
            for action_id in part:
                self._entries.setdefault(action_id, None)

    def current(self, action_id: str) -> Entry | None:
        """The entry as this transaction left it so far (``load_entries`` first)."""
        if action_id not in self._entries:
            raise LookupError(f"worklist entry {action_id} not loaded")
        return self._entries[action_id]

    def put_entry(self, entry: Entry) -> None:
        """Change or add an entry; written at commit."""
        self._entries[entry.action_id] = self._dirty[entry.action_id] = entry

    async def flush(self) -> None:
        """Write the entries put since the last flush: new ones in one bulk insert, the others in bulk."""
        dirty, self._dirty = self._dirty, {}
        await self.load_entries(dirty)  # an entry put without being read: is it new?
        new = [_entry_row(e) for a, e in dirty.items() if a not in self._stored]
        changed = [_entry_row(e) for a, e in dirty.items() if a in self._stored]
        await bulk_insert(self.session, _w, new)
        self._stored |= {row["action_id"] for row in new}
        await update_rows(self.session, _w, changed)

    async def claim(self, action_id: str, assignment_id: str) -> bool:
        """Take an open entry for one assignment; False if another user took it first (AFF-03)."""
        result = await self.session.execute(update(_w).where(_w.c.action_id == action_id, _w.c.status == "open")
                                            .values(status="pending", assignment_id=assignment_id, refusal=None))
        return result.rowcount == 1

    async def open_entries(self) -> list[Appointment]:
        rows = await self.session.execute(
            select(_a, _COUNT.label("participants"), _w.c.action_id, _w.c.status.label("entry_status"), _w.c.refusal,
                   _w.c.assignment_id)
            .join(_w, _w.c.action_id == _a.c.id).where(_w.c.status.in_(("open", "pending")))
            .order_by(_a.c.starts_at, _a.c.id))
        return [Appointment(_slot(r), Entry(r.id, r.entry_status, r.assignment_id,
                                            tuple(r.refusal) if r.refusal is not None else None), r.resource_code)
                for r in rows]

    # Agendas and the referential, for candidates.

    async def agenda(self, starts_from: datetime, starts_before: datetime) -> dict[str, list[Slot]]:
        rows = await self.session.execute(
            select(_a, _COUNT.label("participants")).where(
                _a.c.advisor_code.is_not(None), _a.c.status == "planned", _a.c.starts_at >= starts_from,
                _a.c.starts_at < starts_before))
        agenda: dict[str, list[Slot]] = {}
        for row in rows:
            agenda.setdefault(row.advisor_code, []).append(_slot(row))
        return agenda

    async def advisors(self) -> list[Advisor]:
        sites: dict[str, list[str]] = {}
        for r in await self.session.execute(select(orm.ref_advisor_sites).order_by(orm.ref_advisor_sites.c.site_code)):
            sites.setdefault(r.advisor_code, []).append(r.site_code)
        rows = await self.session.execute(select(orm.ref_advisors).order_by(orm.ref_advisors.c.name))
        return [Advisor(r.code, r.name, tuple(sites.get(r.code, ())), r.remote, r.active) for r in rows]

    async def allowed_sites(self, resource: str | None, ods: str | None) -> set[str]:
        antenne = (await self.session.execute(select(orm.ref_resources.c.antenne_code).where(
            orm.ref_resources.c.code == resource))).scalar()
        rows = await self.session.execute(
            select(orm.ref_ods_sites.c.site_code).join(orm.ref_sites, orm.ref_sites.c.code == orm.ref_ods_sites.c.site_code)
            .where(orm.ref_ods_sites.c.ods_code == ods, orm.ref_sites.c.antenne_code == antenne,
                   orm.ref_sites.c.active.is_(True), orm.ref_sites.c.remote.is_(False)))
        return set(rows.scalars())

    async def resource_names(self) -> dict[str, str]:
        return {r.code: r.name for r in await self.session.execute(select(orm.ref_resources))}

    async def site_names(self) -> dict[str, str]:
        return {r.code: r.name for r in await self.session.execute(select(orm.ref_sites))}

    # Assignments.

    async def add_assignment(self, assignment: Assignment) -> None:
        await self.session.execute(insert(orm.assignments).values(**{
            c.name: getattr(assignment, c.name) for c in orm.assignments.columns}))

    async def assignment(self, assignment_id: str) -> Assignment | None:
        row = (await self.session.execute(select(orm.assignments).where(orm.assignments.c.id == assignment_id))
               ).first()
        return Assignment(**row._asdict()) if row else None

    async def set_outcomes(self, assignment_ids: Iterable[str], outcome: str) -> None:
        for part in chunks(assignment_ids):
            await self.session.execute(update(orm.assignments).where(one_of(self.session, orm.assignments.c.id, part))
                                       .values(outcome=outcome))
