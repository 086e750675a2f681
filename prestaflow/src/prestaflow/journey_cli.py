"""``prestaflow journey …``: journeys (parcours), their dates, the *prestation spéciale* form, closing and
réouverture (PRC-01..PRC-03, PRC-07, PRC-10), through planning's API.

Dates are sent as typed (AAAA-MM-JJ or JJ/MM/AAAA): planning checks them and names the field it refuses.
Exit codes as every command: 0 done, 1 refused (messages printed), 2 usage error.
"""

from datetime import date
from typing import Any

import click

from prestaflow.click_fr import FrenchGroup
from prestaflow.client import Api
from prestaflow.commands import print_json, run
from prestaflow.referential import checked

EXITS = {"bilan": "bilan_reason", "sortie": "early_exit_reason", "abandon": "abandon_reason"}
OUTCOMES = {"reoriente": "réorienté vers France Travail", "abandon": "abandon",
            "sortie_anticipee": "sortie anticipée", "bilan": "bilan (prestation terminée)"}


async def list_journeys(api: Api, params: dict[str, Any]) -> list[dict[str, Any]]:
    return checked(await api.request("GET", "planning", "/journeys", params=params))


async def show(api: Api, enrolment_id: str) -> dict[str, Any]:
    return checked(await api.request("GET", "planning", f"/journeys/{enrolment_id}"))


async def change_dates(api: Api, enrolment_id: str, start: str | None, end: str | None) -> dict[str, Any]:
    return checked(await api.request("PUT", "planning", f"/journeys/{enrolment_id}/dates",
                                     json={"start": start, "end": end}))


async def save_form(api: Api, enrolment_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    return checked(await api.request("PATCH", "planning", f"/journeys/{enrolment_id}/form", json=changes))


async def close_due(api: Api) -> dict[str, Any]:
    return checked(await api.request("POST", "planning", "/journeys/close-due"))


async def reopen(api: Api, enrolment_id: str, reason: str) -> dict[str, Any]:
    return checked(await api.request("POST", "planning", f"/journeys/{enrolment_id}/reopen", json={"reason": reason}))


def day_text(iso: str | None) -> str:
    return f"{date.fromisoformat(iso):%d/%m/%Y}" if iso else "-"


def list_line(r: dict[str, Any]) -> str:
    """One line of ``journey list``."""
    return (f"{day_text(r['start_on'])} → {day_text(r['end_on'])}  {r['site']:5} {r['situation']:38} "
            f"{'clôturé' if r['status'] == 'closed' else 'ouvert':8} {r['order_number'] or '-':18} [{r['id']}]")


def journey_lines(j: dict[str, Any]) -> list[str]:
    """``journey show`` as text."""
    form = j["form"]
    state = "ouvert" if j["status"] == "open" else f"clôturé le {day_text(j['closed_on'])} ({OUTCOMES[j['outcome']]})"
    lines = [f"Parcours {j['id']}  bénéficiaire {j['beneficiary_id']}",
             f"  ODS {j['ods']}  ressource {j['resource']}  site {j['site']}  : {state}",
             f"  du {day_text(j['start_on'])} au {day_text(j['end_on'])}"
             + ("" if j["end_on"] == j["theoretical_end_on"] else f" (fin théorique {day_text(j['theoretical_end_on'])})"),
             f"  situation : {j['situation']}",
             f"  n° de commande {form['order_number'] or '-'}  prescripteur {form['prescriber'] or '-'}  "
             f"agence {form['agency_code'] or '-'}",
             f"  entretien initial {day_text(form['initial_interview_on'])}  suite : {form['initial_outcome'] or '-'}",
             f"  date bilan / abandon / sortie {day_text(form['outcome_on'])}  "
             f"motif : {form['bilan_reason'] or form['early_exit_reason'] or form['abandon_reason'] or '-'}",
             f"  dépôts Prest@ppli : {day_text(form['prestappli_initial_on'])} / {day_text(form['prestappli_final_on'])}",
             f"  {len(j['actions'])} action(s) :"]
    lines += [f"    {a['starts_at'][:16].replace('T', ' ')}  {a['site'] or '-':5} {a['advisor'] or 'à affecter':10} "
              f"présence {a['presence'] or '-'}" for a in j["actions"]]
    lines += [f"    retiré de l'action du {a['starts_at'][:16].replace('T', ' ')} : {a['reason']}" for a in j["removed"]]
    return lines


def register(main: click.Group) -> None:
    """Add ``prestaflow journey …`` to the command line."""
    main.add_command(journey)


@click.group(cls=FrenchGroup)
def journey() -> None:
    """Parcours Activ'Créa : dates, formulaire prestation spéciale, clôture (PRC-01..PRC-11)."""


@journey.command("list")
@click.option("--from", "first_day", default=None, help="début d'ODS à partir du (AAAA-MM-JJ)")
@click.option("--to", "last_day", default=None, help="début d'ODS jusqu'au (AAAA-MM-JJ)")
@click.option("--ressource", "resource", default=None)
@click.option("--json", "as_json", is_flag=True)
def journey_list(first_day, last_day, resource, as_json):
    """Les parcours, par date de début d'ODS : leurs identifiants servent aux autres commandes."""
    params = {k: v for k, v in {"from": first_day, "to": last_day, "resource": resource}.items() if v}
    rows = run(lambda api: list_journeys(api, params))
    if as_json:
        print_json(rows)
        return
    for r in rows:
        click.echo(list_line(r))
    click.echo(f"{len(rows)} parcours.")


@journey.command("show")
@click.argument("enrolment_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True)
def journey_show(enrolment_id, as_json):
    """Un parcours : dates, formulaire, situation, actions."""
    found = run(lambda api: show(api, enrolment_id))
    print_json(found) if as_json else click.echo("\n".join(journey_lines(found)))


@journey.command("dates")
@click.argument("enrolment_id", metavar="ID")
@click.option("--start", default=None, help="date de début (au plus tard la première action)")
@click.option("--end", default=None, help="date de fin (au plus tôt la dernière action)")
def journey_dates(enrolment_id, start, end):
    """Modifier les dates de début et de fin du parcours (PRC-01)."""
    if start is None and end is None:
        raise click.UsageError("Rien à modifier : donnez --start, --end ou les deux.")
    result = run(lambda api: change_dates(api, enrolment_id, start, end))
    click.echo("Dates modifiées." if result["changed"] else "Dates inchangées.")
    if result["closed"]:
        click.echo("Parcours clôturé (ODSClosed).")


FORM_OPTIONS = (("--order-number", "order_number", "n° de commande"),
                ("--prescriber", "prescriber", "conseiller France Travail prescripteur"),
                ("--agency-code", "agency_code", "code de l'agence France Travail"),
                ("--prestappli-initial", "prestappli_initial_on", "date de dépôt Prest@ppli après l'entretien initial"),
                ("--prestappli-final", "prestappli_final_on", "date de dépôt Prest@ppli du bilan / de la fin"),
                ("--initial-interview", "initial_interview_on", "date entretien initial (première action présente)"),
                ("--end-date", "outcome_on", "date bilan / abandon / sortie anticipée"),
                ("--detail", "bilan_detail", "motif détaillé du bilan"))


def _form_options(command):
    for flag, name, text in reversed(FORM_OPTIONS):
        command = click.option(flag, name, default=None, help=text)(command)
    return command


@journey.command("form")
@click.argument("enrolment_id", metavar="ID")
@_form_options
@click.option("--initial-outcome", type=click.Choice(["poursuivi", "reoriente"]), default=None,
              help="suite entretien initial")
@click.option("--exit", "exit_kind", type=click.Choice(list(EXITS)), default=None,
              help="fin du parcours : bilan, abandon ou sortie (anticipée), avec --reason")
@click.option("--reason", default=None, help="motif de la fin choisie par --exit (dans la liste de l'ODS)")
@click.option("--clear", multiple=True, metavar="CHAMP", help="vider ce champ (option répétable)")
@click.option("--json", "as_json", is_flag=True)
def journey_form(enrolment_id, initial_outcome, exit_kind, reason, clear, as_json, **fields):
    """Enregistrer le formulaire prestation spéciale, même partiellement (PRC-02) ; le parcours se clôture
    s'il est échu et que sa fin est renseignée (PRC-07)."""
    if (exit_kind is None) != (reason is None):
        raise click.UsageError("--exit et --reason vont ensemble (par exemple --exit abandon --reason \"Injoignable\").")
    changes: dict[str, Any] = {name: None for name in clear}
    changes |= {name: value for name, value in fields.items() if value is not None}
    if initial_outcome:
        changes["initial_outcome"] = initial_outcome
    if exit_kind:
        # One end only: choosing it empties the two others.
        changes |= {name: None for name in EXITS.values()} | {EXITS[exit_kind]: reason}
    if not changes:
        raise click.UsageError("Rien à enregistrer : donnez au moins une option.")
    result = run(lambda api: save_form(api, enrolment_id, changes))
    if as_json:
        print_json(result)
        return
    click.echo(f"Formulaire enregistré ; situation : {result['situation']}." if result["changed"]
               else f"Formulaire inchangé ; situation : {result['situation']}.")
    if result["closed"]:
        click.echo("Parcours clôturé (ODSClosed).")


@journey.command("close-due")
@click.option("--json", "as_json", is_flag=True)
def journey_close_due(as_json):
    """Clôturer les parcours échus dont la fin est renseignée (PRC-07) : le passage quotidien."""
    result = run(close_due)
    if as_json:
        print_json(result)
        return
    click.echo(f"{len(result['closed'])} parcours clôturé(s) ; {result['open_past_end']} échu(s) restent ouverts "
               "(fin non renseignée, ou rouvert en attente de correction).")
    for enrolment_id in result["closed"]:
        click.echo(f"  {enrolment_id}")


@journey.command("reopen")
@click.argument("enrolment_id", metavar="ID")
@click.option("--reason", required=True, help="motif de la réouverture")
def journey_reopen(enrolment_id, reason):
    """Rouvrir un parcours clôturé, avec un motif (PRC-10, ODSReopened)."""
    result = run(lambda api: reopen(api, enrolment_id, reason))
    click.echo(f"Parcours rouvert (clôture n° {result['closing']} annulée).")
