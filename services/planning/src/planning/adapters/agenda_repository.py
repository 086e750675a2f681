from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from servicekit.sql import bulk_insert, chunks, one_of, update_rows

from planning.adapters import orm
from planning.domain.agenda import Action, Participant
from planning.domain.registrations import Registration, SlotKey

_a, _p, _r = orm.actions, orm.participants, orm.registrations
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


def _participant(row) -> Participant:
    return Participant(action_id=row.action_id, beneficiary_id=row.beneficiary_id, resource=row.resource_code,
                       ods=row.ods_code, added_at=row.added_at, presence=row.presence, removed_at=row.removed_at,
                       removal_reason=row.removal_reason)


def _participant_columns(p: Participant) -> dict:
    return {"action_id": p.action_id, "beneficiary_id": p.beneficiary_id, "resource_code": p.resource,
            "ods_code": p.ods, "presence": p.presence, "added_at": p.added_at, "removed_at": p.removed_at,
            "removal_reason": p.removal_reason}


def _registration_columns(r: Registration) -> dict:
    return {"registration_id": r.registration_id, "beneficiary_id": r.beneficiary_id, "action_id": r.action_id,
            "confirmed": r.confirmed}


class SqlAgendaRepository:
    """Actions and their participants."""

    def __init__(self, session: AsyncSession):
        self.session = session

    def _select(self):
        return select(_a, _COUNT.label("participants"))

    async def add(self, *actions: Action) -> None:
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

    async def participant(self, action_id: str, beneficiary_id: str) -> Participant | None:
        """The participation of this beneficiary in this action, active or not."""
        row = (await self.session.execute(select(_p).where(
            _p.c.action_id == action_id, _p.c.beneficiary_id == beneficiary_id))).first()
        return _participant(row) if row else None

    async def participants(self, action_id: str) -> list[Participant]:
        """The action's active participants, in the order they joined."""
        rows = await self.session.execute(select(_p).where(_p.c.action_id == action_id, _p.c.removed_at.is_(None))
                                          .order_by(_p.c.added_at, _p.c.beneficiary_id))
        return [_participant(r) for r in rows]

    async def participations(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Participant]:
        """The rows these (action, beneficiary) pairs have, active or not."""
        found: dict[tuple[str, str], Participant] = {}
        wanted = set(pairs)
        # By action (the index's first column), the pairs matched here: see servicekit.sql.existing_keys.
        for chunk in chunks(sorted(a for a, _ in wanted)):
            rows = await self.session.execute(select(_p).where(one_of(self.session, _p.c.action_id, chunk)))
            found |= {key: _participant(r) for r in rows if (key := (r.action_id, r.beneficiary_id)) in wanted}
        return found

    async def save_participants(self, new: Iterable[Participant] = (), changed: Iterable[Participant] = ()) -> None:
        """Insert the ``new`` participations, write the ``changed`` ones back whole."""
        await bulk_insert(self.session, _p, [_participant_columns(p) for p in new])
        await update_rows(self.session, _p, [_participant_columns(p) for p in changed])

    async def remove_participants(self, action_id: str, at: datetime, reason: str | None) -> None:
        """Every active participant leaves the action."""
        await self.session.execute(update(_p).where(_p.c.action_id == action_id, _p.c.removed_at.is_(None))
                                   .values(removed_at=at, removal_reason=reason))


class SqlRegistrations:
    """Which action each imported registration joined."""

    def __init__(self, session: AsyncSession):
        self.session = session

    async def find(self, registration_ids: Iterable[str]) -> dict[str, Registration]:
        found: dict[str, Registration] = {}
        for chunk in chunks(registration_ids):
            rows = await self.session.execute(select(_r).where(one_of(self.session, _r.c.registration_id, chunk)))
            found |= {r.registration_id: Registration(r.registration_id, r.beneficiary_id, r.action_id, r.confirmed)
                      for r in rows}
        return found

    async def save(self, new: Iterable[Registration] = (), changed: Iterable[Registration] = ()) -> None:
        await bulk_insert(self.session, _r, [_registration_columns(r) for r in new])
        await update_rows(self.session, _r, [_registration_columns(r) for r in changed])

    async def repoint(self, from_action: str, to_action: str) -> None:
        await self.session.execute(update(_r).where(_r.c.action_id == from_action).values(action_id=to_action))

    async def confirm(self, registration_ids: Iterable[str]) -> None:
        for chunk in chunks(registration_ids):
            await self.session.execute(update(_r).where(one_of(self.session, _r.c.registration_id, chunk))
                                       .values(confirmed=True))

    async def forget_beneficiaries(self, beneficiary_ids: Iterable[str]) -> None:
        """Their registrations, and the participations they had left (active ones stay as anonymous counts)."""
        for chunk in chunks(beneficiary_ids):
            await self.session.execute(delete(_r).where(one_of(self.session, _r.c.beneficiary_id, chunk)))
            await self.session.execute(delete(_p).where(one_of(self.session, _p.c.beneficiary_id, chunk),
                                                        _p.c.removed_at.is_not(None)))

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
