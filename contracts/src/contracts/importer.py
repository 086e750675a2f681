"""Events produced by the import service (the source of beneficiaries' identity).

Personal data never travels in clear: ``sealed`` fields are encrypted with the beneficiary's own
key, which importer keeps and destroys on purge (crypto-shredding, X-04).
"""

from datetime import date
from typing import Literal

from pydantic import AwareDatetime, Field

from contracts.base import Contract, Event

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


class BeneficiaryRegistered(Event):
    """A beneficiary's record was created or its identity/contact changed."""

    event_type = "BeneficiaryRegistered"
    producer = PRODUCER

    beneficiary_id: str = Field(description="Beneficiary id.", examples=["b-6f1c2d"])
    sealed: str = Field(description="Identity and contact (civilité, names, birth date, IDE, e-mail, phone), "
                                    "encrypted with the beneficiary's key (Fernet).")
    accepts_email: bool = Field(description="Accepte d'être contacté par mail.", examples=[True])
    accepts_sms: bool = Field(description="Accepte d'être contacté par SMS.", examples=[True])


class RegistrationRecorded(Event):
    """An appointment from a Prest@ppli list, to attach to a diagnostic slot (IMP-05)."""

    event_type = "RegistrationRecorded"
    producer = PRODUCER

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


class ParticipantConfirmed(Event):
    """The J-2 list has the appointment with an order number (IMP-06)."""

    event_type = "ParticipantConfirmed"
    producer = PRODUCER

    registration_id: str = Field(description="Registration id.")
    beneficiary_id: str = Field(description="Beneficiary id.")
    enrolment_id: str = Field(description="Enrolment id.")
    order_number: str = Field(description="N° de commande.", examples=["BDC-2025-000101"])
    starts_at: AwareDatetime = Field(description="Appointment start.")


class ParticipantNotConfirmed(Event):
    """Imported at J-10, but missing from the J-2 list or without an order number there (IMP-06)."""

    event_type = "ParticipantNotConfirmed"
    producer = PRODUCER

    registration_id: str = Field(description="Registration id.")
    beneficiary_id: str = Field(description="Beneficiary id.")
    enrolment_id: str = Field(description="Enrolment id.")
    starts_at: AwareDatetime = Field(description="Appointment start.")
    reason: Literal["absent_from_j2", "no_order_number"] = Field(description="Why.", examples=["no_order_number"])


class RegistrationCancelled(Event):
    """A Désinscrit row cancelled an earlier registration."""

    event_type = "RegistrationCancelled"
    producer = PRODUCER

    registration_id: str = Field(description="Registration id.")
    beneficiary_id: str = Field(description="Beneficiary id.")
    starts_at: AwareDatetime = Field(description="Appointment start.")


class BeneficiaryDeactivated(Event):
    """A record created by an import whose appointment was not confirmed; purged on ``purge_on``."""

    event_type = "BeneficiaryDeactivated"
    producer = PRODUCER

    beneficiary_id: str = Field(description="Beneficiary id.")
    purge_on: date = Field(description="Day the record and everything identifying the person is deleted.")


class BeneficiaryPurged(Event):
    """Every copy of this person's data must go; the key of the sealed fields is destroyed (X-04)."""

    event_type = "BeneficiaryPurged"
    producer = PRODUCER

    beneficiary_id: str = Field(description="Beneficiary id (an id, no longer linked to anybody).")
