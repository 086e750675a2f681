"""BEN-03: two records found to be one person are merged by importer (``BeneficiariesMerged``); every
service then re-points its own rows from the merged id to the kept one, the same way.

Each service names the columns that hold a beneficiary id (``Repoint``) and keeps a
``beneficiary_merges`` table: one row per merged id, with what the merge changed there, which the
operator reads (``GET /<service>/admin/merges``). The inbox already skips a redelivered event; the
same merge under another event id finds its merged id recorded and moves nothing.

Known limit: an event of another producer naming the merged id that a service reads after it followed
the merge (no order holds between two topics) still writes under the merged id.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ColumnElement, MetaData, String, Table, delete, exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from servicekit.sql import UtcDateTime

MERGES = "beneficiary_merges"


def add_merges_table(metadata: MetaData) -> Table:
    return Table(
        MERGES, metadata,
        Column("merged_id", String(64), primary_key=True),
        Column("kept_id", String(64), nullable=False, index=True),
        Column("merged_at", UtcDateTime, nullable=False),
        Column("changes", JSON, nullable=False),  # label -> rows re-pointed (or left, see Repoint.left)
    )


def create_merges_table(op) -> None:
    """Create the table in a service's Alembic migration, from its one definition here."""
    add_merges_table(MetaData()).create(op.get_bind())


@dataclass(frozen=True)
class Repoint:
    """Rows of ``table`` whose ``column`` names the merged beneficiary move to the kept one.

    ``unique_with``: the other columns of a key the beneficiary id is part of (a participant is one
    per action and person): a merged row whose key the kept person already has is deleted, the
    kept one's row stays. ``unique``: ``column`` alone is the key (a contact per person): the kept
    person's row wins and the merged one's goes, or moves when the kept person has none.
    ``only``: a condition on the rows that may move (billing moves drafts, never issued invoices);
    the rows it leaves are counted under ``left``."""

    label: str
    table: Table
    column: str
    unique_with: tuple[str, ...] = ()
    unique: bool = False
    only: Callable[[Table], ColumnElement[bool]] | None = None
    left: str | None = None


async def repoint(session: AsyncSession, target: Repoint, merged_id: str, kept_id: str) -> dict[str, int]:
    """Move ``target``'s rows; returns how many, by label (clashes dropped and rows left counted apart)."""
    t, col = target.table, target.table.c[target.column]
    mine = [col == merged_id] + ([target.only(t)] if target.only else [])
    changes: dict[str, int] = {}
    if target.unique_with or target.unique:
        other = t.alias("kept_row")
        clash = exists(select(1).select_from(other).where(
            other.c[target.column] == kept_id, *(other.c[c] == t.c[c] for c in target.unique_with)))
        dropped = (await session.execute(delete(t).where(*mine, clash))).rowcount
        if dropped:
            changes[f"{target.label} (doublons retirés)"] = dropped
    moved = (await session.execute(update(t).where(*mine).values({target.column: kept_id}))).rowcount
    if moved:
        changes[target.label] = moved
    if target.left:
        left = len((await session.execute(select(1).select_from(t).where(col == merged_id))).all())
        if left:
            changes[target.left] = left
    return changes


class SqlMerges:
    """What a service did for each merge it followed; ``targets``: where its rows name a beneficiary."""

    def __init__(self, session: AsyncSession, table: Table, targets: Sequence[Repoint] = ()):
        self.session, self.table, self.targets = session, table, targets

    async def known(self, merged_id: str) -> bool:
        return (await self.session.execute(select(self.table.c.merged_id).where(
            self.table.c.merged_id == merged_id))).first() is not None

    async def follow(self, merged_id: str, kept_id: str, at: datetime) -> dict[str, int] | None:
        """Re-point every target's rows of ``merged_id`` to ``kept_id`` and record what moved; None (and
        nothing done) when this merged id was already followed."""
        if await self.known(merged_id):
            return None
        changes: dict[str, int] = {}
        for target in self.targets:
            changes |= await repoint(self.session, target, merged_id, kept_id)
        await self.session.execute(insert(self.table).values(merged_id=merged_id, kept_id=kept_id, merged_at=at,
                                                             changes=changes))
        return changes

    async def listing(self) -> list[dict[str, Any]]:
        rows = await self.session.execute(select(self.table).order_by(self.table.c.merged_at, self.table.c.merged_id))
        return [dict(r) | {"merged_at": r["merged_at"].isoformat()} for r in rows.mappings()]


async def follow_merges(event, uow) -> None:
    """Every service's ``BeneficiariesMerged`` handler: each item's rows re-pointed through ``uow.merges``
    (a ``SqlMerges``), in one transaction."""
    async with uow:
        for item in event.items:
            await uow.merges.follow(item.merged_id, item.kept_id, uow.clock.now())
        await uow.commit()
