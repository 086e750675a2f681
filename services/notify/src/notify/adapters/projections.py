"""Notify's projections: contacts, virtual-office logins, appointments, actions, referential.

Event handlers read the rows an event's items need with one query per kind (``all_in``) and write
what changed in bulk; appointments and actions come back as domain objects (``Appointment``,
``Action``) the handlers change in memory, item after item."""

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from servicekit.sql import bulk_insert, chunks, one_of, update_rows, upsert

from notify.adapters import orm
from notify.domain.appointments import Action, Appointment, Joined

# Values in one ``IN (...)``: under both PostgreSQL's (32,767) and SQLite's (32,766) bound parameters,
# so an event's ids (at most a thousand items) are read in one query.
IN_CHUNK = 30_000
# What events change on an appointment; the other columns are set once, when it is recorded.
APPOINTMENT_CHANGES = ("order_number", "starts_at", "site", "remote", "status", "cancelled", "action_id")


async def _one(session: AsyncSession, query) -> dict[str, Any] | None:
    row = (await session.execute(query)).mappings().first()
    return dict(row) if row else None


async def _all(session: AsyncSession, query) -> list[dict[str, Any]]:
    return [dict(r) for r in (await session.execute(query)).mappings()]


async def all_in(session: AsyncSession, query, column, values: Iterable[Any]) -> list[dict[str, Any]]:
    """``query`` for rows whose ``column`` is one of ``values``: one query per chunk, none for no values."""
    rows: list[dict[str, Any]] = []
    for chunk in chunks(values, IN_CHUNK):
        rows += await _all(session, query.where(one_of(session, column, chunk)))
    return rows


class SqlContacts:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def get(self, beneficiary_id: str) -> dict[str, Any] | None:
        return await _one(self.session, select(orm.contacts).where(orm.contacts.c.beneficiary_id == beneficiary_id))

    async def put(self, contacts: Sequence[dict[str, Any]]) -> None:
        """Update each contact's given fields, or insert it (the others empty); one row per person."""
        await upsert(self.session, orm.contacts, contacts)

    async def delete(self, beneficiary_ids: Collection[str]) -> None:
        for part in chunks(beneficiary_ids, IN_CHUNK):
            await self.session.execute(delete(orm.contacts).where(one_of(self.session, orm.contacts.c.beneficiary_id,
                                                                         part)))

    async def unsealed(self, beneficiary_id: str, token: str, identity: dict[str, Any] | None) -> None:
        """Replace the sealed copy ``token`` by the readable fields (or delete the contact when the key
        was destroyed), unless a newer registration arrived meanwhile."""
        c = orm.contacts.c
        where = (c.beneficiary_id == beneficiary_id, c.sealed == token)
        if identity is None:
            await self.session.execute(delete(orm.contacts).where(*where))
        else:
            await self.session.execute(update(orm.contacts).where(*where).values(sealed=None, **identity))

    async def sealed(self, beneficiary_ids: list[str] | None = None, limit: int = 500) -> list[tuple[str, str]]:
        """Contacts received but not yet unsealed (of these people): (beneficiary id, sealed identity)."""
        c = orm.contacts.c
        query = select(c.beneficiary_id, c.sealed).where(c.sealed.is_not(None))
        if beneficiary_ids is not None:
            query = query.where(one_of(self.session, c.beneficiary_id, beneficiary_ids))
        rows = await self.session.execute(query.order_by(c.updated_at).limit(limit))
        return [(r.beneficiary_id, r.sealed) for r in rows]


class SqlLogins:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def get(self, beneficiary_id: str) -> dict[str, Any] | None:
        return await _one(self.session, select(orm.logins).where(orm.logins.c.beneficiary_id == beneficiary_id))

    async def record(self, beneficiary_id: str, at: datetime) -> dict[str, Any]:
        current = await self.get(beneficiary_id)
        if current is None:
            row = {"beneficiary_id": beneficiary_id, "first_at": at, "last_at": at, "count": 1}
            await self.session.execute(insert(orm.logins).values(**row))
            return row
        row = current | {"first_at": min(current["first_at"], at), "last_at": max(current["last_at"], at),
                         "count": current["count"] + 1}
        await self.session.execute(update(orm.logins).where(orm.logins.c.beneficiary_id == beneficiary_id)
                                   .values(**row))
        return row

    async def delete(self, beneficiary_ids: Collection[str]) -> None:
        for part in chunks(beneficiary_ids, IN_CHUNK):
            await self.session.execute(delete(orm.logins).where(one_of(self.session, orm.logins.c.beneficiary_id,
                                                                       part)))


def _appointment(row: dict[str, Any]) -> Appointment:
    return Appointment(**row)


class SqlAppointments:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def get(self, registration_id: str) -> Appointment | None:
        a = orm.appointments
        row = await _one(self.session, select(a).where(a.c.registration_id == registration_id))
        return _appointment(row) if row else None

    async def by_id(self, registration_ids: Iterable[str]) -> dict[str, Appointment]:
        a = orm.appointments
        return {r["registration_id"]: _appointment(r)
                for r in await all_in(self.session, select(a), a.c.registration_id, registration_ids)}

    async def add(self, appointments: Sequence[Appointment]) -> None:
        await bulk_insert(self.session, orm.appointments, [a.row() for a in appointments])

    async def save(self, appointments: Iterable[Appointment]) -> None:
        """Write what events change on these (known) appointments."""
        await update_rows(self.session, orm.appointments, [
            {"registration_id": a.registration_id} | {c: getattr(a, c) for c in APPOINTMENT_CHANGES}
            for a in appointments])

    async def of_beneficiaries(self, beneficiary_ids: Iterable[str]) -> dict[str, list[Appointment]]:
        """Each person's appointments by start (then id, so that equal starts always come in one order)."""
        a = orm.appointments
        rows = await all_in(self.session, select(a).order_by(a.c.starts_at, a.c.registration_id), a.c.beneficiary_id,
                            beneficiary_ids)
        out: dict[str, list[Appointment]] = {}
        for row in rows:
            out.setdefault(row["beneficiary_id"], []).append(_appointment(row))
        return out

    async def of_actions(self, action_ids: Iterable[str]) -> dict[str, list[Appointment]]:
        """The appointments taking place in each action, by id."""
        a = orm.appointments
        out: dict[str, list[Appointment]] = {}
        for row in await all_in(self.session, select(a).order_by(a.c.registration_id), a.c.action_id, action_ids):
            out.setdefault(row["action_id"], []).append(_appointment(row))
        return out

    async def delete_beneficiaries(self, beneficiary_ids: Collection[str]) -> None:
        a = orm.appointments
        for part in chunks(beneficiary_ids, IN_CHUNK):
            await self.session.execute(delete(a).where(one_of(self.session, a.c.beneficiary_id, part)))


class SqlActions:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def get(self, action_id: str) -> Action | None:
        row = await _one(self.session, select(orm.actions).where(orm.actions.c.action_id == action_id))
        return Action(**row) if row else None

    async def by_id(self, action_ids: Iterable[str]) -> dict[str, Action]:
        t = orm.actions
        return {r["action_id"]: Action(**r) for r in await all_in(self.session, select(t), t.c.action_id, action_ids)}

    async def put(self, actions: Sequence[Action]) -> None:
        """Insert or replace these actions (one row per action)."""
        await upsert(self.session, orm.actions, [a.row() for a in actions])

    async def cancel(self, action_ids: Collection[str]) -> None:
        t = orm.actions
        for part in chunks(action_ids, IN_CHUNK):
            await self.session.execute(update(t).where(one_of(self.session, t.c.action_id, part)).values(cancelled=True))

    async def participations(self, *, actions: Iterable[str] = (),
                             people: Iterable[str] = ()) -> dict[tuple[str, str], bool]:
        """Every participation in these actions or of these people, removed or not:
        (action, person) -> removed."""
        p = orm.participations
        rows = await all_in(self.session, select(p), p.c.action_id, actions)
        rows += await all_in(self.session, select(p), p.c.beneficiary_id, people)
        return {(r["action_id"], r["beneficiary_id"]): r["removed"] for r in rows}

    async def join(self, pairs: Iterable[tuple[str, str]], known: Collection[tuple[str, str]]) -> None:
        """These people take part in these actions (again): (action, person) pairs; ``known``: the
        pairs already in the table, removed or not (``participations`` read them)."""
        rows = [{"action_id": a, "beneficiary_id": b, "removed": False} for a, b in dict.fromkeys(pairs)]
        await update_rows(self.session, orm.participations,
                          [r for r in rows if (r["action_id"], r["beneficiary_id"]) in known])
        await bulk_insert(self.session, orm.participations,
                          [r for r in rows if (r["action_id"], r["beneficiary_id"]) not in known])

    async def leave(self, pairs: Iterable[tuple[str, str]]) -> None:
        """These (action, person) participations are removed; unknown ones stay unknown."""
        await update_rows(self.session, orm.participations,
                          [{"action_id": a, "beneficiary_id": b, "removed": True} for a, b in dict.fromkeys(pairs)])

    async def joined_by(self, beneficiary_ids: Iterable[str]) -> dict[str, list[Joined]]:
        """The actions each person currently takes part in, by start (then id, so that equal starts
        always come in one order), and whether an appointment already takes place in each."""
        p, a, held = orm.participations, orm.actions, orm.appointments
        query = (select(a.c.action_id, a.c.starts_at, p.c.beneficiary_id.label("_person"),
                        select(held.c.registration_id).where(held.c.action_id == a.c.action_id).exists().label("held"))
                 .join(p, p.c.action_id == a.c.action_id)
                 .where(p.c.removed.is_(False)).order_by(a.c.starts_at, a.c.action_id))
        out: dict[str, list[Joined]] = {}
        for row in await all_in(self.session, query, p.c.beneficiary_id, beneficiary_ids):
            out.setdefault(row["_person"], []).append(Joined(row["action_id"], row["starts_at"], bool(row["held"])))
        return out

    async def forget_beneficiaries(self, beneficiary_ids: Collection[str]) -> None:
        p = orm.participations
        for part in chunks(beneficiary_ids, IN_CHUNK):
            await self.session.execute(delete(p).where(one_of(self.session, p.c.beneficiary_id, part)))


class SqlReferential:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def get(self) -> dict[str, Any]:
        row = await _one(self.session, select(orm.referential).where(orm.referential.c.id == 1))
        return row["snapshot"] | {"version": row["version"]} if row else {"version": 0, "structure": None,
                                                                          "sites": {}, "ods": {}}

    async def put(self, version: int, snapshot: dict[str, Any]) -> None:
        r = orm.referential
        if await _one(self.session, select(r.c.id).where(r.c.id == 1)):
            await self.session.execute(update(r).where(r.c.id == 1).values(version=version, snapshot=snapshot))
        else:
            await self.session.execute(insert(r).values(id=1, version=version, snapshot=snapshot))
