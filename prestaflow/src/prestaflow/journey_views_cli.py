"""``prestaflow journey list|deliverables|alerts`` and ``prestaflow timeline``: the follow-up dashboard
(PRC-04) and its workbook, the deliverables (PRC-06), the alerts (PRC-05) and a beneficiary's
timeline (PRC-09), through planning's API. Exit codes as every command: 0, 1 refused, 2 usage."""

from datetime import datetime
from pathlib import Path
from typing import Any

import click

from prestaflow.client import Api
from prestaflow.commands import print_json, run
from prestaflow.journey_cli import day_text, journey
from prestaflow.referential import checked


async def dashboard(api: Api, params: dict[str, Any]) -> list[dict[str, Any]]:
    return checked(await api.request("GET", "planning", "/dashboard", params=params))


async def dashboard_xlsx(api: Api, params: dict[str, Any], out: Path) -> Path:
    checked(response := await api.request("GET", "planning", "/dashboard.xlsx", params=params))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(response.content)
    return out


async def deliverables(api: Api, enrolment_id: str, out: Path) -> list[tuple[dict[str, Any], Path]]:
    """Generate both PDFs (after planning's checks) and write them under ``out``."""
    made = checked(await api.request("POST", "planning", f"/journeys/{enrolment_id}/deliverables"))
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for document in made["documents"]:
        response = await api.request("GET", "planning", f"/journeys/{enrolment_id}/deliverables/"
                                     f"{document['kind']}.pdf", params={"number": document["number"]})
        checked(response)
        path = out / document["file"]
        path.write_bytes(response.content)
        written.append((document, path))
    return written


async def alerts(api: Api) -> list[dict[str, Any]]:
    return checked(await api.request("GET", "planning", "/alerts"))


async def timeline(api: Api, beneficiary_id: str) -> list[dict[str, Any]]:
    return checked(await api.request("GET", "planning", f"/timeline/{beneficiary_id}"))


def dashboard_params(first_day: datetime | None, last_day: datetime | None, resource: str | None,
                     everyone: bool) -> dict[str, Any]:
    params = {"from": first_day and first_day.date().isoformat(), "to": last_day and last_day.date().isoformat(),
              "resource": resource, "all": "true" if everyone else None}
    return {k: v for k, v in params.items() if v}


def dashboard_lines(rows: list[dict[str, Any]]) -> list[str]:
    lines = []
    for r in rows:
        name = f"{r['last_name'] or '?'} {r['first_name'] or ''}".strip()
        lines.append(f"{day_text(r['start_on'])} → {day_text(r['end_on'])}  {name[:28]:28} {r['ft_id'] or '-':10} "
                     f"{r['site']:5} {r['advisor'] or 'à affecter':16.16} "
                     f"passées {r['past_actions']} futures {r['future_actions']}  "
                     f"{r['situation']:38} {r['order_number'] or '-':16} {r['invoice_status']:22}"
                     + ("" if r["on_dashboard"] else " (hors tableau)") + f" [{r['id']}]")
    return lines


def register(main: click.Group) -> None:
    """Add ``journey list|deliverables|alerts`` and ``timeline`` to the command line."""
    main.add_command(timeline_command)


@journey.command("list")
@click.option("--from", "first_day", type=click.DateTime(["%Y-%m-%d", "%d/%m/%Y"]), default=None, metavar="DATE",
              help="date de début d'ODS à partir du (AAAA-MM-JJ ou JJ/MM/AAAA)")
@click.option("--to", "last_day", type=click.DateTime(["%Y-%m-%d", "%d/%m/%Y"]), default=None, metavar="DATE",
              help="date de début d'ODS jusqu'au (inclus)")
@click.option("--ressource", "resource", default=None, help="code de la ressource (un lot)")
@click.option("--tous", "everyone", is_flag=True,
              help="aussi les parcours hors tableau (sans action programmée ou formulaire non commencé)")
@click.option("--xlsx", "xlsx", type=click.Path(path_type=Path, dir_okay=False), default=None, metavar="FICHIER",
              help="écrire le tableau dans ce classeur Excel")
@click.option("--json", "as_json", is_flag=True,
              help="en JSON, chaque parcours de la période (on_dashboard dit s'il est au tableau)")
def journey_list(first_day, last_day, resource, everyone, xlsx, as_json):
    """Le tableau de suivi (PRC-04) : les parcours dont la date de début d'ODS est dans la période, avec
    une action programmée et le formulaire prestation spéciale commencé. Leurs identifiants servent aux
    autres commandes."""
    params = dashboard_params(first_day, last_day, resource, everyone or as_json)
    if xlsx is not None:
        shown = dashboard_params(first_day, last_day, resource, everyone)
        click.echo(f"Écrit : {run(lambda api: dashboard_xlsx(api, shown, xlsx))}")
        return
    rows = run(lambda api: dashboard(api, params))
    if as_json:
        print_json(rows)
        return
    for line in dashboard_lines(rows):
        click.echo(line)
    click.echo(f"{len(rows)} parcours.")


@journey.command("deliverables")
@click.argument("enrolment_id", metavar="ID")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True, metavar="DOSSIER",
              help="dossier où écrire le bilan et l'émargement")
def journey_deliverables(enrolment_id, out):
    """Générer le bilan et l'émargement du parcours en PDF (PRC-06), après les six vérifications ; les
    fichiers générés avant restent disponibles."""
    for document, path in run(lambda api: deliverables(api, enrolment_id, out)):
        click.echo(f"Écrit : {path} (n° {document['number']}, SHA-256 {document['sha256']})")


@journey.command("alerts")
@click.option("--json", "as_json", is_flag=True)
def journey_alerts(as_json):
    """Les alertes Activ'Créa (PRC-05), chaque parcours avec sa raison."""
    found = run(alerts)
    if as_json:
        print_json(found)
        return
    title = None
    for alert in found:
        if alert["title"] != title:
            title = alert["title"]
            click.echo(f"{title} :")
        name = f"{alert['last_name'] or '?'} {alert['first_name'] or ''}".strip()
        click.echo(f"  {name} [{alert['enrolment_id']}] : {alert['reason']}")
    click.echo(f"{len(found)} alerte(s).")


@click.command("timeline")
@click.argument("beneficiary_id", metavar="ID_BÉNÉFICIAIRE")
@click.option("--json", "as_json", is_flag=True)
def timeline_command(beneficiary_id, as_json):
    """L'historique d'un bénéficiaire dans l'ordre du temps (PRC-09) : parcours, actions, présences,
    retraits avec leur motif, formulaire, livrables, messages, factures."""
    lines = run(lambda api: timeline(api, beneficiary_id))
    if as_json:
        print_json(lines)
        return
    for line in lines:
        click.echo(f"{datetime.fromisoformat(line['at']):%d/%m/%Y %H:%M}  {line['text']}")
