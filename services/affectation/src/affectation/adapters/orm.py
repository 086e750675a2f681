"""Affectation's tables: its projection of sites, advisors and ressources (candidates come from it)."""

from sqlalchemy import Boolean, Column, Integer, MetaData, String, Table

from servicekit.tables import add_kit_tables

metadata = MetaData()
kit = add_kit_tables(metadata)

referential_state = Table(
    "ref_state", metadata,
    Column("id", Integer, primary_key=True),
    Column("version", Integer, nullable=False),
)
ref_sites = Table(
    "ref_sites", metadata,
    Column("code", String(50), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("antenne_code", String(50), nullable=False),
    Column("remote", Boolean, nullable=False),
    Column("active", Boolean, nullable=False),
)
ref_advisors = Table(
    "ref_advisors", metadata,
    Column("code", String(50), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("remote", Boolean, nullable=False),
    Column("active", Boolean, nullable=False),
)
ref_advisor_sites = Table(
    "ref_advisor_sites", metadata,
    Column("advisor_code", String(50), primary_key=True),
    Column("site_code", String(50), primary_key=True),
)
ref_resources = Table(
    "ref_resources", metadata,
    Column("code", String(50), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("antenne_code", String(50), nullable=False),
    Column("ods_code", String(50), nullable=False),
    Column("active", Boolean, nullable=False),
)
