"""Importer's tables. Its projection of the referential: what an import checks rows against."""

from sqlalchemy import Boolean, Column, Date, Integer, MetaData, String, Table, Text

from servicekit.tables import add_kit_tables

metadata = MetaData()
kit = add_kit_tables(metadata)

referential_state = Table(
    "ref_state", metadata,
    Column("id", Integer, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("structure_name", String(200)),
    Column("structure_siret", String(14)),
)
ref_resources = Table(
    "ref_resources", metadata,
    Column("code", String(50), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("antenne_code", String(50), nullable=False),
    Column("market_number", String(100), nullable=False),
    Column("lot_number", String(20), nullable=False),
    Column("ods_code", String(50), nullable=False),
    Column("start", Date, nullable=False),
    Column("end", Date, nullable=False),
    Column("active", Boolean, nullable=False),
)
ref_ods = Table(
    "ref_ods", metadata,
    Column("code", String(50), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("special_service", String(200)),
)
ref_site_addresses = Table(
    "ref_site_addresses", metadata,
    Column("normalised", Text, primary_key=True),
    Column("address", Text, nullable=False),
    Column("site_code", String(50), nullable=False),
    Column("remote", Boolean, nullable=False),
)
