"""The demo's billing chapter (``make demo``), after the journeys close: invoices to issue, a preview,
issue with gap-free numbers, a credit note, the night's Chorus Pro deposit (written to
``demo-output/chorus/`` without credentials), every PDF under ``demo-output/factures/`` and the sales
journal."""

import shutil
from pathlib import Path
from typing import Any

import click

from prestaflow import billing_cli
from prestaflow.client import Api


def _say(text: str = "") -> None:
    click.echo(text)


async def run(api: Api, out: Path, story: Any, clock: Any) -> dict[str, Any]:
    """The chapter, told as ``story`` steps; returns what it issued (for tests)."""
    factures = out / "factures"
    factures.mkdir(parents=True, exist_ok=True)
    today = clock.now().date()

    story.step("Catalogue de facturation : tarifs en vigueur et ressources sans tarif")
    summary = await billing_cli.call(api, "GET", "/catalogue/summary")
    for line in billing_cli.catalogue_lines(summary):
        _say(f"   {line}")

    story.step("Factures à émettre sans devis (parcours clôturés), avec leur montant")
    pending = await billing_cli.call(api, "GET", "/invoices/pending")
    for line in billing_cli.pending_lines(pending):
        _say(f"   {line}")
    issuable = [p for p in pending if p["issuable"]]
    if not issuable:
        _say("   Aucune facture à émettre.")
        return {"numbers": [], "credit_note": None}

    story.step("Aperçu d'une facture avant de la générer (aucun numéro attribué)")
    preview = await billing_cli.save(api, f"/invoices/{issuable[0]['id']}/preview",
                                     factures / f"apercu-{issuable[0]['id'][:8]}.pdf")
    _say(f"   {out.name}/factures/{preview.name}")

    story.step("Génération des factures : validation EN 16931 puis numéro sans trou (Factur-X PDF/A-3)")
    numbers = []
    for draft in issuable:
        result = await billing_cli.call(api, "POST", f"/invoices/{draft['id']}/issue")
        numbers.append(result["number"])
        _say(f"   {result['number']}  {billing_cli._eur(result['amount'])}  ({draft['percentage']} %, "
             f"{billing_cli.OUTCOMES[draft['outcome']]})")

    story.step(f"Avoir sur la facture {numbers[0]} (parcours rouvert), puis la facture à émettre à nouveau")
    credit = await billing_cli.call(api, "POST", "/credit-notes",
                                    json={"number": numbers[0], "reason": "Date de bilan erronée, parcours rouvert"})
    _say(f"   Avoir {credit['number']} annulant {credit['credits']} ({billing_cli._eur(credit['amount'])})")

    story.step("Dépôt de la nuit sur Chorus Pro (sans identifiants : flux écrits pour un dépôt manuel)")
    deposit = await billing_cli.call(api, "POST", "/chorus/deposit")
    for line in deposit["lines"]:
        _say(f"   {line}")
    if deposit["mode"] == "folder":
        shutil.copytree(deposit["folder"], out / "chorus", dirs_exist_ok=True)
        _say(f"   Flux copiés dans {out.name}/chorus")

    story.step("Factures émises et journal des ventes")
    issued = await billing_cli.call(api, "GET", "/invoices/issued")
    for line in billing_cli.issued_lines(issued):
        _say(f"   {line}")
    for document in issued:
        await billing_cli.save(api, f"/documents/{document['number']}.pdf", factures / f"{document['number']}.pdf")
    journal = await billing_cli.save(api, "/journal.csv", out / "journal-ventes.csv",
                                     params={"from": f"{today.year - 1}-01-01", "to": today.isoformat()})
    _say(f"   {len(issued)} PDF dans {out.name}/factures, journal des ventes : {out.name}/{journal.name}")
    return {"numbers": numbers, "credit_note": credit["number"]}
