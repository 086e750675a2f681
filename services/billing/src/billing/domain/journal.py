"""The sales journal (BIL-11): one line per issued invoice or credit note, for the accounting software."""

import csv
import io
from decimal import Decimal
from typing import Any

COLUMNS = ("date", "numero", "type", "entite_juridique", "client", "compte_client", "compte_produit", "montant_ht",
           "tva", "montant_ttc", "facture_annulee")
SALES_ACCOUNT = "706000"  # prestations de services


def customer_account(funder: str | None) -> str:
    """The customer's sub-ledger account: 411 followed by the buyer's code."""
    return f"411{(funder or 'DIVERS').upper()}"


def journal_csv(rows: list[dict[str, Any]], customers: dict[str, str], credited_numbers: dict[str, str]) -> str:
    """Semicolon-separated, one line per document in number order; credit notes with negative amounts."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in sorted(rows, key=lambda r: (r["issued_on"], r["number"])):
        sign = Decimal(-1) if row["kind"] == "credit_note" else Decimal(1)
        amount = f"{sign * row['amount']:.2f}"
        writer.writerow((row["issued_on"].isoformat(), row["number"],
                         "avoir" if row["kind"] == "credit_note" else "facture", row["legal_entity"],
                         customers.get(row["id"], ""), customer_account(row["funder"]), SALES_ACCOUNT, amount, "0.00",
                         amount, credited_numbers.get(row["id"], "")))
    return out.getvalue()
