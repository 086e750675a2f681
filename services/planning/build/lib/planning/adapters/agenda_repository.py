from datetime import datetime

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from planning.adapters import orm
from planning.domain.agenda import Action

_a, _p = orm.actions, orm.participants
_active = and_(_p.c.action_id == _a.c.id, _p.c.removed_at.is_(None))
_COUNT = select(func.count()).select_from(_p).where(_active).correlate(_a).scalar_subquery()


def _action(row) -> Action:
    return Action(
        id=row.id, advisor=row.advisor_code, action_type=row.action_type, ods=row.ods_code, step=row.step_order,
        resource=row.resource_code, mode=row.mode, site=row.site_code, starts_at=row.starts_at,
        ends_at=row.ends_at, nature=row.nature, max_participants=row.max_participants, status=row.status,
        to_assign=row.to_assign, resource_version=row.resource_version, steps_digest=row.steps_digest,
        participants=row.participants, duplicate_of=row.duplicate_of)


def _columns(action: Action) -> dict:
    return {"advisor_code": action.advisor, "action_type": action.action_type, "ods_code": action.ods,
            "step_order": action.step, "resource_code": action.resource, "mode": action.mode,
            "site_code": action.site, "starts_at": action.starts_at, "ends_at": action.ends_at,
            "nature": action.nature, "max_participants": action.max_participants, "status": action.status,
            "to_assign": action.to_assign, "resource_version": action.resource_version,
            "steps_digest": action.steps_digest, "duplicate_of": action.duplicate_of}


class SqlAgendaRepository:
    """Actions and their participants."""

    def __init__(self, session: AsyncSession):
        self.session = session

    def _select(self):
        return select(_a, _COUNT.label("participants"))

    async def add(self, action: Action) -> None:
        await self.session.execute(insert(_a).values(id=action.id, **_columns(action)))

    async def add_many(self, actions: list[Action]) -> None:
        if actions:
            await self.session.execute(insert(_a), [{"id": a.id, **_columns(a)} for a in actions])

    async def update(self, action: Action, cancel_reason: str | None = None) -> None:
        await self.session.execute(update(_a).where(_a.c.id == action.id)
                                   .values(cancel_reason=cancel_reason, **_columns(action)))

    async def get(self, action_id: str, *, lock: bool = False) -> Action | None:
        """``lock``: hold the action's row until commit, so capacity checks cannot interleave."""
        if lock:
            await self.session.execute(select(_a.c.id).where(_a.c.id == action_id).with_for_update())
        row = (await self.session.execute(self._select().where(_a.c.id == action_id))).first()
        return _action(row) if row else None

    async def lock_advisor(self, advisor: str) -> None:
        """Serialise plans of one advisor's agenda (no double booking under concurrency)."""
        await self.session.execute(select(orm.advisors.c.code).where(orm.advisors.c.code == advisor).with_for_update())

    async def advisor_actions(self, advisor: str, starts_at: datetime, ends_at: datetime) -> list[Action]:
        rows = await self.session.execute(self._select().where(
            _a.c.advisor_code == advisor, _a.c.status == "planned", _a.c.starts_at < ends_at,
            _a.c.ends_at > starts_at))
        return [_action(r) for r in rows]

    async def search(self, *, advisors: list[str] = (), sites: list[str] = (), starts_from: datetime | None = None,
                     starts_before: datetime | None = None, step: int | None = None, ods: list[str] | None = None,
                     resource: str | None = None, include_cancelled: bool = False,
                     to_assign: bool | None = None) -> list[Action]:
        query = self._select()
        if advisors:
            query = query.where(_a.c.advisor_code.in_(advisors))
        if sites:
            query = query.where(_a.c.site_code.in_(sites))
        if starts_from is not None:
            query = query.where(_a.c.starts_at >= starts_from)
        if starts_before is not None:
            query = query.where(_a.c.starts_at < starts_before)
        if step is not None:
            query = query.where(_a.c.step_order == step)
        if ods is not None:
            query = query.where(_a.c.ods_code.in_(ods))
        if resource:
            query = query.where(_a.c.resource_code == resource)
        if not include_cancelled:
            query = query.where(_a.c.status == "planned")
        if to_assign is not None:
            query = query.where(_a.c.to_assign == to_assign)
        rows = await self.session.execute(query.order_by(_a.c.starts_at, _a.c.id))
        return [_action(r) for r in rows]

    async def participant(self, action_id: str, beneficiary_id: str):
        return (await self.session.execute(select(_p).where(
            _p.c.action_id == action_id, _p.c.beneficiary_id == beneficiary_id))).mappings().first()

    async def participants(self, action_id: str) -> list[dict]:
        rows = await self.session.execute(select(_p).where(_p.c.action_id == action_id, _p.c.removed_at.is_(None))
                                          .order_by(_p.c.added_at, _p.c.beneficiary_id))
        return [dict(r) for r in rows.mappings()]

    async def add_participant(self, action_id: str, beneficiary_id: str, resource: str | None, ods: str | None,
                              at: datetime) -> None:
        if await self.participant(action_id, beneficiary_id):
            await self.session.execute(update(_p).where(_p.c.action_id == action_id,
                                                        _p.c.beneficiary_id == beneficiary_id)
                                       .values(resource_code=resource, ods_code=ods, added_at=at, removed_at=None,
                                               removal_reason=None, presence=None))
        else:
            await self.session.execute(insert(_p).values(action_id=action_id, beneficiary_id=beneficiary_id,
                                                         resource_code=resource, ods_code=ods, added_at=at))

    async def remove_participant(self, action_id: str, beneficiary_id: str, at: datetime, reason: str | None) -> None:
        await self.session.execute(update(_p).where(_p.c.action_id == action_id, _p.c.beneficiary_id == beneficiary_id)
                                   .values(removed_at=at, removal_reason=reason))

    async def set_presence(self, action_id: str, beneficiary_id: str, presence: str) -> None:
        await self.session.execute(update(_p).where(_p.c.action_id == action_id, _p.c.beneficiary_id == beneficiary_id)
                                   .values(presence=presence))


class SqlRegistrations:
    """Which action each imported registration joined."""

    def __init__(self, session: AsyncSession):
        self.session = session

    async def get(self, registration_id: str) -> dict | None:
        row = (await self.session.execute(select(orm.registrations).where(
            orm.registrations.c.registration_id == registration_id))).mappings().first()
        return dict(row) if row else None

    async def put(self, registration_id: str, beneficiary_id: str, action_id: str) -> None:
        if await self.get(registration_id):
            await self.session.execute(update(orm.registrations).where(
                orm.registrations.c.registration_id == registration_id).values(action_id=action_id))
        else:
            await self.session.execute(insert(orm.registrations).values(
                registration_id=registration_id, beneficiary_id=beneficiary_id, action_id=action_id, confirmed=False))

    async def repoint(self, from_action: str, to_action: str) -> None:
        await self.session.execute(update(orm.registrations).where(orm.registrations.c.action_id == from_action)
                                   .values(action_id=to_action))

    async def confirm(self, registration_id: str) -> None:
        await self.session.execute(update(orm.registrations).where(
            orm.registrations.c.registration_id == registration_id).values(confirmed=True))

    async def forget_beneficiary(self, beneficiary_id: str) -> None:
        await self.session.execute(delete(orm.registrations).where(orm.registrations.c.beneficiary_id == beneficiary_id))
        await self.session.execute(delete(orm.participants).where(
            orm.participants.c.beneficiary_id == beneficiary_id, orm.participants.c.removed_at.is_not(None)))

    async def free_slot(self, ods: str, site: str, starts_at) -> str | None:
        """A planned étape-1 action of the ODS at that site and time with a free place."""
        query = (select(_a.c.id).where(_a.c.ods_code == ods, _a.c.site_code == site, _a.c.step_order == 1,
                                       _a.c.starts_at == starts_at, _a.c.status == "planned",
                                       _COUNT < _a.c.max_participants)
                 .order_by(_a.c.to_assign, _a.c.id).limit(1))
        return (await self.session.execute(query)).scalar()
