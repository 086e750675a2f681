"""Enrolments (journeys), their history, and the actions each beneficiary takes part in."""

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from servicekit.sql import bulk_insert, chunks, one_of, update_rows

from planning.adapters import orm
from planning.domain.journeys import Enrolment, Form, JourneyAction

_e, _h, _a, _p = orm.enrolments, orm.journey_history, orm.actions, orm.participants
_FORM_FIELDS = tuple(Form.__dataclass_fields__)


def _enrolment(row) -> Enrolment:
    return Enrolment(
        id=row.id, beneficiary_id=row.beneficiary_id, ods=row.ods_code, resource=row.resource_code,
        site=row.site_code, opened_at=row.opened_at, start_on=row.start_on, end_on=row.end_on,
        start_edited=row.start_edited, end_edited=row.end_edited,
        form=Form(**{name: getattr(row, name) for name in _FORM_FIELDS}), form_started=row.form_started,
        status=row.status, closings=row.closings, closed_on=row.closed_on, outcome=row.outcome,
        awaiting_correction=row.awaiting_correction)


def _columns(e: Enrolment) -> dict[str, Any]:
    return {"id": e.id, "beneficiary_id": e.beneficiary_id, "ods_code": e.ods, "resource_code": e.resource,
            "site_code": e.site, "opened_at": e.opened_at, "start_on": e.start_on, "end_on": e.end_on,
            "start_edited": e.start_edited, "end_edited": e.end_edited, "form_started": e.form_started,
            "status": e.status, "closings": e.closings, "closed_on": e.closed_on, "outcome": e.outcome,
            "awaiting_correction": e.awaiting_correction,
            **e.form.values()}


class SqlEnrolments:
    """Enrolments (``uow.enrolments``): read, written back whole, and their history (PRC-09)."""

    def __init__(self, session: AsyncSession):
        self.session = session

    async def get(self, enrolment_id: str, *, lock: bool = False) -> Enrolment | None:
        """``lock``: hold the row until commit (a save and the daily run never both close it)."""
        query = select(_e).where(_e.c.id == enrolment_id)
        row = (await self.session.execute(query.with_for_update() if lock else query)).first()
        return _enrolment(row) if row else None

    async def find(self, enrolment_ids: Iterable[str]) -> dict[str, Enrolment]:
        found: dict[str, Enrolment] = {}
        for chunk in chunks(enrolment_ids):
            rows = await self.session.execute(select(_e).where(one_of(self.session, _e.c.id, chunk)))
            found |= {r.id: _enrolment(r) for r in rows}
        return found

    async def of_beneficiaries(self, beneficiary_ids: Iterable[str]) -> dict[str, list[Enrolment]]:
        """Each beneficiary's enrolments, by start."""
        found: dict[str, list[Enrolment]] = {}
        for chunk in chunks(beneficiary_ids):
            rows = await self.session.execute(select(_e).where(one_of(self.session, _e.c.beneficiary_id, chunk))
                                              .order_by(_e.c.start_on, _e.c.id))
            for r in rows:
                found.setdefault(r.beneficiary_id, []).append(_enrolment(r))
        return found

    async def search(self, *, status: str | None = None, ended_before: date | None = None,
                     starts_from: date | None = None, starts_before: date | None = None,
                     resource: str | None = None, lock: bool = False) -> list[Enrolment]:
        """Enrolments by start then id; ``ended_before``: end date before that day."""
        query = select(_e)
        if status is not None:
            query = query.where(_e.c.status == status)
        if ended_before is not None:
            query = query.where(_e.c.end_on < ended_before)
        if starts_from is not None:
            query = query.where(_e.c.start_on >= starts_from)
        if starts_before is not None:
            query = query.where(_e.c.start_on < starts_before)
        if resource:
            query = query.where(_e.c.resource_code == resource)
        query = query.order_by(_e.c.start_on, _e.c.id)
        if lock and self.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return [_enrolment(r) for r in await self.session.execute(query)]

    async def save(self, new: Iterable[Enrolment] = (), changed: Iterable[Enrolment] = ()) -> None:
        await bulk_insert(self.session, _e, [_columns(e) for e in new])
        await update_rows(self.session, _e, [_columns(e) for e in changed])

    async def record(self, enrolment: Enrolment, at: datetime, kind: str, detail: dict[str, Any]) -> None:
        """One line of the journey's history (opened, dates, form, closed, reopened)."""
        await self.record_many([(enrolment, at, kind, detail)])

    async def record_many(self, lines: Iterable[tuple[Enrolment, datetime, str, dict[str, Any]]]) -> None:
        rows = [{"enrolment_id": e.id, "beneficiary_id": e.beneficiary_id, "at": at, "kind": kind, "detail": detail}
                for e, at, kind, detail in lines]
        if rows:
            await self.session.execute(insert(_h), rows)

    async def history(self, enrolment_ids: Iterable[str]) -> list[dict[str, Any]]:
        """History lines of these enrolments, in the order they were written."""
        found = []
        for chunk in chunks(enrolment_ids):
            rows = await self.session.execute(select(_h).where(one_of(self.session, _h.c.enrolment_id, chunk)))
            found += [dict(r._mapping) for r in rows]
        return sorted(found, key=lambda r: r["id"])

    async def actions(self, beneficiary_ids: Iterable[str], ods: Iterable[str] | None = None,
                      include_removed: bool = False) -> dict[tuple[str, str], list[JourneyAction]]:
        """Each (beneficiary, ODS)'s planned actions the beneficiary takes part in, by start; with
        ``include_removed``, also those the beneficiary left (PRC-08: ``removed_at`` and the reason)."""
        found: dict[tuple[str, str], list[JourneyAction]] = {}
        for chunk in chunks(beneficiary_ids):
            query = (select(_p.c.beneficiary_id, _p.c.presence, _p.c.ods_code.label("imputed"),
                            _p.c.removed_at, _p.c.removal_reason, _a)
                     .join(_a, and_(_a.c.id == _p.c.action_id))
                     .where(one_of(self.session, _p.c.beneficiary_id, chunk))
                     .order_by(_a.c.starts_at, _a.c.id))
            current = and_(_p.c.removed_at.is_(None), _a.c.status == "planned")
            query = query.where(or_(current, _p.c.removed_at.is_not(None)) if include_removed else current)
            for r in await self.session.execute(query):
                ods_code = r.imputed or r.ods_code
                if ods_code is None:
                    continue
                found.setdefault((r.beneficiary_id, ods_code), []).append(JourneyAction(
                    action_id=r.id, starts_at=r.starts_at, ends_at=r.ends_at, presence=r.presence,
                    advisor=r.advisor_code, site=r.site_code, mode=r.mode, action_type=r.action_type,
                    step=r.step_order, removed_at=r.removed_at, removal_reason=r.removal_reason))
        if ods is not None:
            wanted = set(ods)
            found = {k: v for k, v in found.items() if k[1] in wanted}
        return found
