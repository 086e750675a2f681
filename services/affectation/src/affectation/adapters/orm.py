"""Affectation's tables: its projection of sites, advisors and ressources (candidates come from it)."""

from sqlalchemy import JSON, Boolean, Column, Integer, MetaData, String, Table, Text

from servicekit.sql import UtcDateTime
from servicekit.merges import Repoint, add_merges_table
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
ref_ods_sites = Table(
    "ref_ods_sites", metadata,
    Column("ods_code", String(50), primary_key=True),
    Column("site_code", String(50), primary_key=True),
)
actions = Table(
    "actions", metadata,
    # Projection of planning's actions: the agendas candidates are read from.
    Column("id", String(36), primary_key=True),
    Column("advisor_code", String(50), nullable=True, index=True),
    Column("action_type", String(50), nullable=False),
    Column("ods_code", String(50)),
    Column("step_order", Integer),
    Column("resource_code", String(50)),
    Column("mode", String(10), nullable=False),
    Column("site_code", String(50)),
    Column("starts_at", UtcDateTime, nullable=False),
    Column("ends_at", UtcDateTime, nullable=False),
    Column("max_participants", Integer, nullable=False),
    Column("to_assign", Boolean, nullable=False),
    Column("status", String(10), nullable=False),
)
participants = Table(
    "participants", metadata,
    Column("action_id", String(36), primary_key=True),
    Column("beneficiary_id", String(64), primary_key=True),
)
beneficiaries = Table(
    "beneficiaries", metadata,
    # Names stay sealed (readable with importer's key, unreadable once the person is purged).
    Column("id", String(36), primary_key=True),
    Column("sealed", Text, nullable=False),
)
worklist = Table(
    "worklist", metadata,
    Column("action_id", String(36), primary_key=True),
    Column("status", String(10), nullable=False),  # open | pending | assigned | closed
    Column("assignment_id", String(36), nullable=True),
    Column("refusal", JSON, nullable=True),
)
assignments = Table(
    "assignments", metadata,
    Column("id", String(36), primary_key=True),
    Column("action_id", String(36), nullable=False, index=True),
    Column("advisor_code", String(50), nullable=False),
    Column("category", Integer, nullable=False),
    Column("effect", String(10), nullable=False),
    Column("target_action_id", String(36)),
    Column("site_code", String(50)),
    Column("assigned_by", String(200), nullable=False),
    Column("assigned_at", UtcDateTime, nullable=False),
    Column("outcome", String(10), nullable=False),  # pending | applied | refused
)

# BEN-03: where affectation names a beneficiary (the appointments to assign and assigned), re-pointed when
# importer merges a doublon (servicekit.merges); the names sealed under the merged record's key stay with it.
merges = add_merges_table(metadata)
MERGE_REPOINTS = (Repoint("participants des rendez-vous (affectations)", participants, "beneficiary_id",
                          unique_with=("action_id",)),)
