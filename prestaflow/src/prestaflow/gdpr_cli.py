"""``prestaflow beneficiary gdpr-request|gdpr-paper``: the *accord RGPD* of a record (BEN-02)."""

from datetime import date
from typing import Any

import click

from prestaflow.client import Api
from prestaflow.commands import print_json, run
from prestaflow.referential import checked


async def request_again(api: Api, beneficiary_id: str) -> dict[str, Any]:
    """Importer records the request; notify sends the GDPR mail with a new link. Embedded, no postman
    runs in the background: its turn is taken here, so that the mail has gone when the command ends."""
    status = checked(await api.request("POST", "importer", f"/beneficiaries/{beneficiary_id}/gdpr/request"))
    if api.embedded is not None:
        checked(await api.request("POST", "notify", "/outbox/send"))
    return status


async def record_paper(api: Api, beneficiary_id: str, paper_date: date | None) -> dict[str, Any]:
    body = {"date": paper_date.isoformat()} if paper_date else {}
    return checked(await api.request("POST", "importer", f"/beneficiaries/{beneficiary_id}/gdpr/paper", json=body))


def register(beneficiary: click.Group) -> None:
    @beneficiary.command("gdpr-request")
    @click.argument("beneficiary_id", metavar="ID")
    @click.option("--json", "as_json", is_flag=True, help="afficher l'accord RGPD en JSON")
    def gdpr_request(beneficiary_id: str, as_json: bool) -> None:
        """Renvoyer la demande d'accord RGPD (le mail RGPD avec un nouveau lien personnel), tant
        qu'aucun accord n'est enregistré."""
        status = run(lambda api: request_again(api, beneficiary_id))
        if as_json:
            print_json(status)
        else:
            click.echo(f"Accord RGPD {status['label']} : le mail RGPD part avec un nouveau lien personnel "
                       f"(suivi : prestaflow notify outbox --beneficiary {beneficiary_id}).")

    @beneficiary.command("gdpr-paper")
    @click.argument("beneficiary_id", metavar="ID")
    @click.option("--date", "paper_date", type=click.DateTime(["%Y-%m-%d", "%d/%m/%Y"]), default=None,
                  help="date portée sur l'accord signé (AAAA-MM-JJ ou JJ/MM/AAAA)")
    @click.option("--json", "as_json", is_flag=True, help="afficher l'accord RGPD en JSON")
    def gdpr_paper(beneficiary_id: str, paper_date, as_json: bool) -> None:
        """Enregistrer l'accord papier signé par la personne (accord RGPD)."""
        status = run(lambda api: record_paper(api, beneficiary_id, paper_date and paper_date.date()))
        if as_json:
            print_json(status)
        else:
            click.echo(f"Accord RGPD enregistré : {status['label']}.")
