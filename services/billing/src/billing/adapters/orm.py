"""Billing's tables: its own catalogue and legal entities, and its projection of the referential."""

from sqlalchemy import JSON, Boolean, Column, Date, DateTime, Integer, MetaData, Numeric, String, Table, Text

from servicekit.tables import add_kit_tables

metadata = MetaData()
kit = add_kit_tables(metadata)

installation = Table(
    "installation", metadata,
    Column("id", Integer, primary_key=True),
    Column("base_number", String(4)),
)
legal_entities = Table(
    "legal_entities", metadata,
    Column("code", String(50), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("legal_form", String(200)),
    Column("siret", String(14), nullable=False),
    Column("rcs", String(100)),
    Column("naf", String(10)),
    Column("vat_number", String(30)),
    Column("invoice_prefix", String(6), nullable=False, unique=True),
    Column("iban", String(34), nullable=False),
    Column("bic", String(11), nullable=False),
    Column("address", Text),
)
antenne_entities = Table(
    "antenne_entities", metadata,
    Column("antenne_code", String(50), primary_key=True),
    Column("legal_entity_code", String(50), nullable=False),
)
buyers = Table(
    "buyers", metadata,
    Column("code", String(50), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("siret", String(14), nullable=False),
    Column("chorus_service_code", String(100)),
    Column("address", Text),
)
tariffs = Table(
    "tariffs", metadata,
    Column("id", String(300), primary_key=True),
    Column("ods_code", String(50)),
    Column("action_type", String(50)),
    Column("resource_code", String(50), nullable=False),
    Column("funder", String(50), nullable=False),
    Column("site_code", String(50)),
    Column("start", Date, nullable=False),
    Column("end", Date),
    Column("amount_eur", Numeric(12, 2), nullable=False),
    Column("unit", String(20), nullable=False),
    Column("rule", String(30), nullable=False),
    Column("without_quote", Boolean, nullable=False),
)
catalogue_versions = Table(
    "catalogue_versions", metadata,
    Column("version", Integer, primary_key=True),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("snapshot", JSON, nullable=False),
)
referential_state = Table(
    "ref_state", metadata,
    Column("id", Integer, primary_key=True),
    Column("version", Integer, nullable=False),
)
ref_resources = Table(
    "ref_resources", metadata,
    Column("code", String(50), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("antenne_code", String(50), nullable=False),
    Column("ods_code", String(50), nullable=False),
    Column("market_number", String(100), nullable=False),
    Column("lot_number", String(20), nullable=False),
    Column("lead_contractor", String(200), nullable=False),
    Column("funder", String(200), nullable=False),
)
ref_sites = Table(
    "ref_sites", metadata,
    Column("code", String(50), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("antenne_code", String(50), nullable=False),
    Column("address", Text),
)
