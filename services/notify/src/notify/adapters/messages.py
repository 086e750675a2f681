"""Messages and their delivery attempts."""

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from servicekit.sql import bulk_insert, chunks, one_of, update_rows

from notify.adapters import orm
from notify.adapters.projections import IN_CHUNK, all_in

_m, _a = orm.messages, orm.delivery_attempts
PERSONAL = ("recipient", "subject", "body_text", "body_html")
FINAL = ("sent", "not_sent", "cancelled", "manual")  # outcomes the postman announces


class SqlMessages:
    def __init__(self, session: AsyncSession):
        self.session = session
        self.added_due: list[datetime] = []  # due times of messages added in this transaction

    async def _one(self, query) -> dict[str, Any] | None:
        row = (await self.session.execute(query)).mappings().first()
        return dict(row) if row else None

    async def _all(self, query) -> list[dict[str, Any]]:
        return [dict(r) for r in (await self.session.execute(query)).mappings()]

    async def get(self, message_id: str, lock: bool = False) -> dict[str, Any] | None:
        query = select(_m).where(_m.c.id == message_id)
        return await self._one(query.with_for_update() if lock else query)

    async def by_key(self, dedup_key: str) -> dict[str, Any] | None:
        return await self._one(select(_m).where(_m.c.dedup_key == dedup_key))

    async def add(self, row: dict[str, Any]) -> bool:
        """Insert unless a message with the same recipient × rule × appointment exists; True if added.

        One statement (``INSERT … ON CONFLICT DO NOTHING`` on the unique key): two consumers racing
        on the same fact cannot both add it."""
        dialect = self.session.get_bind().dialect.name
        statement = (postgresql.insert(_m) if dialect == "postgresql" else sqlite.insert(_m)).values(**row)
        result = await self.session.execute(statement.on_conflict_do_nothing(index_elements=["dedup_key"]))
        if result.rowcount != 1:
            return False
        self.added_due.append(row["due_at"])
        return True

    async def insert(self, rows: Sequence[dict[str, Any]]) -> None:
        """New messages, none of whose recipient × rule × appointment has one yet (the caller read
        them): one bulk insert. A command adding the same key meanwhile makes it fail on the unique
        key, and the event is tried again."""
        await bulk_insert(self.session, _m, rows)
        self.added_due += [r["due_at"] for r in rows]

    async def update(self, message_id: str, **values: Any) -> None:
        await self.session.execute(update(_m).where(_m.c.id == message_id).values(**values))

    async def change(self, rows: Sequence[dict[str, Any]]) -> None:
        """Each row: the message ``id`` and the new values of the columns it names."""
        await update_rows(self.session, _m, rows)

    async def of_registrations(self, registration_ids: Iterable[str]) -> list[dict[str, Any]]:
        """These appointments' messages, oldest first."""
        return await all_in(self.session, select(_m).order_by(_m.c.created_at, _m.c.id), _m.c.registration_id,
                            registration_ids)

    async def with_keys(self, dedup_keys: Iterable[str]) -> list[dict[str, Any]]:
        return await all_in(self.session, select(_m), _m.c.dedup_key, dedup_keys)

    async def pending_of(self, beneficiary_ids: Iterable[str], statuses: Sequence[str]) -> list[dict[str, Any]]:
        """These people's messages in these statuses, oldest first."""
        return await all_in(self.session, select(_m).where(_m.c.status.in_(statuses)).order_by(_m.c.created_at, _m.c.id),
                            _m.c.beneficiary_id, beneficiary_ids)

    async def of_beneficiary(self, beneficiary_id: str) -> list[dict[str, Any]]:
        return await self._all(select(_m).where(_m.c.beneficiary_id == beneficiary_id)
                               .order_by(_m.c.due_at, _m.c.id))

    async def listing(self, statuses: Sequence[str] = (), beneficiary_id: str | None = None,
                      due_before: datetime | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        query = select(_m)
        if statuses:
            query = query.where(_m.c.status.in_(statuses))
        if beneficiary_id:
            query = query.where(_m.c.beneficiary_id == beneficiary_id)
        if due_before:
            query = query.where(_m.c.due_at <= due_before)
        return await self._all(query.order_by(_m.c.due_at, _m.c.id).limit(limit))

    async def due(self, now: datetime, limit: int) -> list[dict[str, Any]]:
        """Scheduled messages whose time has come (and whose back-off, if any, is over): id and recipient."""
        rows = await self.session.execute(select(_m.c.id, _m.c.beneficiary_id).where(
            _m.c.status == "scheduled", _m.c.due_at <= now,
            or_(_m.c.next_attempt_at.is_(None), _m.c.next_attempt_at <= now))
            .order_by(_m.c.due_at, _m.c.id).limit(limit))
        return [dict(r) for r in rows.mappings()]

    async def claim(self, message_id: str, now: datetime) -> bool:
        """Take a scheduled message for sending; False if another sender took it first."""
        result = await self.session.execute(update(_m).where(_m.c.id == message_id, _m.c.status == "scheduled")
                                            .values(status="sending", claimed_at=now, updated_at=now))
        return result.rowcount == 1

    async def stale_claims(self, before: datetime) -> list[dict[str, Any]]:
        return await self._all(select(_m).where(_m.c.status == "sending", _m.c.claimed_at < before))

    async def add_attempt(self, message_id: str, attempt: int, at: datetime, outcome: str, answer: str | None,
                          row_id: int | None = None) -> None:
        """``row_id``: the row's place in the log as announced (an audit replay's), else the next one."""
        await self.session.execute(insert(_a).values(message_id=message_id, attempt=attempt, at=at, outcome=outcome,
                                                     answer=answer, **({"id": row_id} if row_id is not None else {})))

    async def attempts(self, message_id: str) -> list[dict[str, Any]]:
        return await self._all(select(_a).where(_a.c.message_id == message_id).order_by(_a.c.id))

    async def attempts_of(self, message_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {m: [] for m in message_ids}
        if message_ids:
            for row in await self._all(select(_a).where(one_of(self.session, _a.c.message_id, message_ids))
                                       .order_by(_a.c.id)):
                out[row["message_id"]].append(row)
        return out

    async def template_usage(self) -> dict[str, int]:
        """Messages per template: a template used in a sending cannot be deleted (NOT-01)."""
        rows = await self.session.execute(select(_m.c.template_code, func.count()).group_by(_m.c.template_code))
        return {code: n for code, n in rows.all()}

    async def forget_beneficiaries(self, beneficiary_ids: Collection[str], now: datetime) -> list[dict[str, Any]]:
        """Empty what was sent to these people and the servers' answers; returns their messages still
        pending, oldest first."""
        pending: list[dict[str, Any]] = []
        for part in chunks(beneficiary_ids, IN_CHUNK):
            theirs = one_of(self.session, _m.c.beneficiary_id, part)
            await self.session.execute(update(_a).where(_a.c.message_id.in_(select(_m.c.id).where(theirs)))
                                       .values(answer=None))
            await self.session.execute(update(_m).where(theirs).values(**dict.fromkeys(PERSONAL), updated_at=now))
            pending += await self._all(select(_m).where(theirs, _m.c.status.in_(("scheduled", "manual", "sending")))
                                       .order_by(_m.c.created_at, _m.c.id))
        return pending

    async def ids_of(self, beneficiary_ids: Collection[str]) -> list[str]:
        """Every message of these people."""
        ids: list[str] = []
        for part in chunks(beneficiary_ids, IN_CHUNK):
            ids += (await self.session.execute(select(_m.c.id).where(one_of(self.session, _m.c.beneficiary_id, part))
                                               )).scalars().all()
        return ids

    async def outcomes_to_announce(self) -> list[dict[str, Any]]:
        """Messages whose outcome the postman recorded but did not announce yet (``claimed_at`` is
        kept until then), taken: a second postman does not get them. In the order they were sent."""
        taken = await self.session.execute(
            update(_m).where(_m.c.claimed_at.is_not(None), _m.c.status.in_(FINAL)).values(claimed_at=None)
            .returning(_m.c.id, _m.c.beneficiary_id, _m.c.registration_id, _m.c.template_code, _m.c.channel,
                       _m.c.kind, _m.c.status, _m.c.reason_code, _m.c.reason, _m.c.attempts, _m.c.due_at,
                       _m.c.updated_at, _m.c.sent_at))
        return sorted((dict(r) for r in taken.mappings()), key=lambda m: (m["due_at"], m["id"]))
