"""Events produced by the billing service."""

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import AwareDatetime, Field

from contracts.base import Contract, Event, Item, ListEvent, items_field

PRODUCER = "billing"


class LegalEntityRef(Contract):
    code: str = Field(description="Legal entity code.", examples=["BGE-HDF"])
    name: str = Field(description="Name on invoices.", examples=["BGE Hauts-de-France"])
    siret: str = Field(description="SIRET.", examples=["41234567800019"])
    invoice_prefix: str = Field(description="Préfixe in invoice numbers.", examples=["JUN"])
    antennes: tuple[str, ...] = Field(description="Antennes whose sites invoice under this entity.",
                                      examples=[["LILLE"]])
    # The rest of what invoices print, from which an audit replay restores the entity (OPS-04); absent
    # from events written before. The structure's own identifiers, not personal data.
    legal_form: str | None = Field(default=None, description="Forme juridique.", examples=["Association loi 1901"])
    rcs: str | None = Field(default=None, description="RCS or RNA registration.", examples=["RNA W595012345"])
    naf: str | None = Field(default=None, description="Code NAF.", examples=["8899B"])
    vat_number: str | None = Field(default=None, description="Intra-community VAT number, if any.",
                                   examples=["FR12412345678"])
    iban: str | None = Field(default=None, description="IBAN printed on invoices.",
                             examples=["FR7630006000011234567890189"])
    bic: str | None = Field(default=None, description="BIC printed on invoices.", examples=["AGRIFRPPXXX"])
    address: str | None = Field(default=None, description="Postal address.",
                                examples=["45 boulevard de la Liberté, 59000 Lille"])
    vat_category: Literal["O", "E"] | None = Field(default=None, description="EN 16931 VAT category.",
                                                   examples=["O"])
    vat_exemption_reason: str | None = Field(default=None, description="VAT exemption text printed on invoices.",
                                             examples=["TVA non applicable : association non assujettie"])


class BuyerRef(Contract):
    code: str = Field(description="Buyer code (financeur).", examples=["FT"])
    name: str = Field(description="Name on invoices.", examples=["France Travail"])
    siret: str = Field(description="SIRET.", examples=["13000548100010"])
    chorus_service_code: str | None = Field(default=None, description="Chorus Pro service code.",
                                            examples=["FT-DR-HDF"])
    address: str | None = Field(default=None, description="Postal address.",
                                examples=["1 avenue du Docteur Gley, 75020 Paris"])


class TariffRef(Contract):
    ods: str | None = Field(description="ODS priced, or none when priced by type d'action.", examples=["ACR2025"])
    action_type: str | None = Field(default=None, description="Type d'action priced, when not an ODS.")
    resource: str = Field(description="Ressource code.", examples=["ACR2025-L12"])
    funder: str = Field(description="Buyer code (financeur).", examples=["FT"])
    site: str | None = Field(default=None, description="Site, when the tariff is site-specific.")
    start: date = Field(description="First day in force.", examples=["2025-01-01"])
    end: date | None = Field(description="Last day in force.", examples=["2028-12-31"])
    amount: Decimal = Field(description="Amount in euros.", examples=["1200.00"])
    unit: str = Field(description="'journey' (per complete journey) or 'action'.", examples=["journey"])
    rule: str = Field(description="When it is invoiced.", examples=["on_close"])
    without_quote: bool = Field(description="Facturation sans devis.", examples=[True])


class CatalogueChanged(Event):
    """Billing's set-up after a change: legal entities and tariffs (snapshot)."""

    event_type = "CatalogueChanged"
    producer = PRODUCER

    base_number: str | None = Field(description="Installation number, first part of invoice numbers.",
                                    examples=["14"])
    legal_entities: tuple[LegalEntityRef, ...] = Field(description="All legal entities.")
    buyers: tuple[str, ...] = Field(description="Codes of the known buyers.", examples=[["FT"]])
    tariffs: tuple[TariffRef, ...] = Field(description="All tariffs, past and present.")
    buyer_details: tuple[BuyerRef, ...] = Field(
        default=(), description="The known buyers in full, from which an audit replay restores them (OPS-04); "
                                "empty in events written before.")


DocumentKind = Literal["invoice", "credit_note"]


class InvoiceDraft(Contract):
    invoice_id: str = Field(description="Invoice id (before it has a number).")
    enrolment_id: str = Field(description="The closed enrolment (parcours) it bills.")
    closing: int = Field(ge=1, description="The ODSClosed closing it comes from.", examples=[1])
    beneficiary_id: str = Field(description="Beneficiary id.")
    legal_entity: str | None = Field(description="Legal entity that will issue it; none when unknown.",
                                     examples=["BGE-HDF"])
    amount: Decimal | None = Field(description="Amount in euros (tariff × percentage); none without a tariff.",
                                   examples=["1200.00"])
    percentage: int = Field(description="Share of the tariff invoiced (BIL-04).", examples=[100])
    problems: tuple[str, ...] = Field(default=(), description="Why it cannot be issued yet, in French.")


class InvoiceDraftedItem(InvoiceDraft, Item):
    aggregate = "invoice"
    aggregate_field = "invoice_id"


class InvoiceDrafted(ListEvent):
    """Closed journeys' invoices are waiting in *factures à émettre* (BIL-03)."""

    event_type = "InvoiceDrafted"
    producer = PRODUCER

    items: tuple[InvoiceDraftedItem, ...] = items_field("The invoices drafted")


class IssuedDocument(Contract):
    document_id: str = Field(description="Invoice or credit note id.")
    kind: DocumentKind = Field(description="Facture (380) or avoir (381).", examples=["invoice"])
    number: str = Field(description="Its number (BIL-05).", examples=["14JUNF2500001"])
    enrolment_id: str = Field(description="The enrolment (parcours) billed.")
    beneficiary_id: str = Field(description="Beneficiary id.")
    legal_entity: str = Field(description="Issuing legal entity.", examples=["BGE-HDF"])
    issued_on: date = Field(description="Issue date.")
    amount: Decimal = Field(description="Amount in euros, positive for both kinds.", examples=["1200.00"])
    credited_number: str | None = Field(default=None, description="For a credit note: the invoice it "
                                        "cancels (BT-25).", examples=[None])
    # What an audit replay restores the document from (OPS-04); absent from events written before.
    sequence: int | None = Field(default=None, ge=1, description="Its place in the legal entity's gap-free "
                                 "sequence (the number's last part).", examples=[1])
    reason: str | None = Field(default=None, description="For a credit note: why it was issued.",
                               examples=["Parcours rouvert : sortie positive corrigée"])
    xml_sha256: str | None = Field(default=None, description="SHA-256 of the Factur-X CII XML as stored (the XML "
                                   "names the beneficiary, so it never travels in an event).",
                                   examples=["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"])


class InvoiceIssuedItem(IssuedDocument, Item):
    aggregate = "invoice"
    aggregate_field = "document_id"


class InvoiceIssued(ListEvent):
    """Invoices were numbered and issued (BIL-05); a number is never reused."""

    event_type = "InvoiceIssued"
    producer = PRODUCER

    items: tuple[InvoiceIssuedItem, ...] = items_field("The invoices issued")


class CreditNoteIssuedItem(IssuedDocument, Item):
    aggregate = "invoice"
    aggregate_field = "document_id"


class CreditNoteIssued(ListEvent):
    """Credit notes (avoirs) cancelled issued invoices (BIL-08)."""

    event_type = "CreditNoteIssued"
    producer = PRODUCER

    items: tuple[CreditNoteIssuedItem, ...] = items_field("The credit notes issued")


class ChorusStatus(Contract):
    document_id: str = Field(description="Invoice or credit note id.")
    number: str = Field(description="Its number.", examples=["14JUNF2500001"])
    enrolment_id: str = Field(description="The enrolment (parcours) billed.")
    at: AwareDatetime = Field(description="When Chorus Pro answered.")
    flow_id: str | None = Field(default=None, description="Chorus Pro's flow number (numeroFluxDepot).",
                                examples=["CPP2025_0001"])
    reason: str | None = Field(default=None, description="Chorus Pro's reason, for a rejection.", examples=[None])
    # The PDF sent or written (OPS-04: it names the beneficiary and never travels in an event); absent
    # from events written before.
    pdf_sha256: str | None = Field(default=None, description="SHA-256 of the Factur-X PDF deposited or written.",
                                   examples=["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"])
    pdf_size: int | None = Field(default=None, ge=0, description="Size of that PDF in bytes.", examples=[48213])


class ChorusStatusItem(ChorusStatus, Item):
    aggregate = "invoice"
    aggregate_field = "document_id"


class InvoiceDeposited(ListEvent):
    """Issued documents were deposited on Chorus Pro (BIL-07)."""

    event_type = "InvoiceDeposited"
    producer = PRODUCER

    items: tuple[ChorusStatusItem, ...] = items_field("The documents deposited")


class InvoiceWritten(ListEvent):
    """Without Chorus Pro credentials, issued documents were written to the deposit folder for a manual
    upload (BIL-07, state ``written``)."""

    event_type = "InvoiceWritten"
    producer = PRODUCER

    items: tuple[ChorusStatusItem, ...] = items_field("The documents written")


class InvoiceDepositFailed(ListEvent):
    """Chorus Pro could not be reached to deposit issued documents (state ``failed``): they are sent
    again by the next run; ``reason`` says why (BIL-07)."""

    event_type = "InvoiceDepositFailed"
    producer = PRODUCER

    items: tuple[ChorusStatusItem, ...] = items_field("The documents not deposited")


class InvoiceIntegrated(ListEvent):
    """Chorus Pro integrated deposited documents (BIL-12)."""

    event_type = "InvoiceIntegrated"
    producer = PRODUCER

    items: tuple[ChorusStatusItem, ...] = items_field("The documents integrated")


class InvoiceRejected(ListEvent):
    """Chorus Pro rejected deposited documents, with its reason (BIL-12)."""

    event_type = "InvoiceRejected"
    producer = PRODUCER

    items: tuple[ChorusStatusItem, ...] = items_field("The documents rejected")
