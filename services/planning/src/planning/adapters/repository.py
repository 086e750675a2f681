from datetime import datetime
from typing import Protocol

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from servicekit.sql import upsert

from planning.adapters import orm
from planning.domain.referential import (Advisor, Antenne, Ods, Profile, Referential, Resource, Site, Step,
                                         Structure, User, normalise_address)


_REASON_LISTS = ("bilan_reasons", "early_exit_reasons", "abandon_reasons")


class ReferentialRepository(Protocol):
    async def get(self) -> Referential: ...

    async def save(self, referential: Referential, changed_at: datetime, digest: str | None = None) -> None: ...

    async def versions(self) -> list[dict]: ...


class ReferentialCache:
    """The last referential read, by version: versions are immutable, so one query tells whether the
    cached copy is current. Every action checked against the referential would otherwise re-read it."""

    def __init__(self) -> None:
        self.version: int | None = None
        self.referential: Referential | None = None


class SqlReferentialRepository:
    """Stores the referential in normalised tables and keeps every version's snapshot (REF-05)."""

    def __init__(self, session: AsyncSession, cache: ReferentialCache | None = None):
        self.session = session
        self.cache = cache or ReferentialCache()

    async def _rows(self, table, *order):
        return (await self.session.execute(select(table).order_by(*order))).mappings().all()

    async def get(self) -> Referential:
        """The current referential; callers must not mutate it (``merged_with`` returns a copy)."""
        version = (await self.session.execute(select(func.max(orm.referential_versions.c.version)))).scalar() or 0
        if self.cache.version != version or self.cache.referential is None:
            self.cache.referential = await self._read(version)
            self.cache.version = version
        return self.cache.referential

    async def _read(self, version: int) -> Referential:
        s = self.session
        # Profiles and users (SEC-02) live in the version's snapshot only: few, read whole.
        snapshot = (await s.execute(select(orm.referential_versions.c.snapshot).where(
            orm.referential_versions.c.version == version))).scalar() or {}
        structure = (await s.execute(select(orm.structure))).mappings().first()
        addresses, adv_sites, ods_sites, steps = {}, {}, {}, {}
        for r in await self._rows(orm.site_ft_addresses, orm.site_ft_addresses.c.position):
            addresses.setdefault(r["site_code"], []).append(r["address"])
        for r in await self._rows(orm.advisor_sites, orm.advisor_sites.c.position):
            adv_sites.setdefault(r["advisor_code"], []).append(r["site_code"])
        for r in await self._rows(orm.ods_sites, orm.ods_sites.c.position):
            ods_sites.setdefault(r["ods_code"], []).append(r["site_code"])
        for r in await self._rows(orm.ods_steps, orm.ods_steps.c.step_order):
            steps.setdefault(r["ods_code"], []).append(Step(
                order=r["step_order"], name=r["name"], action_type=r["action_type"],
                duration_min=r["duration_min"], nature=r["nature"]))
        return Referential(
            version=version or 0,
            structure=Structure(name=structure["name"], siret=structure["siret"]) if structure else None,
            antennes={r["code"]: Antenne(code=r["code"], name=r["name"])
                      for r in await self._rows(orm.antennes, orm.antennes.c.code)},
            sites={r["code"]: Site(code=r["code"], name=r["name"], antenne=r["antenne_code"], address=r["address"],
                                   remote=r["remote"], active=r["active"],
                                   france_travail_addresses=tuple(addresses.get(r["code"], ())))
                   for r in await self._rows(orm.sites, orm.sites.c.code)},
            advisors={r["code"]: Advisor(code=r["code"], name=r["name"], email=r["email"], remote=r["remote"],
                                         active=r["active"], sites=tuple(adv_sites.get(r["code"], ())))
                      for r in await self._rows(orm.advisors, orm.advisors.c.code)},
            ods={r["code"]: Ods(code=r["code"], name=r["name"], special_service=r["special_service"],
                                sites=tuple(ods_sites.get(r["code"], ())), steps=tuple(steps.get(r["code"], ())),
                                duration_days=r["duration_days"],
                                **{k: tuple(r[k]) for k in _REASON_LISTS if r[k] is not None})
                 for r in await self._rows(orm.ods, orm.ods.c.code)},
            resources={r["code"]: Resource(
                code=r["code"], name=r["name"], antenne=r["antenne_code"], start=r["start"], end=r["end"],
                market_number=r["market_number"], lot_number=r["lot_number"], ods=(r["ods_code"],),
                lead_contractor=r["lead_contractor"], funder=r["funder"], active=r["active"],
                setting_version=r["setting_version"])
                for r in await self._rows(orm.resources, orm.resources.c.code)},
            profiles={c: Profile(**p) for c, p in snapshot.get("profiles", {}).items()},
            users={c: User(**u) for c, u in snapshot.get("users", {}).items()},
        )

    async def save(self, ref: Referential, changed_at: datetime, digest: str | None = None) -> None:
        """Upsert every entry of ``ref``; each entry's own lists (addresses, sites, étapes) are replaced.
        ``digest``: the version's digest as announced (an audit replay's, whose referential lacks the e-mails)."""
        s = self.session
        if ref.structure:
            await upsert(s, orm.structure, [{"id": 1, **ref.structure.model_dump()}])
        await upsert(s, orm.antennes, [a.model_dump() for a in ref.antennes.values()])
        await upsert(s, orm.sites, [{"code": x.code, "name": x.name, "antenne_code": x.antenne,
                                     "address": x.address, "remote": x.remote, "active": x.active}
                                    for x in ref.sites.values()])
        await upsert(s, orm.advisors, [{"code": a.code, "name": a.name, "email": a.email, "remote": a.remote,
                                        "active": a.active} for a in ref.advisors.values()])
        await upsert(s, orm.ods, [{"code": o.code, "name": o.name, "special_service": o.special_service,
                                   "duration_days": o.duration_days, **{k: list(getattr(o, k)) for k in _REASON_LISTS}}
                                  for o in ref.ods.values()])
        await upsert(s, orm.resources, [{
            "code": r.code, "name": r.name, "antenne_code": r.antenne, "start": r.start, "end": r.end,
            "market_number": r.market_number, "lot_number": r.lot_number, "ods_code": r.ods[0],
            "lead_contractor": r.lead_contractor, "funder": r.funder, "active": r.active,
            "setting_version": r.setting_version} for r in ref.resources.values()])
        for table in (orm.site_ft_addresses, orm.advisor_sites, orm.ods_sites, orm.ods_steps):
            await s.execute(delete(table))
        await self._insert(orm.site_ft_addresses, [
            {"site_code": x.code, "position": i, "address": a, "normalised": normalise_address(a)}
            for x in ref.sites.values() for i, a in enumerate(x.france_travail_addresses)])
        await self._insert(orm.advisor_sites, [{"advisor_code": a.code, "site_code": c, "position": i}
                                               for a in ref.advisors.values() for i, c in enumerate(a.sites)])
        await self._insert(orm.ods_sites, [{"ods_code": o.code, "site_code": c, "position": i}
                                           for o in ref.ods.values() for i, c in enumerate(o.sites)])
        await self._insert(orm.ods_steps, [{"ods_code": o.code, "step_order": st.order, "name": st.name,
                                            "action_type": st.action_type, "duration_min": st.duration_min,
                                            "nature": st.nature} for o in ref.ods.values() for st in o.steps])
        await self._insert(orm.referential_versions, [{
            "version": ref.version, "changed_at": changed_at, "digest": digest or ref.digest(),
            "snapshot": ref.model_dump(mode="json")}])

    async def _insert(self, table, rows) -> None:
        if rows:
            await self.session.execute(insert(table), rows)

    async def versions(self) -> list[dict]:
        rows = await self.session.execute(
            select(orm.referential_versions.c.version, orm.referential_versions.c.changed_at,
                   orm.referential_versions.c.digest).order_by(orm.referential_versions.c.version))
        return [{"version": r.version, "changed_at": r.changed_at.isoformat(), "digest": r.digest} for r in rows]
