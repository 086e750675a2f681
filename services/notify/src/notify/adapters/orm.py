"""Notify's tables: templates and sending rules (contacts and messages come with the notify slice)."""

from sqlalchemy import JSON, Boolean, Column, DateTime, Integer, MetaData, String, Table, Text

from servicekit.tables import add_kit_tables

metadata = MetaData()
kit = add_kit_tables(metadata)

templates = Table(
    "templates", metadata,
    Column("code", String(50), primary_key=True),
    Column("channel", String(10), nullable=False),
    Column("subject", Text),
    Column("body_html", Text),
    Column("body_text", Text),
    Column("active", Boolean, nullable=False),
)
rules = Table(
    "rules", metadata,
    Column("key", String(200), primary_key=True),
    Column("ods_code", String(50), nullable=False),
    Column("confirmation", String(3), nullable=False),
    Column("template_code", String(50), nullable=False),
    Column("delay_days", Integer, nullable=False),
)
setup_versions = Table(
    "setup_versions", metadata,
    Column("version", Integer, primary_key=True),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("snapshot", JSON, nullable=False),
)
