"""Importer's tables. Its projection of the referential: what an import checks rows against."""

from sqlalchemy import JSON, Boolean, Column, Date, Index, Integer, MetaData, String, Table, Text

from servicekit.merges import Repoint, add_merges_table
from servicekit.sql import UtcDateTime
from servicekit.tables import add_kit_tables

metadata = MetaData()
kit = add_kit_tables(metadata)
# BEN-03: the merges staff made (the merged record, the kept one, what moved).
merges = add_merges_table(metadata)

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

import_batches = Table(
    "import_batches", metadata,
    Column("id", String(36), primary_key=True),
    Column("file_name", String(300), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("resource_code", String(50), nullable=False),
    Column("user_name", String(200), nullable=False),
    Column("list_kind", String(5), nullable=False),
    Column("mode", String(10), nullable=False),
    Column("status", String(10), nullable=False),  # imported | refused
    Column("imported_at", UtcDateTime, nullable=False),
    Column("counts", JSON, nullable=False),
    Column("messages", JSON, nullable=False),
    Index("ix_import_batches_sha", "sha256", "resource_code"),
)
beneficiaries = Table(
    "beneficiaries", metadata,
    Column("id", String(36), primary_key=True),
    # Identity and contact: nulled when the person is purged (IMP-06, X-04).
    Column("ft_id", String(8), nullable=True, unique=True),
    Column("civility", String(3)),
    Column("last_name", String(200)),
    Column("first_name", String(200)),
    Column("birth_date", Date),
    Column("postcode", String(10)),
    Column("email", String(320)),
    Column("phone", String(20)),
    Column("accepts_email", Boolean, nullable=False, default=True),
    Column("accepts_sms", Boolean, nullable=False, default=True),
    Column("created_by_import", Boolean, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("purge_on", Date, nullable=True),
    Column("purged_at", UtcDateTime, nullable=True),
    # Postal address, entered by staff (BEN-01; the lists give only the postcode): nulled on purge.
    Column("address", Text, nullable=True),
    # Where each consent comes from (BEN-01): "prescription France Travail" (the import) or
    # "personnel" (a correction, by the user id in ``*_consent_by``), and when.
    Column("email_consent_source", String(40), nullable=True),
    Column("email_consent_at", UtcDateTime, nullable=True),
    Column("email_consent_by", String(200), nullable=True),
    Column("sms_consent_source", String(40), nullable=True),
    Column("sms_consent_at", UtcDateTime, nullable=True),
    Column("sms_consent_by", String(200), nullable=True),
    # The identity fields staff corrected (comma-separated): a later list keeps them as corrected.
    Column("corrected_fields", String(200), nullable=True),
    # Merged into another record (BEN-03): inactive, kept for its history; its rows moved to that record.
    Column("merged_into", String(36), nullable=True),
    Column("merged_at", UtcDateTime, nullable=True),
)
# Who changed what on a record, and when (BEN-01). Personal values are stored sealed with the
# person's key (``sealed`` true; unreadable once the key is destroyed), consents in clear.
beneficiary_changes = Table(
    "beneficiary_changes", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("beneficiary_id", String(36), nullable=False, index=True),
    Column("changed_at", UtcDateTime, nullable=False),
    Column("actor", String(200), nullable=False),  # user id (SEC-04), never a name
    Column("field", String(40), nullable=False),
    Column("sealed", Boolean, nullable=False),
    Column("old_value", Text, nullable=True),
    Column("new_value", Text, nullable=True),
)
# BEN-03: each record's blind indexes (keyed hashes of the normalised identifiant and of name, first name
# and birth date; domain.duplicates) that find doublons without comparing clear names. Derived from the
# record with the server's secret (rebuilt when missing), so not state (OPS-04); deleted on purge.
beneficiary_indexes = Table(
    "beneficiary_indexes", metadata,
    Column("beneficiary_id", String(36), primary_key=True),
    Column("ft_id_hash", String(64), nullable=True, index=True),
    Column("identity_hash", String(64), nullable=True, index=True),
)
# The server secret of the blind indexes when PRESTAFLOW_IDENTITY_SECRET is not set: made once.
identity_secret = Table(
    "identity_secret", metadata,
    Column("id", Integer, primary_key=True),
    Column("secret", String(100), nullable=False),
)
beneficiary_keys = Table(
    "beneficiary_keys", metadata,
    Column("beneficiary_id", String(36), primary_key=True),
    Column("key", String(100), nullable=True),  # destroyed (null) on purge
)
enrolments = Table(
    "enrolments", metadata,
    Column("id", String(36), primary_key=True),
    Column("beneficiary_id", String(36), nullable=False, index=True),
    Column("resource_code", String(50), nullable=False),
    Column("ods_code", String(50), nullable=False),
    Column("site_code", String(50), nullable=False),
    Column("order_number", String(100), nullable=True, unique=True),
    Column("prescriber_name", String(200)),
    Column("agency_code", String(20)),
    Column("prescription_date", Date),
    Column("project", String(100), nullable=False),
    Column("virtual_office_access", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)
registrations = Table(
    "registrations", metadata,
    Column("id", String(36), primary_key=True),
    Column("beneficiary_id", String(36), nullable=False, index=True),
    Column("enrolment_id", String(36), nullable=False, unique=True),
    Column("resource_code", String(50), nullable=False),
    Column("site_code", String(50), nullable=False),
    Column("starts_at", UtcDateTime, nullable=False),
    Column("remote", Boolean, nullable=False),
    # registered (J-10) | confirmed | not_confirmed | cancelled
    Column("status", String(15), nullable=False),
    Column("order_number", String(100), nullable=True),
    Column("batch_id", String(36), nullable=False),
    Index("ix_registrations_resource_start", "resource_code", "starts_at"),
)
# Imports under way, by the id their uploader follows them with: written in transactions of their
# own while the import's transaction is still open, so that any replica answers the uploader.
import_progress = Table(
    "import_progress", metadata,
    Column("upload_id", String(100), primary_key=True),
    Column("done", Integer, nullable=False),
    Column("total", Integer, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
# BEN-02: each record's *accord RGPD* (no row: *non demandé*), and the links already used (single use).
gdpr_agreements = Table(
    "gdpr_agreements", metadata,
    Column("beneficiary_id", String(36), primary_key=True),
    Column("status", String(10), nullable=False),  # requested | digital | paper
    Column("requested_at", UtcDateTime, nullable=True),
    Column("agreed_at", UtcDateTime, nullable=True),
    Column("paper_date", Date, nullable=True),
    Column("recorded_by", String(200), nullable=True),  # paper: the staff user id (SEC-04), never a name
)
gdpr_used_links = Table(
    "gdpr_used_links", metadata,
    Column("link_id", String(36), primary_key=True),
    Column("beneficiary_id", String(36), nullable=False, index=True),
    Column("used_at", UtcDateTime, nullable=False),
)
# BEN-03: importer's own rows of a person, moved to the kept record when a doublon is merged into it.
MERGE_REPOINTS = (Repoint("inscriptions (parcours)", enrolments, "beneficiary_id"),
                  Repoint("rendez-vous importés", registrations, "beneficiary_id"))
