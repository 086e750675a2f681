from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import and_, bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from servicekit.sql import bulk_insert, chunks, one_of

from planning.adapters import orm
from planning.domain.agenda import Action
from planning.domain.registrations import SlotKey

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
        await bulk_insert(self.session, _a, [{"id": a.id, **_columns(a)} for a in actions])

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

    async def participations(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], bool]:
        """Which of these (action, beneficiary) pairs already have a row, and whether it is active."""
        found: dict[tuple[str, str], bool] = {}
        wanted = set(pairs)
        # By action (the index's first column), the pairs matched here: see servicekit.sql.existing_keys.
        for chunk in chunks(sorted(a for a, _ in wanted)):
            rows = await self.session.execute(select(_p.c.action_id, _p.c.beneficiary_id, _p.c.removed_at).where(
                one_of(self.session, _p.c.action_id, chunk)))
            found |= {key: r.removed_at is None for r in rows if (key := (r.action_id, r.beneficiary_id)) in wanted}
        return found

    async def add_participants(self, rows: list[dict]) -> None:
        """New participants' rows (action_id, beneficiary_id, resource_code, ods_code, added_at), at once."""
        await bulk_insert(self.session, _p, [r | {"presence": None, "removed_at": None, "removal_reason": None}
                                             for r in rows])

    async def readd_participants(self, rows: list[dict]) -> None:
        """``add_participant`` for rows that exist (a participant who had left), in one executemany."""
        if rows:
            await self.session.execute(
                update(_p).where(_p.c.action_id == bindparam("key_action"),
                                 _p.c.beneficiary_id == bindparam("key_beneficiary"))
                .values(resource_code=bindparam("new_resource"), ods_code=bindparam("new_ods"),
                        added_at=bindparam("new_added_at"), removed_at=None, removal_reason=None, presence=None),
                [{"key_action": r["action_id"], "key_beneficiary": r["beneficiary_id"],
                  "new_resource": r["resource_code"], "new_ods": r["ods_code"], "new_added_at": r["added_at"]}
                 for r in rows])

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

    async def get_many(self, registration_ids: list[str]) -> dict[str, dict]:
        found: dict[str, dict] = {}
        for chunk in chunks(registration_ids):
            rows = await self.session.execute(select(orm.registrations).where(
                one_of(self.session, orm.registrations.c.registration_id, chunk)))
            found |= {r["registration_id"]: dict(r) for r in rows.mappings()}
        return found

    async def add_many(self, rows: list[dict]) -> None:
        """New registrations (registration_id, beneficiary_id, action_id), not yet confirmed."""
        await bulk_insert(self.session, orm.registrations, [r | {"confirmed": False} for r in rows])

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

    async def slots(self, keys: Iterable[SlotKey]) -> dict[SlotKey, list[Action]]:
        """The planned étape-1 actions at each (ODS, site, start), with their active participants,
        locked until commit: another planning consumer, or a staff member adding a participant
        (``get(lock=True)``), waits, so two transactions never both take a slot's last place."""
        # By start time alone, which ix_actions_step_start serves; a row-value IN over (ODS, site,
        # start) made PostgreSQL scan every action, and the import slowed down as agendas grew.
        wanted = set(keys)
        found: dict[SlotKey, list[Action]] = {}
        # SQLite has no row locks to take: its writers already take turns for the whole transaction.
        locking = self.session.get_bind().dialect.name == "postgresql"
        for chunk in chunks(k[2] for k in wanted):
            planned_at_these_times = (_a.c.step_order == 1, one_of(self.session, _a.c.starts_at, chunk),
                                      _a.c.status == "planned")
            if locking:
                # Locked first (in id order: no deadlock between two batches), counted after: the count
                # then sees the participants of any transaction the lock waited for.
                await self.session.execute(select(_a.c.id).where(*planned_at_these_times).order_by(_a.c.id)
                                           .with_for_update())
            rows = await self.session.execute(
                select(_a, _COUNT.label("participants"))
                .where(*planned_at_these_times)
                .order_by(_a.c.to_assign, _a.c.id))
            for row in rows:
                if (key := (row.ods_code, row.site_code, row.starts_at)) in wanted:
                    found.setdefault(key, []).append(_action(row))
        return found
