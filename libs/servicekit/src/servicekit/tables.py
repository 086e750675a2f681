"""Outbox, inbox and dead-letter tables, added to each service's own metadata (and migrations)."""

from dataclasses import dataclass

from sqlalchemy import JSON, Column, DateTime, Index, Integer, MetaData, String, Table, Text


@dataclass(frozen=True)
class KitTables:
    outbox: Table
    inbox: Table
    dead_letters: Table
    aggregate_versions: Table
    event_chain: Table


def add_kit_tables(metadata: MetaData) -> KitTables:
    outbox = Table(
        "outbox", metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("topic", String(200), nullable=False),
        Column("key", String(200), nullable=False),
        Column("type", String(100), nullable=False),
        Column("envelope", JSON, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("published_at", DateTime(timezone=True), nullable=True),
        Index("ix_outbox_unpublished", "published_at", "id"),
    )
    inbox = Table(
        "inbox", metadata,
        Column("event_id", String(36), primary_key=True),
        Column("type", String(100), nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False),
    )
    dead_letters = Table(
        "dead_letters", metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False),
        Column("topic", String(200), nullable=False),
        Column("type", String(100), nullable=False),
        Column("envelope", JSON, nullable=False),
        Column("error", Text, nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("parked_at", DateTime(timezone=True), nullable=False),
        Column("redriven_at", DateTime(timezone=True), nullable=True),
    )
    # The version of each aggregate the service emitted items about (``contracts.base.Item.version``).
    aggregate_versions = Table(
        "aggregate_versions", metadata,
        Column("aggregate", String(40), primary_key=True),
        Column("aggregate_id", String(200), primary_key=True),
        Column("version", Integer, nullable=False),
    )
    # The head of the service's hash chain (OPS-04): the last event's sequence and hash, one row.
    event_chain = Table(
        "event_chain", metadata,
        Column("producer", String(100), primary_key=True),
        Column("sequence", Integer, nullable=False),
        Column("last_hash", String(64), nullable=False),
    )
    return KitTables(outbox, inbox, dead_letters, aggregate_versions, event_chain)


FIRST_KIT_TABLES = ("outbox", "inbox", "dead_letters")


def create_kit_tables(op, names: tuple[str, ...] = FIRST_KIT_TABLES) -> None:
    """Create servicekit's tables ``names`` in a service's Alembic migration, from their one
    definition here. A later change to a kit table is a migration of its own in every service."""
    tables = add_kit_tables(MetaData())
    for name in names:
        getattr(tables, name).create(op.get_bind())


def drop_kit_tables(op, names: tuple[str, ...] = FIRST_KIT_TABLES) -> None:
    for name in reversed(names):
        op.drop_table(name)
