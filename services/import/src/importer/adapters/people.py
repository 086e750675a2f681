"""Beneficiaries, their keys, enrolments (parcours), registrations and import batches."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from servicekit import crypto
from servicekit.ids import new_uuid
from servicekit.sql import one_of

from importer.adapters import orm

_b, _k, _e, _r, _i = orm.beneficiaries, orm.beneficiary_keys, orm.enrolments, orm.registrations, orm.import_batches
IDENTITY = ("ft_id", "civility", "last_name", "first_name", "birth_date", "postcode", "email", "phone")


def new_id() -> str:
    return new_uuid()


class SqlPeople:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def _one(self, query) -> dict[str, Any] | None:
        row = (await self.session.execute(query)).mappings().first()
        return dict(row) if row else None

    async def by_ft_id(self, ft_id: str) -> dict[str, Any] | None:
        return await self._one(select(_b).where(_b.c.ft_id == ft_id))

    async def beneficiary(self, beneficiary_id: str) -> dict[str, Any] | None:
        return await self._one(select(_b).where(_b.c.id == beneficiary_id))

    async def create_beneficiary(self, identity: dict[str, Any], at: datetime) -> dict[str, Any]:
        row = {"id": new_id(), **identity, "created_by_import": True, "active": True, "created_at": at,
               "accepts_email": True, "accepts_sms": True}
        await self.session.execute(insert(_b).values(**row))
        await self.session.execute(insert(_k).values(beneficiary_id=row["id"], key=crypto.new_key()))
        return row

    async def update_beneficiary(self, beneficiary_id: str, **values: Any) -> None:
        await self.session.execute(update(_b).where(_b.c.id == beneficiary_id).values(**values))

    async def key(self, beneficiary_id: str) -> str | None:
        return (await self.session.execute(select(_k.c.key).where(_k.c.beneficiary_id == beneficiary_id))).scalar()

    async def keys(self, beneficiary_ids: list[str]) -> dict[str, str]:
        rows = await self.session.execute(select(_k).where(one_of(self.session, _k.c.beneficiary_id, beneficiary_ids),
                                                           _k.c.key.is_not(None)))
        return {r.beneficiary_id: r.key for r in rows}

    async def enrolment_by_order(self, order_number: str) -> dict[str, Any] | None:
        return await self._one(select(_e).where(_e.c.order_number == order_number))

    async def open_enrolment(self, beneficiary_id: str, resource: str) -> dict[str, Any] | None:
        """The enrolment a J-10 row opened, still waiting for its order number."""
        return await self._one(select(_e).where(_e.c.beneficiary_id == beneficiary_id, _e.c.resource_code == resource,
                                                _e.c.order_number.is_(None)).order_by(_e.c.created_at.desc()))

    async def create_enrolment(self, **values: Any) -> dict[str, Any]:
        row = {"id": new_id(), **values}
        await self.session.execute(insert(_e).values(**row))
        return row

    async def update_enrolment(self, enrolment_id: str, **values: Any) -> None:
        await self.session.execute(update(_e).where(_e.c.id == enrolment_id).values(**values))

    async def registration_of(self, enrolment_id: str) -> dict[str, Any] | None:
        return await self._one(select(_r).where(_r.c.enrolment_id == enrolment_id))

    async def registrations_at(self, beneficiary_id: str, resource: str, starts_at: datetime) -> list[dict[str, Any]]:
        rows = await self.session.execute(select(_r).where(
            _r.c.beneficiary_id == beneficiary_id, _r.c.resource_code == resource, _r.c.starts_at == starts_at))
        return [dict(r) for r in rows.mappings()]

    async def create_registration(self, **values: Any) -> dict[str, Any]:
        row = {"id": new_id(), **values}
        await self.session.execute(insert(_r).values(**row))
        return row

    async def update_registration(self, registration_id: str, **values: Any) -> None:
        await self.session.execute(update(_r).where(_r.c.id == registration_id).values(**values))

    async def waiting_registrations(self, resource: str, starts_from: datetime, starts_before: datetime) -> list[dict]:
        """J-10 registrations not yet confirmed, for appointments in a J-2 list's window."""
        rows = await self.session.execute(select(_r).where(
            _r.c.resource_code == resource, _r.c.status == "registered", _r.c.starts_at >= starts_from,
            _r.c.starts_at < starts_before).order_by(_r.c.starts_at))
        return [dict(r) for r in rows.mappings()]

    async def has_live_registration(self, beneficiary_id: str) -> bool:
        count = (await self.session.execute(select(func.count()).select_from(_r).where(
            _r.c.beneficiary_id == beneficiary_id, _r.c.status.in_(("registered", "confirmed"))))).scalar()
        return bool(count)

    async def due_for_purge(self, today: date) -> list[str]:
        rows = await self.session.execute(select(_b.c.id).where(
            _b.c.active.is_(False), _b.c.purged_at.is_(None), _b.c.purge_on <= today).order_by(_b.c.purge_on))
        return list(rows.scalars())

    async def purge(self, beneficiary_id: str, at: datetime) -> None:
        """Delete everything that identifies the person; destroy the key of the sealed event fields."""
        await self.session.execute(update(_b).where(_b.c.id == beneficiary_id)
                                   .values(**{c: None for c in IDENTITY}, purged_at=at))
        await self.session.execute(update(_k).where(_k.c.beneficiary_id == beneficiary_id).values(key=None))
        await self.session.execute(delete(_r).where(_r.c.beneficiary_id == beneficiary_id))
        await self.session.execute(delete(_e).where(_e.c.beneficiary_id == beneficiary_id))

    async def listing(self) -> list[dict[str, Any]]:
        """Beneficiaries with their enrolments and registrations (staff view)."""
        people = [dict(r) for r in (await self.session.execute(select(_b).order_by(_b.c.last_name, _b.c.id))).mappings()]
        registrations = {r["enrolment_id"]: dict(r) for r in (await self.session.execute(select(_r))).mappings()}
        # Grouped once: scanning every enrolment for each person made 10,000 people take a minute.
        enrolments: dict[str, list[dict[str, Any]]] = {}
        for row in (await self.session.execute(select(_e).order_by(_e.c.created_at))).mappings():
            enrolments.setdefault(row["beneficiary_id"], []).append(
                dict(row) | {"registration": registrations.get(row["id"])})
        for person in people:
            person["enrolments"] = enrolments.get(person["id"], [])
        return people


class SqlImportHistory:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def find(self, sha256: str, resource: str) -> dict[str, Any] | None:
        row = (await self.session.execute(select(_i).where(
            and_(_i.c.sha256 == sha256, _i.c.resource_code == resource, _i.c.status == "imported")))).mappings().first()
        return dict(row) if row else None

    async def add(self, **values: Any) -> None:
        await self.session.execute(insert(_i).values(**values))

    async def listing(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = await self.session.execute(select(_i).order_by(_i.c.imported_at.desc()).limit(limit))
        return [dict(r) for r in rows.mappings()]

    async def get(self, batch_id: str) -> dict[str, Any] | None:
        row = (await self.session.execute(select(_i).where(_i.c.id == batch_id))).mappings().first()
        return dict(row) if row else None
