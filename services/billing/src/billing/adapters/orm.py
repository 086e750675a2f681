"""Billing's tables: its own catalogue and legal entities, and its projection of the referential."""

from sqlalchemy import (JSON, Boolean, Column, Date, DateTime, Index, Integer, LargeBinary, MetaData, Numeric, String,
                        Table, Text)

from servicekit.merges import Repoint, add_merges_table
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
    Column("vat_category", String(2), nullable=False, server_default="O"),
    Column("vat_exemption_reason", Text, nullable=False, server_default=""),
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

# The beneficiaries' identity (name, identifiant France Travail) as importer sealed it with each
# person's key: unsealed only to print an invoice; gone with the key when the person is purged.
beneficiaries = Table(
    "beneficiaries", metadata,
    Column("beneficiary_id", String(36), primary_key=True),
    Column("sealed", Text, nullable=False),
)
# One gap-free sequence per legal entity (BIL-05): its row is locked FOR UPDATE only while a number
# is allocated and the issuing transaction commits.
numbering = Table(
    "numbering", metadata,
    Column("legal_entity", String(50), primary_key=True),
    Column("last_sequence", Integer, nullable=False),
)
# Drafts (factures à émettre), issued invoices and credit notes (avoirs).
invoices = Table(
    "invoices", metadata,
    Column("id", String(36), primary_key=True),
    Column("kind", String(12), nullable=False),  # invoice | credit_note
    Column("status", String(12), nullable=False),  # draft | issued | dropped
    Column("enrolment_id", String(36), nullable=False),
    Column("closing", Integer, nullable=False),
    Column("beneficiary_id", String(36), nullable=False),
    Column("ods", String(50), nullable=False),
    Column("resource", String(50), nullable=False),
    Column("site", String(50), nullable=False),
    Column("ods_start", Date, nullable=False),
    Column("ods_end", Date, nullable=False),
    Column("order_number", String(100)),
    Column("outcome", String(20), nullable=False),
    Column("outcome_date", Date, nullable=False),
    Column("closed_on", Date, nullable=False),
    Column("legal_entity", String(50)),
    Column("funder", String(50)),
    Column("tariff_amount", Numeric(12, 2)),
    Column("percentage", Integer, nullable=False),
    Column("amount", Numeric(12, 2)),
    Column("problems", JSON, nullable=False),
    Column("number", String(30), unique=True),
    Column("sequence", Integer),
    Column("issued_on", Date),
    Column("credits", String(36)),  # a credit note: the invoice it cancels
    Column("credited_by", String(36)),  # an invoice: its credit note
    Column("reason", Text),  # a credit note's reason
    Column("to_credit", Text),  # an issued invoice whose journey was reopened: the réouverture's reason
    Column("xml", Text),
    Column("pdf", LargeBinary),
    Column("chorus_status", String(12)),  # pending | deposited | integrated | rejected | written
    Column("chorus_flow", String(50)),
    Column("chorus_reason", Text),
    Column("chorus_attempts", Integer, nullable=False, server_default="0"),
    Column("chorus_at", DateTime(timezone=True)),
    Index("ix_invoices_status", "status", "legal_entity"),
    Index("ix_invoices_enrolment", "enrolment_id"),
)

# BEN-03: when importer merges a doublon, the drafts (factures à émettre) move to the kept record; an
# issued invoice or credit note is never rewritten (its number, XML and PDF are final): it stays as issued.
merges = add_merges_table(metadata)
MERGE_REPOINTS = (Repoint("factures à émettre", invoices, "beneficiary_id",
                          only=lambda t: (t.c.status == "draft") & (t.c.kind == "invoice"),
                          left="factures émises inchangées (jamais réécrites)"),)
