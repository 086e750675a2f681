"""Affectation's projections of agendas and beneficiaries, and its worklist of appointments to assign."""

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.planning import ActionFields
from servicekit.sql import bulk_insert, chunks, existing_keys, one_of, update_many, upsert

from affectation.adapters import orm
from affectation.domain.candidates import Advisor, Slot

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


class SqlWorklist:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def put_action(self, a: ActionFields, status: str = "planned") -> None:
        await upsert(self.session, _a, [_action_row(a, status)])

    async def put_actions(self, actions: list[ActionFields]) -> None:
        """``put_action`` for actions of distinct ids, in three statements."""
        await upsert(self.session, _a, [_action_row(a) for a in actions])

    async def cancel_action(self, action_id: str) -> None:
        await self.session.execute(update(_a).where(_a.c.id == action_id).values(status="cancelled"))

    async def add_participant(self, action_id: str, beneficiary_id: str) -> None:
        await self.add_participants([(action_id, beneficiary_id)])

    async def add_participants(self, pairs: list[tuple[str, str]]) -> None:
        """(action, beneficiary) pairs, each recorded once: a pair already there is left as it is."""
        pairs = list(dict.fromkeys(pairs))
        existing = await existing_keys(self.session, _p, pairs)
        await bulk_insert(self.session, _p, [{"action_id": a, "beneficiary_id": b} for a, b in pairs
                                             if (a, b) not in existing])

    async def remove_participant(self, action_id: str, beneficiary_id: str) -> None:
        await self.session.execute(delete(_p).where(_p.c.action_id == action_id, _p.c.beneficiary_id == beneficiary_id))

    async def participants(self, action_id: str) -> list[str]:
        rows = await self.session.execute(select(_p.c.beneficiary_id).where(_p.c.action_id == action_id)
                                          .order_by(_p.c.beneficiary_id))
        return list(rows.scalars())

    async def participants_of(self, action_ids: list[str]) -> dict[str, list[str]]:
        """Each action's participants, in one query per thousand actions."""
        found: dict[str, list[str]] = {a: [] for a in action_ids}
        for start in range(0, len(action_ids), 1000):
            rows = await self.session.execute(
                select(_p.c.action_id, _p.c.beneficiary_id)
                .where(one_of(self.session, _p.c.action_id, action_ids[start:start + 1000]))
                .order_by(_p.c.action_id, _p.c.beneficiary_id))
            for action_id, beneficiary_id in rows:
                found[action_id].append(beneficiary_id)
        return found

    async def put_beneficiary(self, beneficiary_id: str, sealed: str) -> None:
        await upsert(self.session, orm.beneficiaries, [{"id": beneficiary_id, "sealed": sealed}])

    async def put_beneficiaries(self, sealed: dict[str, str]) -> None:
        """``put_beneficiary`` for many, by id, in three statements."""
        await upsert(self.session, orm.beneficiaries, [{"id": b, "sealed": s} for b, s in sealed.items()])

    async def sealed(self, beneficiary_ids: list[str]) -> dict[str, str]:
        rows = await self.session.execute(select(orm.beneficiaries).where(
            one_of(self.session, orm.beneficiaries.c.id, beneficiary_ids)))
        return {r.id: r.sealed for r in rows}

    async def forget_beneficiary(self, beneficiary_id: str) -> None:
        await self.session.execute(delete(orm.beneficiaries).where(orm.beneficiaries.c.id == beneficiary_id))
        await self.session.execute(delete(_p).where(_p.c.beneficiary_id == beneficiary_id))

    async def entry(self, action_id: str, *, lock: bool = False) -> dict[str, Any] | None:
        query = select(_w).where(_w.c.action_id == action_id)
        row = (await self.session.execute(query.with_for_update() if lock else query)).mappings().first()
        return dict(row) if row else None

    async def entries(self, action_ids: list[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for part in chunks(action_ids):
            rows = await self.session.execute(select(_w).where(one_of(self.session, _w.c.action_id, part)))
            found |= {r["action_id"]: dict(r) for r in rows.mappings()}
        return found

    async def add_entries(self, rows: list[dict[str, Any]]) -> None:
        """New entries (action_id, status, assignment_id, refusal), in one bulk insert."""
        await bulk_insert(self.session, _w, rows)

    async def update_entries(self, rows: list[dict[str, Any]]) -> None:
        """Existing entries (action_id, status, assignment_id, refusal), in one executemany."""
        await update_many(self.session, _w, rows)

    async def set_entry(self, action_id: str, status: str, assignment_id: str | None = None,
                        refusal: list[str] | None = None) -> None:
        await upsert(self.session, _w, [{"action_id": action_id, "status": status, "assignment_id": assignment_id,
                                        "refusal": refusal}])

    async def claim(self, action_id: str, assignment_id: str) -> bool:
        """Take an open entry for one assignment; False if another user took it first (AFF-03)."""
        result = await self.session.execute(update(_w).where(_w.c.action_id == action_id, _w.c.status == "open")
                                            .values(status="pending", assignment_id=assignment_id, refusal=None))
        return result.rowcount == 1

    async def open_entries(self) -> list[tuple[Slot, dict[str, Any]]]:
        rows = await self.session.execute(
            select(_a, _COUNT.label("participants"), _w.c.status.label("entry_status"), _w.c.refusal,
                   _w.c.assignment_id)
            .join(_w, _w.c.action_id == _a.c.id).where(_w.c.status.in_(("open", "pending")))
            .order_by(_a.c.starts_at, _a.c.id))
        return [(_slot(r), {"status": r.entry_status, "refusal": r.refusal, "assignment_id": r.assignment_id,
                            "resource": r.resource_code}) for r in rows]

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

    async def resource_names(self) -> dict[str, dict[str, Any]]:
        return {r.code: {"name": r.name, "ods": r.ods_code} for r in await self.session.execute(select(orm.ref_resources))}

    async def site_names(self) -> dict[str, str]:
        return {r.code: r.name for r in await self.session.execute(select(orm.ref_sites))}

    async def add_assignment(self, **values: Any) -> None:
        await self.session.execute(insert(orm.assignments).values(**values))

    async def assignment(self, assignment_id: str) -> dict[str, Any] | None:
        row = (await self.session.execute(select(orm.assignments).where(orm.assignments.c.id == assignment_id))
               ).mappings().first()
        return dict(row) if row else None

    async def set_outcome(self, assignment_id: str, outcome: str) -> None:
        await self.session.execute(update(orm.assignments).where(orm.assignments.c.id == assignment_id)
                                   .values(outcome=outcome))
