"""Notify's tables: templates and rules, its projections (contacts, appointments, actions), messages."""

from sqlalchemy import JSON, Boolean, Column, DateTime, Index, Integer, MetaData, String, Table, Text

from servicekit.sql import UtcDateTime
from servicekit.merges import Repoint, add_merges_table
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

# --- Projections built from events (only what messages need) ---------------------------------

# Contact projection from BeneficiaryRegistered; deleted on purge. The event's sealed identity is kept
# as received (``sealed``, unreadable without importer's key) until the postman unseals it with the key
# importer serves, keeps the few fields messages need in clear, and drops the sealed copy.
contacts = Table(
    "contacts", metadata,
    Column("beneficiary_id", String(36), primary_key=True),
    Column("sealed", Text),
    Column("civility", String(10)),
    Column("first_name", String(200)),
    Column("last_name", String(200)),
    Column("email", String(320)),
    Column("phone", String(40)),
    Column("accepts_email", Boolean, nullable=False),
    Column("accepts_sms", Boolean, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
# Virtual-office (MBV) logins, recorded through the API (NOT-04, J-7 reminder).
logins = Table(
    "virtual_office_logins", metadata,
    Column("beneficiary_id", String(36), primary_key=True),
    Column("first_at", UtcDateTime, nullable=False),
    Column("last_at", UtcDateTime, nullable=False),
    Column("count", Integer, nullable=False),
)
# Appointments (importer's registrations), linked to planning's action once known.
appointments = Table(
    "appointments", metadata,
    Column("registration_id", String(36), primary_key=True),
    Column("beneficiary_id", String(36), nullable=False, index=True),
    Column("enrolment_id", String(36), nullable=False),
    Column("ods", String(50), nullable=False),
    Column("resource", String(50), nullable=False),
    Column("site", String(50), nullable=False),
    Column("starts_at", UtcDateTime, nullable=False),
    Column("remote", Boolean, nullable=False),
    Column("order_number", String(100)),
    Column("status", String(15), nullable=False),  # registered | confirmed | not_confirmed
    Column("cancelled", Boolean, nullable=False),  # désinscrit, or its action was cancelled
    Column("action_id", String(36), index=True),
    Column("recorded_at", UtcDateTime, nullable=False),
)
actions = Table(
    "actions", metadata,
    Column("action_id", String(36), primary_key=True),
    Column("site", String(50)),
    Column("starts_at", UtcDateTime, nullable=False),
    Column("ends_at", UtcDateTime, nullable=False),
    Column("mode", String(10), nullable=False),
    Column("cancelled", Boolean, nullable=False),
)
participations = Table(
    "participations", metadata,
    Column("action_id", String(36), primary_key=True),
    # Indexed on its own: each ParticipantAdded event reads its people's participations.
    Column("beneficiary_id", String(36), primary_key=True, index=True),
    Column("removed", Boolean, nullable=False),
)
# Planning's referential as messages show it: structure name, sites' names and addresses, ODS names.
referential = Table(
    "referential", metadata,
    Column("id", Integer, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("snapshot", JSON, nullable=False),
)

# --- Messages and their delivery log (NOT-02..NOT-06) ------------------------------------------

messages = Table(
    "messages", metadata,
    Column("id", String(36), primary_key=True),
    # recipient × rule × appointment: the same fact delivered twice finds this row (NOT-06)
    Column("dedup_key", String(300), nullable=False, unique=True),
    Column("beneficiary_id", String(36), nullable=False, index=True),
    Column("registration_id", String(36), index=True),
    Column("kind", String(10), nullable=False),  # rule | system | manual
    Column("purpose", String(20), nullable=False),  # rule | mbv_access | mbv_reminder | gdpr
    Column("rule_key", String(200)),
    Column("delay_days", Integer),
    Column("template_code", String(50), nullable=False, index=True),
    Column("channel", String(10), nullable=False),
    Column("status", String(10), nullable=False),  # scheduled | sending | sent | not_sent | cancelled | manual
    Column("due_at", UtcDateTime, nullable=False),
    Column("next_attempt_at", UtcDateTime),
    # Set while a sender holds the message, and kept on a final one until its outcome is announced
    # (MessageSent / MessageNotSent at the end of the postman's turn).
    Column("claimed_at", UtcDateTime),
    Column("attempts", Integer, nullable=False),
    Column("reason_code", String(40)),
    Column("reason", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime),
    # What was sent (personal data: emptied when the person is purged).
    Column("recipient", String(320)),
    Column("subject", Text),
    Column("body_text", Text),
    Column("body_html", Text),
    Index("ix_messages_due", "status", "due_at"),
)
delivery_attempts = Table(
    "delivery_attempts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(36), nullable=False, index=True),
    Column("attempt", Integer, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("outcome", String(10), nullable=False),  # sent | temporary | permanent | invalid
    Column("answer", Text),  # the server's or provider's answer, as given
)

# BEN-03: where notify names a beneficiary, re-pointed when importer merges a doublon (servicekit.merges).
# The kept record's contact and logins win; the merged one's move only where the kept record has none.
merges = add_merges_table(metadata)
MERGE_REPOINTS = (
    Repoint("contact", contacts, "beneficiary_id", unique=True),
    Repoint("connexions Mon Bureau Virtuel", logins, "beneficiary_id", unique=True),
    Repoint("rendez-vous", appointments, "beneficiary_id"),
    Repoint("participations", participations, "beneficiary_id", unique_with=("action_id",)),
    Repoint("messages", messages, "beneficiary_id"),
)
