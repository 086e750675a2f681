"""Planning's tables. Alembic migrations in ``planning/migrations`` are generated from this metadata."""

from sqlalchemy import (JSON, Boolean, Column, Date, DateTime, ForeignKey, Index, Integer, LargeBinary, MetaData,
                        String, Table, Text, UniqueConstraint)

from servicekit.sql import UtcDateTime
from servicekit.merges import Repoint, add_merges_table
from servicekit.tables import add_kit_tables

metadata = MetaData()
kit = add_kit_tables(metadata)

structure = Table(
    "structure", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("siret", String(14), nullable=False),
)
antennes = Table(
    "antennes", metadata,
    Column("code", String(50), primary_key=True),
    Column("name", String(200), nullable=False),
)
sites = Table(
    "sites", metadata,
    Column("code", String(50), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("antenne_code", String(50), ForeignKey("antennes.code"), nullable=False),
    Column("address", Text),
    Column("remote", Boolean, nullable=False, default=False),
    Column("active", Boolean, nullable=False, default=True),
)
site_ft_addresses = Table(
    "site_ft_addresses", metadata,
    Column("site_code", String(50), ForeignKey("sites.code", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("address", Text, nullable=False),
    Column("normalised", Text, nullable=False, unique=True),
)
advisors = Table(
    "advisors", metadata,
    Column("code", String(50), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("email", String(320)),
    Column("remote", Boolean, nullable=False, default=False),
    Column("active", Boolean, nullable=False, default=True),
)
advisor_sites = Table(
    "advisor_sites", metadata,
    Column("advisor_code", String(50), ForeignKey("advisors.code", ondelete="CASCADE"), primary_key=True),
    Column("site_code", String(50), ForeignKey("sites.code"), primary_key=True),
    Column("position", Integer, nullable=False),
)
ods = Table(
    "ods", metadata,
    Column("code", String(50), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("special_service", String(200)),
    Column("duration_days", Integer, nullable=False, server_default="90"),
    # The form's reason lists (PRC-02); null: the reference CRM's defaults.
    Column("bilan_reasons", JSON, nullable=True),
    Column("early_exit_reasons", JSON, nullable=True),
    Column("abandon_reasons", JSON, nullable=True),
)
ods_sites = Table(
    "ods_sites", metadata,
    Column("ods_code", String(50), ForeignKey("ods.code", ondelete="CASCADE"), primary_key=True),
    Column("site_code", String(50), ForeignKey("sites.code"), primary_key=True),
    Column("position", Integer, nullable=False),
)
ods_steps = Table(
    "ods_steps", metadata,
    Column("ods_code", String(50), ForeignKey("ods.code", ondelete="CASCADE"), primary_key=True),
    Column("step_order", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("action_type", String(50), nullable=False),
    Column("duration_min", Integer, nullable=False),
    Column("nature", String(20), nullable=False),
)
resources = Table(
    "resources", metadata,
    Column("code", String(50), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("antenne_code", String(50), ForeignKey("antennes.code"), nullable=False),
    Column("start", Date, nullable=False),
    Column("end", Date, nullable=False),
    Column("market_number", String(100), nullable=False),
    Column("lot_number", String(20), nullable=False),
    # One column, not a link table: the schema itself says a ressource finances exactly one ODS.
    Column("ods_code", String(50), ForeignKey("ods.code"), nullable=False),
    Column("lead_contractor", String(200), nullable=False),
    Column("funder", String(200), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("setting_version", Integer, nullable=False, default=1),
)
referential_versions = Table(
    "referential_versions", metadata,
    Column("version", Integer, primary_key=True),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("snapshot", JSON, nullable=False),
    UniqueConstraint("digest", "version"),
)
actions = Table(
    "actions", metadata,
    Column("id", String(36), primary_key=True),
    Column("advisor_code", String(50), ForeignKey("advisors.code"), nullable=True),
    Column("action_type", String(50), nullable=False),
    Column("ods_code", String(50), ForeignKey("ods.code"), nullable=True),
    Column("step_order", Integer, nullable=True),
    Column("resource_code", String(50), ForeignKey("resources.code"), nullable=True),
    Column("mode", String(10), nullable=False),
    Column("site_code", String(50), ForeignKey("sites.code"), nullable=True),
    Column("starts_at", UtcDateTime, nullable=False),
    Column("ends_at", UtcDateTime, nullable=False),
    Column("nature", String(20), nullable=False),
    Column("max_participants", Integer, nullable=False),
    Column("status", String(10), nullable=False),
    Column("to_assign", Boolean, nullable=False, default=False),
    Column("resource_version", Integer, nullable=True),
    Column("steps_digest", String(200), nullable=True),
    Column("cancel_reason", Text, nullable=True),
    Column("duplicate_of", String(36), nullable=True),
    Index("ix_actions_advisor_start", "advisor_code", "starts_at"),
    Index("ix_actions_step_start", "step_order", "starts_at"),
)
participants = Table(
    "participants", metadata,
    Column("action_id", String(36), ForeignKey("actions.id"), primary_key=True),
    Column("beneficiary_id", String(64), primary_key=True),
    Column("resource_code", String(50), nullable=True),
    Column("ods_code", String(50), nullable=True),
    Column("presence", String(10), nullable=True),
    Column("added_at", UtcDateTime, nullable=False),
    Column("removed_at", UtcDateTime, nullable=True),
    Column("removal_reason", Text, nullable=True),
)
registrations = Table(
    "registrations", metadata,
    # Planning's side of each imported appointment: which action it joined (IMP-05).
    Column("registration_id", String(36), primary_key=True),
    Column("beneficiary_id", String(64), nullable=False, index=True),
    Column("action_id", String(36), ForeignKey("actions.id"), nullable=False),
    Column("confirmed", Boolean, nullable=False, default=False),
)
enrolments = Table(
    "enrolments", metadata,
    # A journey (parcours) per beneficiary x ODS x order: the importer's enrolment id (PRC-01, PRC-11).
    Column("id", String(36), primary_key=True),
    Column("beneficiary_id", String(64), nullable=False, index=True),
    Column("ods_code", String(50), nullable=False),
    Column("resource_code", String(50), nullable=False),
    Column("site_code", String(50), nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("start_on", Date, nullable=False),
    Column("end_on", Date, nullable=False),
    Column("start_edited", Boolean, nullable=False, default=False),
    Column("end_edited", Boolean, nullable=False, default=False),
    # The *prestation spéciale* form (PRC-02).
    Column("form_started", Boolean, nullable=False, default=False),
    Column("order_number", String(100), nullable=True),
    Column("prescriber", String(200), nullable=True),
    Column("agency_code", String(50), nullable=True),
    Column("prestappli_initial_on", Date, nullable=True),
    Column("prestappli_final_on", Date, nullable=True),
    Column("initial_interview_on", Date, nullable=True),
    Column("initial_outcome", String(20), nullable=True),
    Column("outcome_on", Date, nullable=True),
    Column("bilan_reason", String(200), nullable=True),
    Column("bilan_detail", Text, nullable=True),
    Column("early_exit_reason", String(200), nullable=True),
    Column("abandon_reason", String(200), nullable=True),
    # Closing (PRC-07, PRC-10): ``closings`` counts the closings so far; the last one's outcome.
    Column("status", String(10), nullable=False, default="open"),
    Column("closings", Integer, nullable=False, default=0),
    Column("closed_on", Date, nullable=True),
    Column("outcome", String(20), nullable=True),
    Column("awaiting_correction", Boolean, nullable=False, default=False),
    Index("ix_enrolments_status_end", "status", "end_on"),
    Index("ix_enrolments_start", "start_on"),
)
journey_history = Table(
    "journey_history", metadata,
    # What happened to each journey, for its timeline (PRC-09): opened, dates, form, closed, reopened.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("enrolment_id", String(36), ForeignKey("enrolments.id"), nullable=False, index=True),
    Column("beneficiary_id", String(64), nullable=False, index=True),
    Column("at", UtcDateTime, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("detail", JSON, nullable=False),
)
# What managers read about journeys (PRC-04..PRC-06, PRC-09): the beneficiaries' sealed identity, the
# deliverables generated, and planning's own copy of the billing and notify events it consumes.
beneficiary_identities = Table(
    "beneficiary_identities", metadata,
    # Identity as importer sealed it (BeneficiaryRegistered): read with importer's key when shown.
    Column("beneficiary_id", String(64), primary_key=True),
    Column("sealed", Text, nullable=False),
)
deliverables = Table(
    "deliverables", metadata,
    # Each generated PDF, kept: regenerating adds a new number, the earlier file stays (PRC-06).
    Column("id", String(36), primary_key=True),
    Column("enrolment_id", String(36), nullable=False),
    Column("beneficiary_id", String(64), nullable=False, index=True),
    Column("kind", String(20), nullable=False),
    Column("number", Integer, nullable=False),
    Column("generated_at", UtcDateTime, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("content", LargeBinary, nullable=False),
    UniqueConstraint("enrolment_id", "kind", "number"),
)
invoice_events = Table(
    "invoice_events", metadata,
    # Billing's invoice events as planning received them (PRC-04's invoice status, PRC-05 (c), PRC-09).
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("document_id", String(36), nullable=False),
    Column("enrolment_id", String(36), nullable=False, index=True),
    Column("beneficiary_id", String(64), nullable=True, index=True),
    Column("status", String(20), nullable=False),
    Column("number", String(50), nullable=True),
    Column("amount", String(20), nullable=True),
    Column("detail", Text, nullable=True),
    Column("at", UtcDateTime, nullable=False),
)
action_changes = Table(
    "action_changes", metadata,
    # What a change of an action changed (PLN-02), for its participants' timelines (PRC-09).
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("action_id", String(36), ForeignKey("actions.id"), nullable=False, index=True),
    Column("at", UtcDateTime, nullable=False),
    Column("detail", JSON, nullable=False),
)
messages = Table(
    "messages", metadata,
    # Notify's MessageSent / MessageNotSent as planning received them (PRC-09).
    Column("message_id", String(64), primary_key=True),
    Column("beneficiary_id", String(64), nullable=False, index=True),
    Column("registration_id", String(36), nullable=True),
    Column("template", String(100), nullable=False),
    Column("channel", String(10), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("sent", Boolean, nullable=False),
    Column("reason", String(100), nullable=True),
    Column("at", UtcDateTime, nullable=False),
)

# BEN-03: where planning names a beneficiary, re-pointed when importer merges a doublon into a record
# (servicekit.merges). The identity sealed under the merged record's key stays with that record.
merges = add_merges_table(metadata)
MERGE_REPOINTS = (
    Repoint("parcours", enrolments, "beneficiary_id"),
    Repoint("historique des parcours", journey_history, "beneficiary_id"),
    Repoint("rendez-vous importés", registrations, "beneficiary_id"),
    Repoint("participations", participants, "beneficiary_id", unique_with=("action_id",)),
    Repoint("livrables", deliverables, "beneficiary_id"),
    Repoint("factures (suivi)", invoice_events, "beneficiary_id"),
    Repoint("messages (historique)", messages, "beneficiary_id"),
)
