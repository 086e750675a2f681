"""Beneficiaries' sealed identities, deliverables, and planning's copy of billing's and notify's events
(``uow.views``)."""

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from servicekit.sql import chunks, one_of, upsert

from planning.adapters import orm

_i, _d, _v, _m = orm.beneficiary_identities, orm.deliverables, orm.invoice_events, orm.messages
_META = [c for c in _d.c if c.name != "content"]


class SqlJourneyViews:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def _by(self, table, column, values: Iterable[Any], *columns) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for chunk in chunks(values):
            query = select(*(columns or (table,))).where(one_of(self.session, column, chunk))
            found += [dict(r._mapping) for r in await self.session.execute(query)]
        return found

    # Identities.
    async def put_identities(self, sealed: Iterable[tuple[str, str]]) -> None:
        """(beneficiary id, sealed identity) pairs; the last one of an id wins."""
        await upsert(self.session, _i, [{"beneficiary_id": b, "sealed": s} for b, s in dict(sealed).items()])

    async def sealed(self, beneficiary_ids: Iterable[str]) -> dict[str, str]:
        return {r["beneficiary_id"]: r["sealed"] for r in await self._by(_i, _i.c.beneficiary_id, beneficiary_ids)}

    async def forget(self, beneficiary_ids: Iterable[str]) -> None:
        """A purged person: identity, deliverables (they hold the name) and messages go."""
        for chunk in chunks(beneficiary_ids):
            for table, column in ((_i, _i.c.beneficiary_id), (_d, _d.c.beneficiary_id), (_m, _m.c.beneficiary_id)):
                await self.session.execute(delete(table).where(one_of(self.session, column, chunk)))

    # Deliverables.
    async def next_numbers(self, enrolment_id: str) -> dict[str, int]:
        rows = await self.session.execute(select(_d.c.kind, func.max(_d.c.number)).where(
            _d.c.enrolment_id == enrolment_id).group_by(_d.c.kind))
        return {kind: number + 1 for kind, number in rows}

    async def add_deliverables(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(_d), list(rows))

    async def deliverables(self, enrolment_ids: Iterable[str] | None = None,
                           beneficiary_ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """Metadata of the PDFs generated, without their content, oldest first."""
        if enrolment_ids is not None:
            found = await self._by(_d, _d.c.enrolment_id, enrolment_ids, *_META)
        else:
            found = await self._by(_d, _d.c.beneficiary_id, beneficiary_ids or (), *_META)
        return sorted(found, key=lambda r: (r["generated_at"], r["kind"], r["number"]))

    async def content(self, enrolment_id: str, kind: str, number: int | None = None) -> dict[str, Any] | None:
        """One PDF with its content: the given number, or the latest."""
        query = select(_d).where(_d.c.enrolment_id == enrolment_id, _d.c.kind == kind)
        query = query.where(_d.c.number == number) if number else query.order_by(_d.c.number.desc()).limit(1)
        row = (await self.session.execute(query)).first()
        return dict(row._mapping) if row else None

    # Billing's invoice events.
    async def add_invoice_events(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(_v), list(rows))

    async def invoice_events(self, *, enrolment_ids: Iterable[str] | None = None,
                             beneficiary_ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """In the order received."""
        if enrolment_ids is not None:
            found = await self._by(_v, _v.c.enrolment_id, enrolment_ids)
        else:
            found = await self._by(_v, _v.c.beneficiary_id, beneficiary_ids or ())
        return sorted(found, key=lambda r: r["id"])

    async def all_invoice_events(self) -> list[dict[str, Any]]:
        return [dict(r._mapping) for r in await self.session.execute(select(_v).order_by(_v.c.id))]

    async def document_owners(self, document_ids: Iterable[str]) -> dict[str, tuple[str, str | None]]:
        """Each known document's (enrolment, beneficiary): Chorus statuses do not name the person."""
        rows = await self._by(_v, _v.c.document_id, document_ids, _v.c.document_id, _v.c.enrolment_id,
                              _v.c.beneficiary_id)
        return {r["document_id"]: (r["enrolment_id"], r["beneficiary_id"]) for r in rows}

    # Notify's messages.
    async def put_messages(self, rows: Sequence[dict[str, Any]]) -> None:
        await upsert(self.session, _m, list({r["message_id"]: r for r in rows}.values()))

    async def messages(self, beneficiary_ids: Iterable[str]) -> list[dict[str, Any]]:
        return await self._by(_m, _m.c.beneficiary_id, beneficiary_ids)

    # Planning's own data.
    async def record_action_change(self, action_id: str, at: datetime, detail: dict[str, Any]) -> None:
        if detail:
            await self.session.execute(insert(orm.action_changes).values(action_id=action_id, at=at, detail=detail))

    async def action_changes(self, action_ids: Iterable[str]) -> list[dict[str, Any]]:
        _c = orm.action_changes
        return sorted(await self._by(_c, _c.c.action_id, action_ids), key=lambda r: r["id"])

    async def participations(self, beneficiary_id: str) -> list[dict[str, Any]]:
        """Every action the person joined, left or not, cancelled or not."""
        _p, _a = orm.participants, orm.actions
        query = (select(_p.c.action_id, _p.c.presence, _p.c.added_at, _p.c.removed_at, _p.c.removal_reason,
                        _a.c.action_type, _a.c.starts_at, _a.c.ends_at, _a.c.site_code, _a.c.advisor_code,
                        _a.c.status, _a.c.cancel_reason)
                 .join(_a, _a.c.id == _p.c.action_id).where(_p.c.beneficiary_id == beneficiary_id))
        return [dict(r._mapping) for r in await self.session.execute(query)]
