"""Notify's projections: contacts, virtual-office logins, appointments, actions, referential."""

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from servicekit.sql import bulk_insert, chunks, one_of, update_many, upsert

from notify.adapters import orm

# Values in one ``IN (...)``: under both PostgreSQL's (32,767) and SQLite's (32,766) bound parameters,
# so a batch of an import's size reads each kind of row in one query.
IN_CHUNK = 30_000


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

    async def put(self, contact: dict[str, Any]) -> None:
        """Update the contact's given fields, or insert it (the others empty)."""
        c = orm.contacts.c
        result = await self.session.execute(update(orm.contacts).where(c.beneficiary_id == contact["beneficiary_id"])
                                            .values(**contact))
        if result.rowcount == 0:
            await self.session.execute(insert(orm.contacts).values(**contact))

    async def put_many(self, contacts: Sequence[dict[str, Any]]) -> None:
        """``put`` for contacts of distinct people, in a bounded number of statements."""
        await upsert(self.session, orm.contacts, contacts)

    async def delete(self, beneficiary_id: str) -> None:
        await self.session.execute(delete(orm.contacts).where(orm.contacts.c.beneficiary_id == beneficiary_id))

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

    async def delete(self, beneficiary_id: str) -> None:
        await self.session.execute(delete(orm.logins).where(orm.logins.c.beneficiary_id == beneficiary_id))


class SqlAppointments:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def get(self, registration_id: str) -> dict[str, Any] | None:
        a = orm.appointments
        return await _one(self.session, select(a).where(a.c.registration_id == registration_id))

    async def get_many(self, registration_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        a = orm.appointments
        return {r["registration_id"]: r for r in await all_in(self.session, select(a), a.c.registration_id,
                                                                registration_ids)}

    async def add(self, row: dict[str, Any]) -> None:
        await self.session.execute(insert(orm.appointments).values(**row))

    async def add_many(self, rows: Sequence[dict[str, Any]]) -> None:
        await bulk_insert(self.session, orm.appointments, rows)

    async def update(self, registration_id: str, **values: Any) -> None:
        a = orm.appointments
        await self.session.execute(update(a).where(a.c.registration_id == registration_id).values(**values))

    async def update_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """Each row: ``registration_id`` and the new values of the columns it names."""
        await update_many(self.session, orm.appointments, rows)

    async def of_beneficiary(self, beneficiary_id: str) -> list[dict[str, Any]]:
        return (await self.of_beneficiaries([beneficiary_id])).get(beneficiary_id, [])

    async def of_beneficiaries(self, beneficiary_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
        """Each person's appointments by start (then id, so that equal starts always come in one order)."""
        a = orm.appointments
        rows = await all_in(self.session, select(a).order_by(a.c.starts_at, a.c.registration_id), a.c.beneficiary_id,
                            beneficiary_ids)
        out: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            out.setdefault(row["beneficiary_id"], []).append(row)
        return out

    async def of_action(self, action_id: str) -> list[dict[str, Any]]:
        a = orm.appointments
        return await _all(self.session, select(a).where(a.c.action_id == action_id).order_by(a.c.registration_id))

    async def delete_beneficiary(self, beneficiary_id: str) -> None:
        a = orm.appointments
        await self.session.execute(delete(a).where(a.c.beneficiary_id == beneficiary_id))


class SqlActions:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def get(self, action_id: str) -> dict[str, Any] | None:
        return await _one(self.session, select(orm.actions).where(orm.actions.c.action_id == action_id))

    async def get_many(self, action_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        t = orm.actions
        return {r["action_id"]: r for r in await all_in(self.session, select(t), t.c.action_id, action_ids)}

    async def put(self, row: dict[str, Any]) -> None:
        result = await self.session.execute(update(orm.actions).where(orm.actions.c.action_id == row["action_id"])
                                            .values(**row))
        if result.rowcount == 0:
            await self.session.execute(insert(orm.actions).values(**row))

    async def put_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """``put`` for distinct actions, in a bounded number of statements."""
        await upsert(self.session, orm.actions, rows)

    async def join(self, action_id: str, beneficiary_id: str) -> None:
        p = orm.participations
        result = await self.session.execute(update(p).values(removed=False).where(
            p.c.action_id == action_id, p.c.beneficiary_id == beneficiary_id))
        if result.rowcount == 0:
            await self.session.execute(insert(p).values(action_id=action_id, beneficiary_id=beneficiary_id,
                                                        removed=False))

    async def join_many(self, pairs: Sequence[tuple[str, str]], known: Collection[tuple[str, str]]) -> None:
        """``join`` for distinct (action, person) pairs; ``known``: the pairs already recorded, removed or
        not (``participations_of`` read them)."""
        p = orm.participations
        again = [{"_action": a, "_person": b, "removed": False} for a, b in pairs if (a, b) in known]
        if again:
            await self.session.execute(update(p).where(p.c.action_id == bindparam("_action"),
                                                       p.c.beneficiary_id == bindparam("_person")), again)
        await bulk_insert(self.session, p, [{"action_id": a, "beneficiary_id": b, "removed": False}
                                            for a, b in pairs if (a, b) not in known])

    async def participations_of(self, beneficiary_ids: Iterable[str]) -> dict[tuple[str, str], bool]:
        """Every participation of these people, removed or not: (action, person) -> removed."""
        p = orm.participations
        return {(r["action_id"], r["beneficiary_id"]): r["removed"]
                for r in await all_in(self.session, select(p), p.c.beneficiary_id, beneficiary_ids)}

    async def leave(self, action_id: str, beneficiary_id: str) -> None:
        p = orm.participations
        await self.session.execute(update(p).where(p.c.action_id == action_id, p.c.beneficiary_id == beneficiary_id)
                                   .values(removed=True))

    async def joined_by(self, beneficiary_id: str) -> list[dict[str, Any]]:
        """Actions the person currently takes part in, with their times, and ``held``: whether an
        appointment already takes place in it."""
        return (await self.joined_by_many([beneficiary_id])).get(beneficiary_id, [])

    async def joined_by_many(self, beneficiary_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
        """``joined_by`` of each person, by start (then id, so that equal starts always come in one order)."""
        p, a, held = orm.participations, orm.actions, orm.appointments
        query = (select(a, p.c.beneficiary_id.label("_person"),
                        select(held.c.registration_id).where(held.c.action_id == a.c.action_id).exists().label("held"))
                 .join(p, p.c.action_id == a.c.action_id)
                 .where(p.c.removed.is_(False)).order_by(a.c.starts_at, a.c.action_id))
        out: dict[str, list[dict[str, Any]]] = {}
        for row in await all_in(self.session, query, p.c.beneficiary_id, beneficiary_ids):
            out.setdefault(row.pop("_person"), []).append(row)
        return out

    async def is_participant(self, action_id: str, beneficiary_id: str) -> bool:
        p = orm.participations
        found = await _one(self.session, select(p).where(p.c.action_id == action_id,
                                                         p.c.beneficiary_id == beneficiary_id))
        return bool(found and not found["removed"])

    async def forget_beneficiary(self, beneficiary_id: str) -> None:
        p = orm.participations
        await self.session.execute(delete(p).where(p.c.beneficiary_id == beneficiary_id))


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
