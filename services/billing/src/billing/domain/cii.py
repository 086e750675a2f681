"""The CII XML of an invoice or a credit note, profile EN 16931 (Factur-X), BIL-09.

Element order follows the Factur-X EN 16931 XSD. Amounts are positive for both document types
(a credit note says it credits by its type 381 and its reference to the invoice, BT-25).
"""

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from xml.sax.saxutils import escape

NS = ('xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100" '
      'xmlns:qdt="urn:un:unece:uncefact:data:standard:QualifiedDataType:100" '
      'xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100" '
      'xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"')
EN16931 = "urn:cen.eu:en16931:2017"
# VAT exemption reason codes (VATEX) of the categories a legal entity may use.
VATEX = {"O": "VATEX-EU-O", "E": None}


@dataclass(frozen=True)
class Party:
    name: str
    siret: str | None = None
    address: str | None = None
    description: str | None = None  # BT-33: legal form, RCS/RNA, NAF
    vat_number: str | None = None


@dataclass(frozen=True)
class Document:
    """Everything the XML says; the PDF prints the same values."""

    number: str
    type_code: str  # 380 invoice, 381 credit note
    issued_on: date
    due_on: date
    seller: Party
    buyer: Party
    buyer_reference: str | None  # BT-10, Chorus's code service
    order_number: str | None  # BT-13
    contract: str | None  # BT-12: market and lot
    line_name: str
    line_description: str
    amount: Decimal
    period: tuple[date, date]  # ODS dates (BT-73/BT-74)
    iban: str
    bic: str
    vat_category: str
    vat_reason: str
    notes: tuple[str, ...] = ()
    credited: tuple[str, date] | None = None  # BT-25, BT-26


def _d(day: date) -> str:
    return f'<udt:DateTimeString format="102">{day:%Y%m%d}</udt:DateTimeString>'


def _t(tag: str, value: object | None) -> str:
    return "" if value in (None, "") else f"<ram:{tag}>{escape(str(value))}</ram:{tag}>"


def split_address(address: str | None) -> tuple[str | None, str | None, str | None]:
    """``"45 boulevard de la Liberté, 59000 Lille"`` -> line, postcode, city."""
    if not address:
        return None, None, None
    match = re.fullmatch(r"\s*(.*?),?\s*(\d{5})\s+(.+?)\s*", address)
    if not match:
        return address, None, None
    return match.group(1) or None, match.group(2), match.group(3)


def _party(tag: str, party: Party) -> str:
    line, postcode, city = split_address(party.address)
    legal = (f'<ram:SpecifiedLegalOrganization><ram:ID schemeID="0009">{escape(party.siret)}</ram:ID>'
             "</ram:SpecifiedLegalOrganization>") if party.siret else ""
    tax = (f'<ram:SpecifiedTaxRegistration><ram:ID schemeID="VA">{escape(party.vat_number)}</ram:ID>'
           "</ram:SpecifiedTaxRegistration>") if party.vat_number else ""
    return (f"<ram:{tag}>{_t('Name', party.name)}{_t('Description', party.description)}{legal}"
            f"<ram:PostalTradeAddress>{_t('PostcodeCode', postcode)}{_t('LineOne', line)}{_t('CityName', city)}"
            f"<ram:CountryID>FR</ram:CountryID></ram:PostalTradeAddress>{tax}</ram:{tag}>")


def cii_xml(doc: Document) -> bytes:
    amount = f"{doc.amount:.2f}"
    start, end = doc.period
    notes = "".join(f"<ram:IncludedNote>{_t('Content', n)}</ram:IncludedNote>" for n in doc.notes)
    # Not subject to VAT (O) has no rate; exempt (E) has a rate of zero.
    rate = "" if doc.vat_category == "O" else "<ram:RateApplicablePercent>0</ram:RateApplicablePercent>"
    tax_category = (f"{_t('ExemptionReason', doc.vat_reason)}<ram:BasisAmount>{amount}</ram:BasisAmount>"
                    f"<ram:CategoryCode>{doc.vat_category}</ram:CategoryCode>"
                    f"{_t('ExemptionReasonCode', VATEX.get(doc.vat_category))}{rate}")
    credited = ""
    if doc.credited:
        credited = (f"<ram:InvoiceReferencedDocument>{_t('IssuerAssignedID', doc.credited[0])}"
                    f"<ram:FormattedIssueDateTime><qdt:DateTimeString format=\"102\">{doc.credited[1]:%Y%m%d}"
                    "</qdt:DateTimeString></ram:FormattedIssueDateTime></ram:InvoiceReferencedDocument>")
    order = (f"<ram:BuyerOrderReferencedDocument>{_t('IssuerAssignedID', doc.order_number)}"
             "</ram:BuyerOrderReferencedDocument>") if doc.order_number else ""
    contract = (f"<ram:ContractReferencedDocument>{_t('IssuerAssignedID', doc.contract)}"
                "</ram:ContractReferencedDocument>") if doc.contract else ""
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<rsm:CrossIndustryInvoice {NS}>'
        "<rsm:ExchangedDocumentContext><ram:GuidelineSpecifiedDocumentContextParameter>"
        f"<ram:ID>{EN16931}</ram:ID></ram:GuidelineSpecifiedDocumentContextParameter></rsm:ExchangedDocumentContext>"
        f"<rsm:ExchangedDocument>{_t('ID', doc.number)}<ram:TypeCode>{doc.type_code}</ram:TypeCode>"
        f"<ram:IssueDateTime>{_d(doc.issued_on)}</ram:IssueDateTime>{notes}</rsm:ExchangedDocument>"
        "<rsm:SupplyChainTradeTransaction>"
        "<ram:IncludedSupplyChainTradeLineItem>"
        "<ram:AssociatedDocumentLineDocument><ram:LineID>1</ram:LineID></ram:AssociatedDocumentLineDocument>"
        f"<ram:SpecifiedTradeProduct>{_t('Name', doc.line_name)}{_t('Description', doc.line_description)}"
        "</ram:SpecifiedTradeProduct>"
        "<ram:SpecifiedLineTradeAgreement><ram:NetPriceProductTradePrice>"
        f"<ram:ChargeAmount>{amount}</ram:ChargeAmount></ram:NetPriceProductTradePrice></ram:SpecifiedLineTradeAgreement>"
        '<ram:SpecifiedLineTradeDelivery><ram:BilledQuantity unitCode="C62">1</ram:BilledQuantity>'
        "</ram:SpecifiedLineTradeDelivery>"
        "<ram:SpecifiedLineTradeSettlement><ram:ApplicableTradeTax><ram:TypeCode>VAT</ram:TypeCode>"
        f"<ram:CategoryCode>{doc.vat_category}</ram:CategoryCode>{rate}</ram:ApplicableTradeTax>"
        "<ram:SpecifiedTradeSettlementLineMonetarySummation>"
        f"<ram:LineTotalAmount>{amount}</ram:LineTotalAmount></ram:SpecifiedTradeSettlementLineMonetarySummation>"
        "</ram:SpecifiedLineTradeSettlement></ram:IncludedSupplyChainTradeLineItem>"
        f"<ram:ApplicableHeaderTradeAgreement>{_t('BuyerReference', doc.buyer_reference)}"
        f"{_party('SellerTradeParty', doc.seller)}{_party('BuyerTradeParty', doc.buyer)}{order}{contract}"
        "</ram:ApplicableHeaderTradeAgreement>"
        "<ram:ApplicableHeaderTradeDelivery/>"
        "<ram:ApplicableHeaderTradeSettlement><ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>"
        "<ram:SpecifiedTradeSettlementPaymentMeans><ram:TypeCode>58</ram:TypeCode>"
        f"<ram:PayeePartyCreditorFinancialAccount>{_t('IBANID', doc.iban.replace(' ', ''))}"
        "</ram:PayeePartyCreditorFinancialAccount>"
        f"<ram:PayeeSpecifiedCreditorFinancialInstitution>{_t('BICID', doc.bic)}"
        "</ram:PayeeSpecifiedCreditorFinancialInstitution></ram:SpecifiedTradeSettlementPaymentMeans>"
        f"<ram:ApplicableTradeTax><ram:CalculatedAmount>0.00</ram:CalculatedAmount><ram:TypeCode>VAT</ram:TypeCode>"
        f"{tax_category}</ram:ApplicableTradeTax>"
        f"<ram:BillingSpecifiedPeriod><ram:StartDateTime>{_d(start)}</ram:StartDateTime>"
        f"<ram:EndDateTime>{_d(end)}</ram:EndDateTime></ram:BillingSpecifiedPeriod>"
        f"<ram:SpecifiedTradePaymentTerms>{_t('Description', f'Paiement à réception, au plus tard le {doc.due_on:%d/%m/%Y}')}"
        f"<ram:DueDateDateTime>{_d(doc.due_on)}</ram:DueDateDateTime></ram:SpecifiedTradePaymentTerms>"
        "<ram:SpecifiedTradeSettlementHeaderMonetarySummation>"
        f"<ram:LineTotalAmount>{amount}</ram:LineTotalAmount><ram:TaxBasisTotalAmount>{amount}</ram:TaxBasisTotalAmount>"
        '<ram:TaxTotalAmount currencyID="EUR">0.00</ram:TaxTotalAmount>'
        f"<ram:GrandTotalAmount>{amount}</ram:GrandTotalAmount><ram:DuePayableAmount>{amount}</ram:DuePayableAmount>"
        f"</ram:SpecifiedTradeSettlementHeaderMonetarySummation>{credited}"
        "</ram:ApplicableHeaderTradeSettlement></rsm:SupplyChainTradeTransaction></rsm:CrossIndustryInvoice>"
    )
    return xml.encode("utf-8")
