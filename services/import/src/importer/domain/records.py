"""Beneficiaries' records as an import reads and changes them: one frozen object per stored row.

Fields are the columns of their table (``adapters.orm``), in its order: a row read from the
database builds one with ``Cls(**row)``. They are frozen so that a change goes through the
repository (``StagedPeople.update_*`` returns the changed record), never around it.
"""

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Literal

RegistrationStatus = Literal["registered", "confirmed", "not_confirmed", "cancelled"]


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the person is and how to reach them: what a list row gives, sealed in events."""

    ft_id: str
    civility: str | None
    last_name: str
    first_name: str
    birth_date: date | None
    postcode: str | None
    email: str | None
    phone: str | None

    def values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(frozen=True, slots=True)
class Beneficiary:
    id: str
    ft_id: str | None
    civility: str | None
    last_name: str | None
    first_name: str | None
    birth_date: date | None
    postcode: str | None
    email: str | None
    phone: str | None
    accepts_email: bool
    accepts_sms: bool
    created_by_import: bool
    active: bool
    created_at: datetime
    purge_on: date | None = None
    purged_at: datetime | None = None
    address: str | None = None
    email_consent_source: str | None = None
    email_consent_at: datetime | None = None
    email_consent_by: str | None = None
    sms_consent_source: str | None = None
    sms_consent_at: datetime | None = None
    sms_consent_by: str | None = None
    corrected_fields: str | None = None
    merged_into: str | None = None
    merged_at: datetime | None = None

    def with_corrections(self, identity: Identity) -> Identity:
        """A list's identity for this person, but for the fields staff corrected (BEN-01): those stay."""
        kept = {name: getattr(self, name) for name in (self.corrected_fields or "").split(",")
                if name in Identity.__slots__}
        return replace(identity, **kept) if kept else identity

    def differs_from(self, identity: Identity) -> bool:
        return any(getattr(self, name) != value for name, value in identity.values().items())


@dataclass(frozen=True, slots=True)
class BeneficiaryKey:
    beneficiary_id: str
    key: str | None  # destroyed (None) on purge


@dataclass(frozen=True, slots=True)
class Enrolment:
    """An ODS enrolment (parcours); one per order number (IMP-07)."""

    id: str
    beneficiary_id: str
    resource_code: str
    ods_code: str
    site_code: str
    order_number: str | None
    prescriber_name: str | None
    agency_code: str | None
    prescription_date: date | None
    project: str
    virtual_office_access: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class RecordedRegistration:
    """An enrolment's diagnostic appointment, as imported lists left it."""

    id: str
    beneficiary_id: str
    enrolment_id: str
    resource_code: str
    site_code: str
    starts_at: datetime
    remote: bool
    status: RegistrationStatus
    order_number: str | None
    batch_id: str
