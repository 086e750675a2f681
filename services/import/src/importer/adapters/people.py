"""Beneficiaries' records outside imports: keys for the other services, the staff listing, the
GDPR purge; and the import history. An import reads and changes records through
``adapters.staged.StagedPeople``."""

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from servicekit.sql import chunks, one_of

from importer.adapters import orm
from importer.domain.records import Beneficiary

_b, _k, _e, _r, _i = orm.beneficiaries, orm.beneficiary_keys, orm.enrolments, orm.registrations, orm.import_batches
_c = orm.beneficiary_changes
IDENTITY = ("ft_id", "civility", "last_name", "first_name", "birth_date", "postcode", "email", "phone", "address")
_x = orm.beneficiary_indexes
_LIVE = (_b.c.merged_into.is_(None), _b.c.purged_at.is_(None))  # records a doublon can be reported against


class SqlPeople:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def key(self, beneficiary_id: str) -> str | None:
        return (await self.session.execute(select(_k.c.key).where(_k.c.beneficiary_id == beneficiary_id))).scalar()

    async def keys(self, beneficiary_ids: list[str]) -> dict[str, str]:
        rows = await self.session.execute(select(_k).where(one_of(self.session, _k.c.beneficiary_id, beneficiary_ids),
                                                           _k.c.key.is_not(None)))
        return {r.beneficiary_id: r.key for r in rows}

    async def due_for_purge(self, today: date) -> list[str]:
        rows = await self.session.execute(select(_b.c.id).where(
            _b.c.active.is_(False), _b.c.purged_at.is_(None), _b.c.purge_on <= today).order_by(_b.c.purge_on))
        return list(rows.scalars())

    async def purge(self, beneficiary_ids: list[str], at: datetime) -> None:
        """Delete everything that identifies these people; destroy the keys of their sealed event fields."""
        s = self.session
        for part in chunks(beneficiary_ids):
            await s.execute(update(_b).where(one_of(s, _b.c.id, part)).values(**{c: None for c in IDENTITY},
                                                                               purged_at=at))
            await s.execute(update(_k).where(one_of(s, _k.c.beneficiary_id, part)).values(key=None))
            await s.execute(update(_c).where(one_of(s, _c.c.beneficiary_id, part), _c.c.sealed.is_(True))
                            .values(old_value=None, new_value=None))
            await s.execute(delete(_r).where(one_of(s, _r.c.beneficiary_id, part)))
            await s.execute(delete(_x).where(one_of(s, _x.c.beneficiary_id, part)))
            await s.execute(delete(_e).where(one_of(s, _e.c.beneficiary_id, part)))

    async def beneficiary(self, beneficiary_id: str, lock: bool = False) -> Beneficiary | None:
        query = select(_b).where(_b.c.id == beneficiary_id)
        row = (await self.session.execute(query.with_for_update() if lock else query)).mappings().first()
        return Beneficiary(**row) if row else None

    async def correct(self, person: Beneficiary, columns: Iterable[str]) -> None:
        """Write these columns of the corrected record."""
        await self.session.execute(update(_b).where(_b.c.id == person.id)
                                   .values({name: getattr(person, name) for name in columns}))

    async def add_changes(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(_c), rows)

    async def changes(self, beneficiary_id: str) -> list[dict[str, Any]]:
        """The record's history, oldest first (personal values as stored: sealed)."""
        rows = await self.session.execute(select(_c).where(_c.c.beneficiary_id == beneficiary_id)
                                          .order_by(_c.c.changed_at, _c.c.id))
        return [dict(r) for r in rows.mappings()]

    # Doublons and merges (BEN-03) ----------------------------------------------------------------

    async def unindexed(self) -> list[Beneficiary]:
        """Records with an identity and no blind index yet (made before the indexes, or by another way in)."""
        rows = await self.session.execute(select(_b).where(*_LIVE, _b.c.id.not_in(select(_x.c.beneficiary_id))))
        return [Beneficiary(**r) for r in rows.mappings()]

    async def set_indexes(self, rows: list[dict[str, Any]]) -> None:
        """``rows``: ``{"id", "ft_id_hash", "identity_hash"}`` each, replacing what the records had."""
        s = self.session
        for part in chunks([r["id"] for r in rows]):
            await s.execute(delete(_x).where(one_of(s, _x.c.beneficiary_id, part)))
        if rows:
            await s.execute(insert(_x), [{"beneficiary_id": r["id"], "ft_id_hash": r["ft_id_hash"],
                                          "identity_hash": r["identity_hash"]} for r in rows])

    async def sharing_indexes(self, ft_hashes: Iterable[str | None], identity_hashes: Iterable[str | None]
                              ) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
        """The live records holding these blind indexes: (by identifiant's hash, by identity's hash)."""
        by_ft: dict[str, set[str]] = {}
        by_identity: dict[str, set[str]] = {}
        for column, values, index in ((_x.c.ft_id_hash, ft_hashes, by_ft),
                                      (_x.c.identity_hash, identity_hashes, by_identity)):
            for part in chunks(v for v in values if v):
                for row in await self.session.execute(select(_b.c.id, column).join(_x, _x.c.beneficiary_id == _b.c.id)
                                                      .where(*_LIVE, one_of(self.session, column, part))):
                    index.setdefault(row[1], set()).add(row[0])
        return by_ft, by_identity

    async def shared_indexes(self) -> list[tuple[Beneficiary, str | None, str | None]]:
        """Every live record whose identifiant's or identity's index another live record also has, with
        its two indexes."""
        live = select(_x).join(_b, _b.c.id == _x.c.beneficiary_id).where(*_LIVE).subquery()
        shared = [live.c[c].in_(select(live.c[c]).where(live.c[c].is_not(None)).group_by(live.c[c])
                                .having(func.count() > 1)) for c in ("ft_id_hash", "identity_hash")]
        rows = await self.session.execute(select(_b, live.c.ft_id_hash, live.c.identity_hash)
                                          .join(live, live.c.beneficiary_id == _b.c.id).where(or_(*shared))
                                          .order_by(_b.c.created_at, _b.c.id))
        return [(Beneficiary(**{k: v for k, v in r.items() if k not in ("ft_id_hash", "identity_hash")}),
                 r["ft_id_hash"], r["identity_hash"]) for r in rows.mappings()]

    async def merged_into_these(self, beneficiary_ids: list[str]) -> list[str]:
        """The records merged into these (and into those, ...), not purged yet."""
        found: list[str] = []
        wanted = list(beneficiary_ids)
        while wanted:
            merged = []
            for part in chunks(wanted):
                merged += (await self.session.execute(select(_b.c.id).where(
                    one_of(self.session, _b.c.merged_into, part), _b.c.purged_at.is_(None)))).scalars()
            found += merged
            wanted = merged
        return found

    async def mark_merged(self, merged_id: str, kept_id: str, at: datetime) -> None:
        """The merged record stays, inactive, as the history of where its rows went; never purged for it."""
        await self.session.execute(update(_b).where(_b.c.id == merged_id).values(
            merged_into=kept_id, merged_at=at, active=False, purge_on=None))

    async def listing(self, beneficiary_id: str | None = None) -> list[dict[str, Any]]:
        """Beneficiaries (or the one ``beneficiary_id``) with their enrolments and registrations (staff view)."""
        one = beneficiary_id is not None
        people = [dict(r) for r in (await self.session.execute(
            select(_b).where(_b.c.id == beneficiary_id) if one else select(_b).order_by(_b.c.last_name, _b.c.id)
        )).mappings()]
        registrations = {r["enrolment_id"]: dict(r) for r in (await self.session.execute(
            select(_r).where(_r.c.beneficiary_id == beneficiary_id) if one else select(_r))).mappings()}
        # Grouped once: scanning every enrolment for each person made 10,000 people take a minute.
        enrolments: dict[str, list[dict[str, Any]]] = {}
        for row in (await self.session.execute(
                (select(_e).where(_e.c.beneficiary_id == beneficiary_id) if one else select(_e))
                .order_by(_e.c.created_at))).mappings():
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
