"""``prestaflow beneficiary gdpr-request|gdpr-paper``: the *accord RGPD* of a record (BEN-02)."""

import email
import email.policy
import re
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import click
import httpx

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



async def _open_as_a_browser(api: Api, link: str) -> tuple[int, str]:
    """The person's browser opening ``link`` in-process: no token; the page's status and title."""
    async with httpx.AsyncClient(transport=api.transport, base_url="http://embedded") as browser:
        page = await browser.get(link[link.index("/importer/"):])
    await api.request("GET", "importer", "/referential")  # the events it caused, consumed
    title = re.search(r"<h1>(.*?)</h1>", page.text)
    return page.status_code, title.group(1) if title else ""


async def demo_agreements(api: Api, written: list[Path]) -> list[str]:
    """BEN-02 in the demo (embedded): the first person whose GDPR mail went opens its personal link,
    twice; staff enter a paper agreement for a person whose mail is to be sent by hand. Returns the
    lines to print, the count of each *accord RGPD* last."""
    lines = []
    for path in sorted(p for p in written if "SYS-RGPD" in p.name):
        mail = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        found = re.search(r"https?://\S+/importer/rgpd/accord\?jeton=\S+", mail.get_body(("plain",)).get_content())
        if found:
            for time in ("ouvert", "ouvert à nouveau"):
                status, title = await _open_as_a_browser(api, found.group(0))
                lines.append(f"lien personnel du mail {path.name} {time} : {status} « {title} »")
            break
    by_hand = checked(await api.request("GET", "notify", "/outbox", params={"status": ["manual"]}))
    for message in [m for m in by_hand if m["purpose"] == "gdpr"][:1]:
        status = await record_paper(api, message["beneficiary_id"], None)
        lines.append(f"mail RGPD à envoyer à la main ({message['beneficiary_id'][:8]}…) : {status['label']}")
    people = checked(await api.request("GET", "importer", "/beneficiaries"))
    statuses = [checked(await api.request("GET", "importer", f"/beneficiaries/{p['id']}"))["gdpr"]["status"]
                for p in people]
    counts = Counter(statuses)
    lines.append("accord RGPD par fiche : " + ", ".join(
        f"{label} {counts[status]}" for status, label in STATUS_FR.items() if counts[status]))
    return lines


STATUS_FR = {"not_requested": "non demandé", "requested": "demandé", "digital": "accord numérique",
             "paper": "accord papier"}
