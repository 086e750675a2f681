"""What an invoice or a credit note says (BIL-06, BIL-09): one source for its CII XML and its PDF."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from billing.domain.catalogue import Buyer, LegalEntity
from billing.domain.cii import Document, Party
from billing.domain.invoices import CREDIT_NOTE_TYPE, INVOICE_TYPE, OUTCOME_LABEL, Resource, Site

PAYMENT_DAYS = 30  # public buyers pay within 30 days (Code de la commande publique, R2192-10)
LEGAL_NOTES = (
    "Pas d'escompte pour paiement anticipé.",
    "En cas de retard de paiement : intérêts moratoires au taux légal en vigueur et indemnité forfaitaire "
    "pour frais de recouvrement de 40 € (articles L2192-13 et D2192-35 du Code de la commande publique).",
)
PREVIEW_NUMBER = "APERÇU"


@dataclass(frozen=True)
class Identity:
    name: str
    ft_id: str


@dataclass(frozen=True)
class Printed:
    document: Document
    context: dict[str, Any]


def _fr(day: date) -> str:
    return f"{day:%d/%m/%Y}"


def _eur(amount: Decimal) -> str:
    return f"{amount:,.2f}".replace(",", " ").replace(".", ",")


def seller_description(entity: LegalEntity) -> str:
    """BT-33: legal form, RCS/RNA and NAF, as one line."""
    return " – ".join(part for part in (entity.legal_form, entity.rcs, f"NAF {entity.naf}" if entity.naf else None)
                      if part)


def printed(row: dict[str, Any], entity: LegalEntity, buyer: Buyer, resource: Resource, site: Site,
            identity: Identity, number: str | None, issued_on: date,
            credited: tuple[str, date] | None = None, reason: str | None = None) -> Printed:
    """The document of a draft (``row``, an ``invoices`` row), numbered ``number`` (None: a preview)."""
    amount: Decimal = row["amount"]
    kind = CREDIT_NOTE_TYPE if credited else INVOICE_TYPE
    due_on = issued_on + timedelta(days=PAYMENT_DAYS)
    line_name = f"{resource.name} – accompagnement {row['ods']}"
    line_description = (f"{identity.name}, identifiant France Travail {identity.ft_id}; ODS du {_fr(row['ods_start'])} "
                        f"au {_fr(row['ods_end'])}; {OUTCOME_LABEL[row['outcome']]} ({row['percentage']} % de "
                        f"{_eur(row['tariff_amount'])} €)")
    if resource.co_contractor:
        # BIL-06: a co-traitant invoices the mandataire of the market, who invoices France Travail.
        buyer_party = Party(resource.lead_contractor)
        buyer_view = {"name": resource.lead_contractor, "note": f"Mandataire du groupement, marché {resource.market_number}"
                      f" lot {resource.lot_number} (financeur : {buyer.name})", "address": None, "siret": None,
                      "service_code": None}
        buyer_reference = None
    else:
        buyer_party = Party(buyer.name, buyer.siret, buyer.address)
        buyer_view = {"name": buyer.name, "note": None, "address": buyer.address, "siret": buyer.siret,
                      "service_code": buyer.chorus_service_code}
        buyer_reference = buyer.chorus_service_code
    notes = (f"Bénéficiaire : {identity.name} (identifiant France Travail {identity.ft_id})", *LEGAL_NOTES,
             *((f"Motif de l'avoir : {reason}",) if credited and reason else ()))
    document = Document(
        number=number or PREVIEW_NUMBER, type_code=kind, issued_on=issued_on, due_on=due_on,
        seller=Party(entity.name, entity.siret, entity.address, seller_description(entity) or None, entity.vat_number),
        buyer=buyer_party, buyer_reference=buyer_reference, order_number=row["order_number"],
        contract=f"Marché {resource.market_number} lot {resource.lot_number}",
        line_name=line_name, line_description=line_description, amount=amount,
        period=(row["ods_start"], row["ods_end"]), iban=entity.iban, bic=entity.bic,
        vat_category=entity.vat_category, vat_reason=entity.vat_exemption_reason, notes=notes, credited=credited)
    title = ("Avoir" if credited else "Facture") + (f" {number}" if number else " (aperçu)")
    context = {
        "title": title, "preview": number is None, "kind_label": "AVOIR" if credited else "FACTURE",
        "number": number or "— (aperçu)", "issued_on": _fr(issued_on), "due_on": _fr(due_on),
        "credited": {"number": credited[0], "date": _fr(credited[1]), "reason": reason} if credited else None,
        "seller": entity.model_dump(), "buyer": buyer_view, "order_number": row["order_number"],
        "resource": {"name": resource.name, "market_number": resource.market_number, "lot_number": resource.lot_number,
                     "mandataire": resource.lead_contractor if resource.co_contractor else f"{entity.name} (la BGE)"},
        "site": {"name": site.name, "address": site.address},
        "line": {"name": line_name}, "beneficiary": {"name": identity.name, "ft_id": identity.ft_id},
        "ods_start": _fr(row["ods_start"]), "ods_end": _fr(row["ods_end"]), "outcome": OUTCOME_LABEL[row["outcome"]],
        "outcome_date": _fr(row["outcome_date"]), "tariff_amount": _eur(row["tariff_amount"]),
        "percentage": row["percentage"], "amount": _eur(amount), "vat_reason": entity.vat_exemption_reason,
        "iban": entity.iban, "bic": entity.bic, "notes": LEGAL_NOTES,
    }
    return Printed(document, context)
