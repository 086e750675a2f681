"""Events produced by the import service (the source of beneficiaries' identity).

Personal data never travels in clear: ``sealed`` fields are encrypted with the beneficiary's own
key, which importer keeps and destroys on purge (crypto-shredding, X-04).
"""

from datetime import date
from typing import Literal

from pydantic import AwareDatetime, Field

from contracts.base import Contract, Event, Item, ListEvent, items_field

PRODUCER = "importer"
ListKind = Literal["J-10", "J-2"]


class ImportCounts(Contract):
    read: int = Field(ge=0, description="Rows read.", examples=[4])
    created: int = Field(ge=0, description="Beneficiaries created.", examples=[3])
    updated: int = Field(ge=0, description="Registrations changed (new time, order number, contact).", examples=[1])
    unchanged: int = Field(ge=0, description="Rows already imported as they are.", examples=[0])
    confirmed: int = Field(ge=0, description="Participants confirmed (J-2 with an order number).", examples=[3])
    not_confirmed: int = Field(ge=0, description="Participants not confirmed at J-2.", examples=[1])
    cancelled: int = Field(ge=0, description="Désinscrit rows applied.", examples=[0])
    skipped: int = Field(ge=0, description="Rows of another provider (SIRET), never imported.", examples=[0])
    errors: int = Field(ge=0, description="Rows refused.", examples=[0])


class ImportMessage(Contract):
    row: int | None = Field(description="Row of the list (none: about the whole file).", examples=[12])
    field: str | None = Field(description="Column concerned, if any.", examples=["Date de prescription"])
    message: str = Field(description="The message, in French.", examples=["date illisible"])


class InscritsImported(Event):
    """One Prest@ppli list was imported (IMP-08)."""

    event_type = "InscritsImported"
    producer = PRODUCER

    batch_id: str = Field(description="Import batch id.")
    file_name: str = Field(description="Name of the uploaded file.", examples=["liste_inscrits_J-10.csv"])
    sha256: str = Field(description="SHA-256 of the file.")
    resource: str = Field(description="Ressource chosen for the import.", examples=["ACR2025-L12"])
    list_kind: ListKind = Field(description="J-10 (temporary) or J-2 (validated) list.", examples=["J-10"])
    counts: ImportCounts = Field(description="What the import did.")
    # The rest of the import's history row, from which an audit replay restores it (OPS-04); absent
    # from events written before.
    mode: Literal["strict", "partial"] | None = Field(
        default=None, description="Strict (any bad row refuses the list) or partial (bad rows skipped).",
        examples=["strict"])
    messages: tuple[ImportMessage, ...] | None = Field(
        default=None, description="The messages kept in the import's history (the rows refused in a partial import).")


class BeneficiaryRegisteredFields(Contract):
    beneficiary_id: str = Field(description="Beneficiary id.", examples=["b-6f1c2d"])
    sealed: str = Field(description="Identity and contact (civilité, names, birth date, IDE, e-mail, phone), "
                                    "encrypted with the beneficiary's key (Fernet).")
    accepts_email: bool = Field(description="Accepte d'être contacté par mail.", examples=[True])
    accepts_sms: bool = Field(description="Accepte d'être contacté par SMS.", examples=[True])


class BeneficiaryRegisteredItem(BeneficiaryRegisteredFields, Item):
    aggregate = "beneficiary"
    aggregate_field = "beneficiary_id"


class BeneficiaryRegistered(ListEvent):
    """A beneficiary's record was created or its identity/contact changed."""

    event_type = "BeneficiaryRegistered"
    event_version = 2
    producer = PRODUCER

    items: tuple[BeneficiaryRegisteredItem, ...] = items_field("The records created or changed")


class Consent(Contract):
    """One channel's consent (*accepte d'être contacté par mail / SMS*) and where it comes from."""

    accepted: bool = Field(description="Whether the person accepts contact on this channel.", examples=[False])
    source: str | None = Field(max_length=40, description=(
        "Who gave or withdrew it: « prescription France Travail » (the import) or « personnel » (staff's "
        "correction), other sources may come (the person); None for a record that predates the recording "
        "of sources and was not imported."), examples=["personnel"])
    at: AwareDatetime | None = Field(description="When it was given or withdrawn.")
    by: str | None = Field(default=None, description="User id of the staff member who changed it (never a name).",
                           examples=["cdurand"])


class BeneficiaryCorrectedItem(Item):
    aggregate = "beneficiary"
    aggregate_field = "beneficiary_id"

    beneficiary_id: str = Field(description="Beneficiary id.", examples=["b-6f1c2d"])
    sealed: str = Field(description=(
        "The whole identity and contact after the correction, in the form BeneficiaryRegistered seals "
        "it (civilité, names, birth date, IDE, postcode, e-mail, phone, postal address), encrypted with "
        "the beneficiary's key (Fernet): a consumer replaces its copy with it."))
    changed: tuple[str, ...] = Field(description="Names of the fields the correction changed (no values).",
                                     examples=[["email", "accepts_email"]])
    email: Consent = Field(description="Accepte d'être contacté par mail, with its source and date.")
    sms: Consent = Field(description="Accepte d'être contacté par SMS, with its source and date.")


class BeneficiaryCorrected(ListEvent):
    """Staff corrected records (BEN-01): identity, contact or consents. A withdrawn consent stops
    that channel at once (notify cancels the messages not sent yet)."""

    event_type = "BeneficiaryCorrected"
    producer = PRODUCER

    items: tuple[BeneficiaryCorrectedItem, ...] = items_field("The records corrected")


class RegistrationRecordedFields(Contract):
    registration_id: str = Field(description="Registration id (one diagnostic appointment of an enrolment).")
    beneficiary_id: str = Field(description="Beneficiary id.")
    enrolment_id: str = Field(description="ODS enrolment (parcours) id.")
    resource: str = Field(description="Ressource.", examples=["ACR2025-L12"])
    ods: str = Field(description="ODS the ressource finances.", examples=["ACR2025"])
    site: str = Field(description="Site recognised from the list's address.", examples=["ARM"])
    starts_at: AwareDatetime = Field(description="Appointment start.")
    remote: bool = Field(description="100 % à distance.", examples=[False])
    order_number: str | None = Field(description="N° de commande, once France Travail validated it.",
                                     examples=["BDC-2025-000101"])
    list_kind: ListKind = Field(description="List it came from.")
    moved_from: AwareDatetime | None = Field(default=None, description="Previous start, when the list moved it.")
    prescriber: str | None = Field(default=None, description=(
        "Conseiller référent France Travail (column U without the agency code)."), examples=["MARTIN Paul"])
    agency_code: str | None = Field(default=None, description="Code de l'agence France Travail (column U).",
                                    examples=["59123"])
    prescription_date: date | None = Field(default=None, description="Date de prescription (absent from events "
                                           "written before it was added).", examples=["2025-01-02"])


class RegistrationRecordedItem(RegistrationRecordedFields, Item):
    aggregate = "registration"
    aggregate_field = "registration_id"


class RegistrationRecorded(ListEvent):
    """An appointment from a Prest@ppli list, to attach to a diagnostic slot (IMP-05)."""

    event_type = "RegistrationRecorded"
    event_version = 2
    producer = PRODUCER

    items: tuple[RegistrationRecordedItem, ...] = items_field("The appointments recorded")


class ParticipantConfirmedFields(Contract):
    registration_id: str = Field(description="Registration id.")
    beneficiary_id: str = Field(description="Beneficiary id.")
    enrolment_id: str = Field(description="Enrolment id.")
    order_number: str = Field(description="N° de commande.", examples=["BDC-2025-000101"])
    starts_at: AwareDatetime = Field(description="Appointment start.")
    # The order's details the J-2 list gave the enrolment, from which an audit replay restores it
    # (OPS-04); absent from events written before.
    prescriber: str | None = Field(default=None, description="Conseiller référent France Travail.",
                                   examples=["MARTIN Paul"])
    agency_code: str | None = Field(default=None, description="Code de l'agence France Travail.", examples=["59123"])
    prescription_date: date | None = Field(default=None, description="Date de prescription.",
                                           examples=["2025-01-02"])


class ParticipantConfirmedItem(ParticipantConfirmedFields, Item):
    aggregate = "registration"
    aggregate_field = "registration_id"


class ParticipantConfirmed(ListEvent):
    """The J-2 list has the appointment with an order number (IMP-06)."""

    event_type = "ParticipantConfirmed"
    event_version = 2
    producer = PRODUCER

    items: tuple[ParticipantConfirmedItem, ...] = items_field("The appointments confirmed")


class ParticipantNotConfirmedFields(Contract):
    registration_id: str = Field(description="Registration id.")
    beneficiary_id: str = Field(description="Beneficiary id.")
    enrolment_id: str = Field(description="Enrolment id.")
    starts_at: AwareDatetime = Field(description="Appointment start.")
    reason: Literal["absent_from_j2", "no_order_number"] = Field(description="Why.", examples=["no_order_number"])


class ParticipantNotConfirmedItem(ParticipantNotConfirmedFields, Item):
    aggregate = "registration"
    aggregate_field = "registration_id"


class ParticipantNotConfirmed(ListEvent):
    """Imported at J-10, but missing from the J-2 list or without an order number there (IMP-06)."""

    event_type = "ParticipantNotConfirmed"
    event_version = 2
    producer = PRODUCER

    items: tuple[ParticipantNotConfirmedItem, ...] = items_field("The appointments not confirmed")


class RegistrationCancelledFields(Contract):
    registration_id: str = Field(description="Registration id.")
    beneficiary_id: str = Field(description="Beneficiary id.")
    starts_at: AwareDatetime = Field(description="Appointment start.")


class RegistrationCancelledItem(RegistrationCancelledFields, Item):
    aggregate = "registration"
    aggregate_field = "registration_id"


class RegistrationCancelled(ListEvent):
    """A Désinscrit row cancelled an earlier registration."""

    event_type = "RegistrationCancelled"
    event_version = 2
    producer = PRODUCER

    items: tuple[RegistrationCancelledItem, ...] = items_field("The registrations cancelled")


class BeneficiaryDeactivatedFields(Contract):
    beneficiary_id: str = Field(description="Beneficiary id.")
    purge_on: date = Field(description="Day the record and everything identifying the person is deleted.")


class BeneficiaryDeactivatedItem(BeneficiaryDeactivatedFields, Item):
    aggregate = "beneficiary"
    aggregate_field = "beneficiary_id"


class BeneficiaryDeactivated(ListEvent):
    """A record created by an import whose appointment was not confirmed; purged on ``purge_on``."""

    event_type = "BeneficiaryDeactivated"
    event_version = 2
    producer = PRODUCER

    items: tuple[BeneficiaryDeactivatedItem, ...] = items_field("The records deactivated")


class BeneficiaryPurgedFields(Contract):
    beneficiary_id: str = Field(description="Beneficiary id (an id, no longer linked to anybody).")


class BeneficiaryPurgedItem(BeneficiaryPurgedFields, Item):
    aggregate = "beneficiary"
    aggregate_field = "beneficiary_id"


class BeneficiaryPurged(ListEvent):
    """Every copy of this person's data must go; the key of the sealed fields is destroyed (X-04)."""

    event_type = "BeneficiaryPurged"
    event_version = 2
    producer = PRODUCER

    items: tuple[BeneficiaryPurgedItem, ...] = items_field("The records purged")



GdprAgreementForm = Literal["digital", "paper"]
GdprRequestSource = Literal["mail", "staff"]


class GdprAgreementRequestedItem(Item):
    aggregate = "beneficiary"
    aggregate_field = "beneficiary_id"

    beneficiary_id: str = Field(description="Beneficiary id.", examples=["b-6f1c2d"])
    requested_at: AwareDatetime = Field(description="When the agreement was asked for (status *demandé*).",
                                        examples=["2025-01-15T10:00:00Z"])
    source: GdprRequestSource = Field(description=(
        "mail: notify is sending the GDPR mail (NOT-05) and took its personal link; staff: a person asked "
        "to send the request again, notify sends the GDPR mail."), examples=["mail"])


class GdprAgreementRequested(ListEvent):
    """BEN-02: the *accord RGPD* was asked for (status *demandé*). The personal link itself never
    travels on the bus: notify takes it from importer when it sends the mail."""

    event_type = "GdprAgreementRequested"
    producer = PRODUCER

    items: tuple[GdprAgreementRequestedItem, ...] = items_field("The agreements asked for")


class GdprAgreementRecordedItem(Item):
    aggregate = "beneficiary"
    aggregate_field = "beneficiary_id"

    beneficiary_id: str = Field(description="Beneficiary id.", examples=["b-6f1c2d"])
    form: GdprAgreementForm = Field(description=(
        "digital: *accord numérique*, the person opened the personal link of the GDPR mail; paper: "
        "*accord papier*, entered by staff (the envelope's actor)."), examples=["digital"])
    agreed_at: AwareDatetime = Field(description="When the agreement was given (digital) or entered (paper).",
                                     examples=["2025-01-16T18:30:00Z"])
    paper_date: date | None = Field(default=None, description="Paper: the date written on the signed form, "
                                    "when staff gave it.", examples=["2025-01-15"])
    link_id: str | None = Field(default=None, description="Digital: the id of the link used (single use); "
                                "never the link itself.", examples=["0b7c6f0e-3f5d-4d7e-9b35-5a1f0c2e9d41"])


class GdprAgreementRecorded(ListEvent):
    """BEN-02: the *accord RGPD* was recorded (*accord numérique* or *accord papier*)."""

    event_type = "GdprAgreementRecorded"
    producer = PRODUCER

    items: tuple[GdprAgreementRecordedItem, ...] = items_field("The agreements recorded")


class BeneficiaryMergedItem(Item):
    aggregate = "beneficiary"
    aggregate_field = "merged_id"

    kept_id: str = Field(description="The record that stays: every service re-points the merged one's rows to it.",
                         examples=["b-6f1c2d"])
    merged_id: str = Field(description="The record merged into the kept one: inactive from now on, never "
                                       "used again for a new row.", examples=["b-91a7e0"])


class BeneficiariesMerged(ListEvent):
    """Staff merged records found to be one person (BEN-03, *doublons*): each service moves what it keeps
    of ``merged_id`` (enrolments, participations, assignments, contacts, messages, draft invoices) to
    ``kept_id``; issued invoices are never rewritten."""

    event_type = "BeneficiariesMerged"
    producer = PRODUCER

    items: tuple[BeneficiaryMergedItem, ...] = items_field("The merges")

# First versions: one aggregate per event. Kept for their published schemas and upcast on reading.

class BeneficiaryRegisteredV1(BeneficiaryRegisteredFields, Event):
    """A beneficiary's record was created or its identity/contact changed."""

    event_type = "BeneficiaryRegistered"
    producer = PRODUCER


class RegistrationRecordedV1(RegistrationRecordedFields, Event):
    """An appointment from a Prest@ppli list, to attach to a diagnostic slot (IMP-05)."""

    event_type = "RegistrationRecorded"
    producer = PRODUCER


class ParticipantConfirmedV1(ParticipantConfirmedFields, Event):
    """The J-2 list has the appointment with an order number (IMP-06)."""

    event_type = "ParticipantConfirmed"
    producer = PRODUCER


class ParticipantNotConfirmedV1(ParticipantNotConfirmedFields, Event):
    """Imported at J-10, but missing from the J-2 list or without an order number there (IMP-06)."""

    event_type = "ParticipantNotConfirmed"
    producer = PRODUCER


class RegistrationCancelledV1(RegistrationCancelledFields, Event):
    """A Désinscrit row cancelled an earlier registration."""

    event_type = "RegistrationCancelled"
    producer = PRODUCER


class BeneficiaryDeactivatedV1(BeneficiaryDeactivatedFields, Event):
    """A record created by an import whose appointment was not confirmed; purged on ``purge_on``."""

    event_type = "BeneficiaryDeactivated"
    producer = PRODUCER


class BeneficiaryPurgedV1(BeneficiaryPurgedFields, Event):
    """Every copy of this person's data must go; the key of the sealed fields is destroyed (X-04)."""

    event_type = "BeneficiaryPurged"
    producer = PRODUCER
