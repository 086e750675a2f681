"""``prestaflow billing …``: the catalogue summary, invoices to issue, preview, issue, credit notes, the
sales journal and the Chorus Pro deposit (BIL-01..BIL-12).

``register(main)`` adds the ``billing`` group to the command line; the functions above it are what
the commands (and the demo) call.
"""

from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from prestaflow.click_fr import FrenchGroup
from prestaflow.client import Api
from prestaflow.commands import print_json, run
from prestaflow.referential import checked

OUTCOMES = {"reoriente": "réorienté", "abandon": "abandon", "sortie_anticipee": "sortie anticipée", "bilan": "bilan"}
CHORUS = {"pending": "à déposer", "written": "écrit pour dépôt manuel", "deposited": "déposé",
          "integrated": "intégré", "rejected": "rejeté", "failed": "échec (réessayé)", None: "-"}


async def call(api: Api, method: str, path: str, **kwargs: Any) -> Any:
    """Billing's answer, or Refused with its French messages."""
    return checked(await api.request(method, "billing", path, **kwargs))


def _eur(amount: Any) -> str:
    return "-" if amount is None else f"{Decimal(str(amount)):,.2f} €".replace(",", " ").replace(".", ",")


def catalogue_lines(summary: dict[str, Any]) -> list[str]:
    lines = []
    for key, label in (("in_force", "Tarifs en vigueur"), ("ending_within_30_days", "Finissant dans les 30 jours"),
                       ("ended", "Terminés"), ("future", "À venir")):
        lines.append(f"{label} : {len(summary[key])}")
        lines += [f"   {t['label']} : {_eur(t['amount_eur'])} ({t['unit']}), jusqu'au {t['end'] or '-'}"
                  for t in summary[key]]
    lines.append(f"Sans tarif : {len(summary['without_tariff'])}")
    lines += [f"   {w['reason']}" for w in summary["without_tariff"]]
    return lines


def pending_lines(rows: list[dict[str, Any]]) -> list[str]:
    lines = []
    for r in rows:
        if r.get("action") == "avoir":
            lines.append(f"[{r['id']}] facture {r['number']} à annuler par un avoir (parcours rouvert : {r['to_credit']})")
            continue
        state = "à émettre" if r["issuable"] else "NON ÉMISSIBLE"
        lines.append(f"[{r['id']}] {state:13} {r['legal_entity'] or '-':8} {r['site']:5} {OUTCOMES[r['outcome']]:17} "
                     f"{r['percentage']:3d} % de {_eur(r['tariff_amount'])} = {_eur(r['amount'])}  "
                     f"ODS du {r['ods_start']} au {r['ods_end']}")
        lines += [f"      {p}" for p in r["problems"]]
    total = sum(Decimal(str(r["amount"])) for r in rows if r["issuable"])
    lines.append(f"{sum(r['issuable'] for r in rows)} facture(s) à émettre, {_eur(total)} ; "
                 f"{sum(1 for r in rows if not r['issuable'] and r.get('action') != 'avoir')} non émissible(s).")
    return lines


def issued_lines(rows: list[dict[str, Any]]) -> list[str]:
    lines = []
    for r in rows:
        kind = "avoir  " if r["kind"] == "credit_note" else "facture"
        extra = f" (annulée)" if r["credited_by"] else ""
        reason = f" — {r['chorus_reason']}" if r["chorus_reason"] else ""
        lines.append(f"{r['number']} {kind} {r['issued_on']} {_eur(r['amount']):>12}{extra}  Chorus Pro : "
                     f"{CHORUS.get(r['chorus_status'], r['chorus_status'])}{reason}")
    lines.append(f"{len(rows)} document(s) émis.")
    return lines


async def save(api: Api, path: str, out: Path, **kwargs: Any) -> Path:
    response = await api.request("GET", "billing", path, **kwargs)
    checked(response)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(response.content)
    return out


def register(main: click.Group) -> None:
    """Add ``prestaflow billing …`` to the command line."""
    main.add_command(billing)


@click.group(cls=FrenchGroup)
def billing() -> None:
    """Facturation : catalogue, factures à émettre, émission, avoirs, journal des ventes, Chorus Pro."""


@billing.command("catalogue")
@click.option("--json", "as_json", is_flag=True, help="afficher en JSON")
def catalogue(as_json: bool) -> None:
    """Tarifs en vigueur, finissant dans les 30 jours, terminés ; ressources sans tarif (BIL-01)."""
    summary = run(lambda api: call(api, "GET", "/catalogue/summary"))
    print_json(summary) if as_json else click.echo("\n".join(catalogue_lines(summary)))


@billing.command("pending")
@click.option("--entity", help="entité juridique")
@click.option("--json", "as_json", is_flag=True, help="afficher en JSON")
def pending(entity: str | None, as_json: bool) -> None:
    """Factures à émettre sans devis (parcours clôturés), avec la raison de celles qui ne le sont pas."""
    rows = run(lambda api: call(api, "GET", "/invoices/pending", params={"legal_entity": entity} if entity else {}))
    print_json(rows) if as_json else click.echo("\n".join(pending_lines(rows)))


@billing.command("preview")
@click.argument("invoice_id", metavar="ID")
@click.option("--out", "out", type=click.Path(path_type=Path), required=True, metavar="FICHIER")
def preview(invoice_id: str, out: Path) -> None:
    """Aperçu PDF de la facture ID (marqué « aperçu », aucun numéro attribué)."""
    run(lambda api: save(api, f"/invoices/{invoice_id}/preview", out))
    click.echo(f"Aperçu écrit dans {out}")


@billing.command("issue")
@click.argument("invoice_id", metavar="ID")
@click.option("--entity", help="entité juridique pour laquelle on agit")
@click.option("--json", "as_json", is_flag=True, help="afficher en JSON")
def issue(invoice_id: str, entity: str | None, as_json: bool) -> None:
    """Générer la facture ID : validée (EN 16931) puis numérotée ; affiche son numéro."""
    result = run(lambda api: call(api, "POST", f"/invoices/{invoice_id}/issue",
                                  params={"legal_entity": entity} if entity else {}))
    print_json(result) if as_json else click.echo(result["number"])


@billing.command("issued")
@click.option("--entity", help="entité juridique")
@click.option("--json", "as_json", is_flag=True, help="afficher en JSON")
def issued(entity: str | None, as_json: bool) -> None:
    """Factures et avoirs émis, avec leur état Chorus Pro."""
    rows = run(lambda api: call(api, "GET", "/invoices/issued", params={"legal_entity": entity} if entity else {}))
    print_json(rows) if as_json else click.echo("\n".join(issued_lines(rows)))


@billing.command("credit-note")
@click.argument("number", metavar="NUMÉRO")
@click.option("--reason", required=True, metavar="TEXTE", help="motif de l'avoir")
@click.option("--json", "as_json", is_flag=True, help="afficher en JSON")
def credit_note(number: str, reason: str, as_json: bool) -> None:
    """Émettre un avoir annulant la facture NUMÉRO ; affiche le numéro de l'avoir."""
    result = run(lambda api: call(api, "POST", "/credit-notes", json={"number": number, "reason": reason}))
    print_json(result) if as_json else click.echo(result["number"])


@billing.command("journal")
@click.option("--from", "first", required=True, metavar="AAAA-MM-JJ")
@click.option("--to", "last", required=True, metavar="AAAA-MM-JJ")
@click.option("--entity", help="entité juridique")
@click.option("--out", "out", type=click.Path(path_type=Path), required=True, metavar="FICHIER")
def journal(first: str, last: str, entity: str | None, out: Path) -> None:
    """Journal des ventes (CSV) de la période, une ligne par facture ou avoir (BIL-11)."""
    params = {"from": first, "to": last} | ({"legal_entity": entity} if entity else {})
    run(lambda api: save(api, "/journal.csv", out, params=params))
    click.echo(f"Journal des ventes écrit dans {out}")


@billing.command("deposit")
@click.option("--json", "as_json", is_flag=True, help="afficher en JSON")
def deposit(as_json: bool) -> None:
    """Lancer maintenant le dépôt de la nuit sur Chorus Pro (ou son écriture dans le dossier, sans accès)."""
    result = run(lambda api: call(api, "POST", "/chorus/deposit"))
    if as_json:
        print_json(result)
        return
    click.echo(f"Mode : {'API Chorus Pro' if result['mode'] == 'api' else 'dossier ' + result['folder']}")
    for line in result["lines"]:
        click.echo(f"   {line}")


@billing.command("status")
@click.option("--json", "as_json", is_flag=True, help="afficher en JSON")
def status(as_json: bool) -> None:
    """État Chorus Pro de chaque document émis (reçu, intégré, rejeté avec la raison)."""
    rows = run(lambda api: call(api, "GET", "/chorus/status"))
    print_json(rows) if as_json else click.echo("\n".join(issued_lines(rows)))
