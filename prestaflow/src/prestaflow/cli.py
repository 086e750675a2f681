"""``prestaflow``: the staff's command line.

Exit codes: 0 done, 1 refused input (its messages are printed), 2 usage error.
"""

import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from servicekit.clock import PARIS
from servicekit.settings import ServiceSettings

from prestaflow import affectation_cli as affectation_commands
from prestaflow import beneficiary_cli as beneficiary_commands
from prestaflow import billing_cli as billing_commands
from prestaflow import click_fr
from prestaflow import gdpr_cli as gdpr_commands
from prestaflow import import_cli as import_commands
from prestaflow import journey_cli as journey_commands
from prestaflow import journey_views_cli as journey_views_commands
from prestaflow import planning_cli as planning_commands
from prestaflow import referential as referential_commands
from prestaflow import notify_cli as notify_commands
from prestaflow.client import Api
from prestaflow.commands import REFUSED, print_json, run
from prestaflow.embedded import SERVICE_NAMES

# click's own messages in French, before any option is built (click.Path names its type then).
click_fr.install()


@click.group(cls=click_fr.FrenchGroup)
def main() -> None:
    """Prestaflow : le back-office Activ'Créa."""


@main.group()
def referential() -> None:
    """Le référentiel de la structure (antennes, sites, conseillers, ODS, ressources, catalogue, modèles)."""


@referential.command("load")
@click.argument("file", type=click.Path(path_type=Path), metavar="FICHIER")
@click.option("--json", "as_json", is_flag=True, help="afficher le résultat en JSON")
def referential_load(file: Path, as_json: bool) -> None:
    """Charger FICHIER (YAML) : refusé en entier si une entrée est fausse ; le recharger ne change rien."""
    results = run(lambda api: referential_commands.load(api, file))
    if as_json:
        print_json(results)
        return
    for label, result in results.items():
        state = "modifié" if result["changed"] else "inchangé"
        click.echo(f"{label} : {state} (version {result['version']})")


@referential.command("show")
@click.option("--json", "as_json", is_flag=True, help="afficher en JSON tout ce que détient chaque service")
def referential_show(as_json: bool) -> None:
    """Ce que chaque service détient du référentiel."""
    view = run(referential_commands.show)
    if as_json:
        print_json(view)
    else:
        click.echo("\n".join(referential_commands.summary(view)))


@main.group()
def deadletters() -> None:
    """Événements qu'un service n'a pas pu traiter, mis de côté avec leur erreur."""


service_option = click.option("--service", type=click.Choice(SERVICE_NAMES), multiple=True,
                              help="seulement ce service (option répétable) ; par défaut : tous")


@deadletters.command("list")
@service_option
def deadletters_list(service: tuple[str, ...]) -> None:
    """Les événements mis de côté, par service (JSON)."""
    async def work(api: Api) -> dict[str, Any]:
        return {s: (await api.request("GET", s, "/admin/dead-letters")).json() for s in service or SERVICE_NAMES}

    print_json(run(work))


@deadletters.command("redrive")
@service_option
def deadletters_redrive(service: tuple[str, ...]) -> None:
    """Relancer les événements mis de côté, une fois leur cause corrigée."""
    async def work(api: Api) -> dict[str, Any]:
        return {s: (await api.request("POST", s, "/admin/dead-letters/redrive")).json()
                for s in service or SERVICE_NAMES}

    results = run(work)
    print_json(results)
    if any(r.get("failed") for r in results.values()):
        sys.exit(REFUSED)


@main.command("events")
@service_option
def events(service: tuple[str, ...]) -> None:
    """Les événements émis par chaque service, dans l'ordre (lignes JSON) : le journal que rejouent les auditeurs."""
    async def work(api: Api) -> list[dict[str, Any]]:
        return [e for s in service or SERVICE_NAMES for e in (await api.request("GET", s, "/admin/events")).json()]

    for entry in run(work):
        click.echo(json.dumps(entry["envelope"], ensure_ascii=False))


@main.group()
def audit() -> None:
    """Audit du journal d'événements : qui a fait quoi, export, vérification des chaînes, rejeu dans des bases
    neuves (SEC-04, OPS-04)."""


@audit.command("who")
@click.option("--beneficiary", default=None, metavar="ID", help="seulement ce qui touche ce bénéficiaire")
@click.option("--actor", default=None, metavar="UTILISATEUR", help="seulement ce qu'a fait cet utilisateur")
@click.option("--json", "as_json", is_flag=True, help="afficher en JSON")
def audit_who(beneficiary: str | None, actor: str | None, as_json: bool) -> None:
    """Qui a fait quoi, quand, sur quel enregistrement (SEC-04)."""
    from prestaflow.audit_who import lines, who

    rows = run(lambda api: who(api, beneficiary, actor))
    if as_json:
        print_json(rows)
    else:
        click.echo("\n".join(lines(rows)))


from_kafka = click.option("--from-kafka", "bootstrap", metavar="BOOTSTRAP", default=None,
                          help="lire les topics Kafka depuis le début (ex. kafka:9092)")
from_export = click.option("--from-export", "folder", type=click.Path(path_type=Path), default=None,
                           metavar="DOSSIER", help="lire un export écrit par « prestaflow audit export »")
json_option = click.option("--json", "as_json", is_flag=True, help="afficher le résultat en JSON")


def _audited(work) -> Any:
    """Run ``work`` (an audit step); a log that cannot be audited is refused with its messages."""
    from prestaflow.audit import AuditRefused

    try:
        return work()
    except AuditRefused as exc:
        click.echo("Refusé, rien n'a été écrit dans les services :", err=True)
        for message in exc.messages:
            click.echo(f"  - {message}", err=True)
        sys.exit(REFUSED)


def _log(bootstrap: str | None, folder: Path | None):
    """The log and the chain heads it must reach: from Kafka, an export, or the services' outboxes."""
    import asyncio

    from prestaflow import audit as auditing

    if bootstrap and folder:
        raise click.UsageError("--from-kafka et --from-export s'excluent : choisir une source.")
    if folder:
        return lambda api: asyncio.sleep(0, auditing.from_export(folder))
    if bootstrap:
        return lambda api: _with_none(auditing.from_kafka(bootstrap, ServiceSettings()))
    return lambda api: _with_none(auditing.from_outboxes(api))


async def _with_none(entries):
    return await entries, None


@audit.command("export")
@click.option("--out", type=click.Path(path_type=Path), required=True, metavar="DOSSIER", help="dossier à écrire")
@from_kafka
def audit_export(out: Path, bootstrap: str | None) -> None:
    """Écrire le journal (topics Kafka, ou à défaut les outbox des services) dans DOSSIER."""
    from prestaflow import audit as auditing

    read = _log(bootstrap, None)

    async def work(api: Api) -> dict[str, Any]:
        entries, _ = await read(api)
        return auditing.export(entries, out, f"kafka {bootstrap}" if bootstrap else "outbox")

    manifest = _audited(lambda: run(work))
    total = sum(t["events"] for t in manifest["topics"].values())
    click.echo(f"{total} événement(s) exporté(s) dans {out} ({len(manifest['topics'])} topic(s)).")


@audit.command("verify")
@from_kafka
@from_export
@json_option
def audit_verify(bootstrap: str | None, folder: Path | None, as_json: bool) -> None:
    """Parcourir la chaîne d'empreintes de chaque producteur et nommer le premier événement qui la rompt."""
    from prestaflow import audit as auditing

    read = _log(bootstrap, folder)

    async def work(api: Api) -> dict[str, Any]:
        entries, manifest = await read(api)
        return auditing.verify(entries, (manifest or {}).get("chains"))

    result = _audited(lambda: run(work) if not folder else _offline(work))
    if as_json:
        print_json(result)
    else:
        for producer, count in sorted(result["chained"].items()):
            click.echo(f"{producer} : {count} événement(s) chaîné(s)"
                       + (f", {result['unchained'][producer]} antérieur(s) à la chaîne" if producer in result["unchained"] else ""))
        for message in result["breaks"].values():
            click.echo(f"ROMPUE : {message}")
        click.echo("Chaînes intactes." if result["intact"] else "Chaîne(s) rompue(s).")
    if not result["intact"]:
        sys.exit(REFUSED)


def _offline(work) -> Any:
    """Verifying an export needs no service."""
    import asyncio

    return asyncio.run(work(None))


@audit.command("replay")
@from_kafka
@from_export
@json_option
def audit_replay(bootstrap: str | None, folder: Path | None, as_json: bool) -> None:
    """Rejouer le journal dans des bases neuves des cinq services et comparer l'empreinte de chacun avec
    celle du service en service ; jamais les bases en service."""
    from prestaflow import audit as auditing

    if not (bootstrap or folder):
        raise click.UsageError("donner --from-kafka BOOTSTRAP ou --from-export DOSSIER.")
    read = _log(bootstrap, folder)

    async def work(api: Api) -> dict[str, Any]:
        entries, manifest = await read(api)
        return await auditing.replay(entries, api, (manifest or {}).get("chains"))

    result = _audited(lambda: run(work))
    if as_json:
        print_json(result)
    else:
        click.echo(f"{result['events']} événement(s) rejoué(s).")
        for name, service in result["services"].items():
            verdict = "identique" if service["identical"] else "DIFFÉRENT"
            click.echo(f"{name} : {service['applied']} événement(s) appliqué(s), empreinte {verdict} "
                       f"({service['digest'][:16]}…)")
            if service["refused"]:
                click.echo(f"   {service['refused']}")
            if not service["log_complete"]:
                click.echo("   le journal ne contient pas les derniers événements émis par le service")
            for table, rows in service["differing_tables"].items():
                click.echo(f"   table {table} : {rows['replay_rows']} ligne(s) rejouée(s), {rows['live_rows']} en service")
            for table, reason in service["excluded"].items():
                click.echo(f"   table {table} hors empreinte (non rejouable par construction) : {reason}")
    if not result["identical"]:
        sys.exit(REFUSED)


@main.command("serve")
@click.option("--host", default=None, help="par défaut : PRESTAFLOW_HTTP_HOST ou 127.0.0.1")
@click.option("--port", type=int, default=None, help="par défaut : PRESTAFLOW_HTTP_PORT ou 8000")
def serve(host: str | None, port: int | None) -> None:
    """Tous les services dans un seul processus, sur un seul port HTTP, chaque API sous /<service>."""
    from servicekit import logs
    from servicekit import serve as server
    from servicekit.auth import AuthNotConfigured, authenticator_from_settings

    from prestaflow.embedded import Embedded

    settings = ServiceSettings()
    settings = settings.model_copy(update={k: v for k, v in {"http_host": host, "http_port": port}.items() if v})
    logs.configure()
    try:  # SEC-01: a port opens only with authentication on, or on loopback for a trial
        embedded = Embedded(settings, background_relays=True,
                            auth=lambda directory: authenticator_from_settings(settings, directory))
    except AuthNotConfigured as exc:
        click.echo(str(exc), err=True)
        sys.exit(REFUSED)
    server.run(embedded.app, settings)


@main.command("demo")
@click.option("--out", type=click.Path(path_type=Path), default=Path("demo-output"), show_default=True,
              help="dossier des résultats")
@click.option("--samples", type=click.Path(path_type=Path), default=None,
              help="dossier des fichiers d'exemple (par défaut : ../shared/prestappli/samples à côté du projet)")
def demo(out: Path, samples: Path | None) -> None:
    """Tout le scénario réalisé à ce jour, en mode embarqué, à partir d'un état neuf, écrit dans --out."""
    from prestaflow.demo import run_demo

    sys.exit(run_demo(out, samples))


@main.group()
def planning() -> None:
    """Agendas, duplication et tableau de Planification Activ'Créa (PLN-01..PLN-08)."""


class FrenchDateTime(click.DateTime):
    """A date or date-time option whose refusal says, in French, what was expected."""

    def __init__(self, formats: list[str], expected: str):
        super().__init__(formats=formats)
        self.expected = expected

    def convert(self, value, param, ctx):
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter:
            self.fail(f"« {value} » n'est pas reconnu : attendu {self.expected}.", param, ctx)


day = FrenchDateTime(["%Y-%m-%d", "%d/%m/%Y"], "AAAA-MM-JJ ou JJ/MM/AAAA")
moment = FrenchDateTime(["%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M", "%Y-%m-%dT%H:%M"],
                        "« AAAA-MM-JJ HH:MM » ou « JJ/MM/AAAA HH:MM » (heure de Paris)")


@planning.command("plan")
@click.option("--advisor", required=True, help="code du conseiller")
@click.option("--start", "starts_at", type=moment, required=True, help="« AAAA-MM-JJ HH:MM », heure de Paris")
@click.option("--end", "ends_at", type=moment, required=True)
@click.option("--site", default=None)
@click.option("--ods", default=None, help="par défaut : l'ODS Activ'Créa")
@click.option("--step", type=int, default=1, show_default=True)
@click.option("--ressource", "resource", default=None, help="par défaut : la ressource de l'ODS Activ'Créa")
@click.option("--remote", is_flag=True, help="100 % à distance")
@click.option("--max", "max_participants", type=int, default=None)
@click.option("--absence", is_flag=True)
@click.option("--json", "as_json", is_flag=True)
def planning_plan(advisor, starts_at, ends_at, site, ods, step, resource, remote, max_participants, absence, as_json):
    """Planifier une action dans l'agenda d'un conseiller."""
    body = {"advisor": advisor, "starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat(), "site": site,
            "ods": ods, "step": None if absence else step, "resource": resource,
            "mode": "remote" if remote else "on_site", "max_participants": max_participants, "absence": absence}
    action = run(lambda api: planning_commands.plan(api, body))
    print_json(action) if as_json else click.echo(f"Action planifiée : {planning_commands.describe(action)}")


@planning.command("duplicate")
@click.argument("action_id", metavar="ID_ACTION")
@click.option("--at", "starts", type=moment, multiple=True, help="début d'une copie (option répétable)")
@click.option("--from", "first_day", type=day, default=None, help="rythme hebdomadaire : premier jour")
@click.option("--to", "last_day", type=day, default=None, help="rythme hebdomadaire : dernier jour")
@click.option("--weekdays", default="1,2,3,4,5", show_default=True, help="1 = lundi … 7 = dimanche")
@click.option("--times", default=None, help="heures de début, par ex. 09:00,10:00")
@click.option("--json", "as_json", is_flag=True)
def planning_duplicate(action_id, starts, first_day, last_day, weekdays, times, as_json):
    """Duplication sans liaison : copies indépendantes aux heures données ou selon un rythme hebdomadaire."""
    body: dict = {"starts": [s.isoformat() for s in starts]}
    if first_day or last_day or times:
        if not (first_day and last_day and times):
            raise click.UsageError("--from, --to et --times vont ensemble.")
        body["weekly"] = {"first_day": first_day.date().isoformat(), "last_day": last_day.date().isoformat(),
                          "weekdays": [int(d) for d in weekdays.split(",")], "times": times.split(",")}
    result = run(lambda api: planning_commands.duplicate(api, action_id, body))
    if as_json:
        print_json(result)
        return
    click.echo(f"{len(result['created'])} copie(s) créée(s), {len(result['refused'])} refusée(s).")
    for refused in result["refused"]:
        click.echo(f"  refusée {refused['starts_at']} : {' '.join(refused['messages'])}")


@planning.command("change")
@click.argument("action_id", metavar="ID_ACTION")
@click.option("--advisor", default=None)
@click.option("--start", "starts_at", type=moment, default=None)
@click.option("--end", "ends_at", type=moment, default=None)
@click.option("--site", default=None)
@click.option("--ressource", "resource", default=None)
@click.option("--mode", type=click.Choice(["on_site", "remote"]), default=None)
@click.option("--max", "max_participants", type=int, default=None)
@click.option("--json", "as_json", is_flag=True)
def planning_change(action_id, advisor, starts_at, ends_at, site, resource, mode, max_participants, as_json):
    """Modifier une action ; les règles de la planification s'appliquent (PLN-01..PLN-03)."""
    changes = {"advisor": advisor, "starts_at": starts_at and starts_at.isoformat(),
               "ends_at": ends_at and ends_at.isoformat(), "site": site, "resource": resource, "mode": mode,
               "max_participants": max_participants}
    changes = {k: v for k, v in changes.items() if v is not None}
    if not changes:
        raise click.UsageError("Rien à modifier : donnez au moins une option.")
    action = run(lambda api: planning_commands.change(api, action_id, changes))
    print_json(action) if as_json else click.echo(f"Action modifiée : {planning_commands.describe(action)}")


@planning.command("cancel")
@click.argument("action_id", metavar="ID_ACTION")
@click.option("--reason", default=None)
def planning_cancel(action_id, reason):
    """Annuler une action ; ses participants en sont retirés (ParticipantRemoved)."""
    action = run(lambda api: planning_commands.cancel(api, action_id, reason))
    click.echo(f"Action annulée : {planning_commands.describe(action)}")


@planning.command("add-participant")
@click.argument("action_id", metavar="ID_ACTION")
@click.argument("beneficiary_id", metavar="ID_BÉNÉFICIAIRE")
@click.option("--ressource", "resource", default=None,
              help="ressource de ce participant (par défaut : celle de l'action)")
@click.option("--ods", default=None, help="ODS de ce participant (par défaut : celle de l'action)")
def planning_add_participant(action_id, beneficiary_id, resource, ods):
    """Ajouter un participant à une action, dans la limite de ses places (PLN-05)."""
    body = {"beneficiary_id": beneficiary_id, "resource": resource, "ods": ods}
    result = run(lambda api: planning_commands.add_participant(api, action_id, body))
    done = "Participant ajouté" if result["added"] else "Déjà participant, rien n'a changé"
    click.echo(f"{done} ; places libres : {result['free_places']}.")


@planning.command("remove-participant")
@click.argument("action_id", metavar="ID_ACTION")
@click.argument("beneficiary_id", metavar="ID_BÉNÉFICIAIRE")
@click.option("--reason", default=None)
def planning_remove_participant(action_id, beneficiary_id, reason):
    """Retirer un participant d'une action (PLN-05, PRC-08)."""
    result = run(lambda api: planning_commands.remove_participant(api, action_id, beneficiary_id, reason))
    click.echo("Participant retiré." if result["removed"] else "Ce bénéficiaire n'était pas participant.")


@planning.command("presence")
@click.argument("action_id", metavar="ID_ACTION")
@click.argument("beneficiary_id", metavar="ID_BÉNÉFICIAIRE")
@click.argument("presence", type=click.Choice(["oui", "non", "excusé"]))
def planning_presence(action_id, beneficiary_id, presence):
    """Valider la présence d'un participant à une action passée (PLN-08)."""
    result = run(lambda api: planning_commands.validate_presence(api, action_id, beneficiary_id, presence))
    click.echo(f"Présence validée : {presence}." if result["changed"] else f"Présence déjà validée : {presence}.")


@planning.command("agenda")
@click.option("--advisor", multiple=True)
@click.option("--site", multiple=True)
@click.option("--from", "first_day", type=day, default=None)
@click.option("--to", "last_day", type=day, default=None)
@click.option("--json", "as_json", is_flag=True)
def planning_agenda(advisor, site, first_day, last_day, as_json):
    """Agendas de conseillers (une équipe) ou de sites sur une période."""
    params = {"advisor": list(advisor), "site": list(site)}
    if first_day:
        params["from"] = first_day.date().isoformat()
    if last_day:
        params["to"] = last_day.date().isoformat()
    actions = run(lambda api: planning_commands.agenda(api, params))
    if as_json:
        print_json(actions)
    else:
        for action in actions:
            click.echo(planning_commands.describe(action))
        click.echo(f"{len(actions)} action(s).")


def _table_options(command):
    for option in reversed([
        click.option("--from", "first_day", type=day, required=True),
        click.option("--to", "last_day", type=day, required=True),
        click.option("--ressource", "resource", default=None),
        click.option("--site", default=None),
        click.option("--advisor", default=None),
    ]):
        command = option(command)
    return command


@planning.command("table")
@_table_options
@click.option("--json", "as_json", is_flag=True)
def planning_table(first_day, last_day, resource, site, advisor, as_json):
    """Le tableau de Planification Activ'Créa (31 jours au plus), par site."""
    params = planning_commands.table_params(first_day.date(), last_day.date(), resource, site, advisor)
    result = run(lambda api: planning_commands.table(api, params))
    if as_json:
        print_json(result)
        return
    for group in result["sites"]:
        click.echo(f"{group['name']} ({len(group['actions'])} créneau(x))")
        for a in group["actions"]:
            start = datetime.fromisoformat(a["starts_at"])
            click.echo(f"  {start:%d/%m/%Y %H:%M}  {a['advisor_name'] or 'à affecter':20} "
                       f"places libres {a['free_places']}/{a['capacity']}")


@planning.command("export")
@_table_options
@click.option("--out", type=click.Path(path_type=Path), required=True, help="dossier des deux fichiers")
def planning_export(first_day, last_day, resource, site, advisor, out):
    """Écrire le fichier à déposer sur France Travail (CSV) et le classeur (XLSX, un onglet par site)."""
    params = planning_commands.table_params(first_day.date(), last_day.date(), resource, site, advisor)
    for path in run(lambda api: planning_commands.export(api, params, out)):
        click.echo(f"Écrit : {path}")


@planning.command("flagged")
@click.option("--json", "as_json", is_flag=True)
def planning_flagged(as_json):
    """Actions futures en rouge : planifiées selon un paramétrage modifié depuis (PLN-06)."""
    flagged = run(lambda api: api.request("GET", "planning", "/actions/flagged"))
    rows = flagged.json()
    if as_json:
        print_json(rows)
        return
    for row in rows:
        click.echo(f"{row['action']['action_id']} : {' '.join(row['reasons'])}")
    click.echo(f"{len(rows)} action(s) à corriger.")


@main.command("import")
@click.argument("file", type=click.Path(path_type=Path), metavar="FICHIER")
@click.option("--ressource", "resource", required=True, help="code de la ressource, par ex. ACR2025-L12")
@click.option("--partial", is_flag=True,
              help="importer les lignes reconnues et signaler les autres (par défaut : tout refuser)")
@click.option("--liste", "kind", type=click.Choice(["J-10", "J-2"]), default=None,
              help="par défaut : J-2 si la liste est reçue au plus 3 jours avant ses rendez-vous")
@click.option("--user", default=lambda: os.environ.get("USER", "inconnu"), show_default="$USER")
@click.option("--json", "as_json", is_flag=True)
def import_list(file, resource, partial, kind, user, as_json):
    """Importer une « Liste des inscrits » Prest@ppli (J-10 ou J-2) ; barre de progression sur un terminal."""
    with import_commands.ProgressBar(enabled=sys.stderr.isatty() and not as_json) as bar:
        report = run(lambda api: import_commands.upload(api, file, resource, partial, kind, user, bar.update))
    if as_json:
        print_json(report)
    else:
        click.echo("\n".join(import_commands.report_lines(report)))
    if report["status"] == "refused":
        sys.exit(REFUSED)


@main.command("imports")
@click.option("--json", "as_json", is_flag=True)
def import_history(as_json):
    """Historique des imports : fichier, empreinte, ressource, utilisateur, heure, compteurs, messages (IMP-08)."""
    history = run(lambda api: api.request("GET", "importer", "/imports")).json()
    if as_json:
        print_json(history)
        return
    for report in history:
        click.echo(f"{report['imported_at'][:16]}  {report['user']:10} " + import_commands.report_lines(report)[0])


@main.command("purge")
def purge():
    """Supprimer les dossiers des bénéficiaires non confirmés depuis 5 jours ou plus (RGPD ; le service
    d'import le fait aussi toutes les heures)."""
    purged = run(lambda api: api.request("POST", "importer", "/purge")).json()["purged"]
    click.echo(f"{len(purged)} dossier(s) supprimé(s).")


@main.group()
def affectation() -> None:
    """Rendez-vous importés en attente d'un conseiller (AFF-01..AFF-03)."""


@affectation.command("list")
@click.option("--ressource", "resource", default=None)
@click.option("--site", default=None, help="par défaut : tous les sites")
@click.option("--json", "as_json", is_flag=True)
def affectation_list(resource, site, as_json):
    """Les rendez-vous à affecter, chacun avec ses candidats classés."""
    rows = run(lambda api: affectation_commands.worklist(api, resource, site))
    print_json(rows) if as_json else click.echo("\n".join(affectation_commands.worklist_lines(rows)))


@affectation.command("assign")
@click.argument("appointment", metavar="RENDEZ_VOUS")
@click.argument("advisor", metavar="CONSEILLER")
@click.option("--action", "target", default=None, help="créneau du conseiller à rejoindre (catégories 1 et 2)")
@click.option("--site", default=None, help="site de la nouvelle action (catégorie 4)")
@click.option("--user", default=lambda: os.environ.get("USER", "inconnu"), show_default="$USER")
def affectation_assign(appointment, advisor, target, site, user):
    """Affecter RENDEZ_VOUS (l'identifiant de son action) à CONSEILLER, l'un de ses candidats."""
    result = run(lambda api: affectation_commands.assign(api, appointment, advisor, target, site, user))
    click.echo(f"Affecté ({result.get('label', 'déjà fait')}) : {result.get('effect', '')}".rstrip(" :"))


notify_commands.register(main)
journey_commands.register(main)
journey_views_commands.register(main)
billing_commands.register(main)


@main.group()
def beneficiary() -> None:
    """La fiche entrepreneur (BEN-01), les doublons et leur fusion (BEN-03)."""


beneficiary_commands.register(beneficiary)


FIELD_LABELS = {"civility": "Civilité", "last_name": "Nom", "first_name": "Prénom", "birth_date": "Date de naissance",
                "postcode": "Code postal", "address": "Adresse", "email": "E-mail", "phone": "Téléphone",
                "accepts_email": "Accepte les e-mails", "accepts_sms": "Accepte les SMS"}


def _paris(at: str | None, form: str = "%d/%m/%Y") -> str:
    return datetime.fromisoformat(at).astimezone(PARIS).strftime(form) if at else "?"


def _consent(person: dict[str, Any], channel: str) -> str:
    accepted = "oui" if person[f"accepts_{channel}"] else "non"
    source, at, by = (person.get(f"{channel}_consent_{p}") for p in ("source", "at", "by"))
    if not source:
        return accepted
    return f"{accepted} ({source}{f' {by}' if by else ''}, le {_paris(at)})"


def beneficiary_lines(person: dict[str, Any]) -> list[str]:
    """The *fiche entrepreneur* as ``beneficiary show`` prints it."""
    lines = [f"{label:27}: {value if value is not None else '-'}" for label, value in [
        ("Identifiant", person["id"]), ("Identifiant France Travail", person["ft_id"]),
        ("Civilité", person["civility"]), ("Nom", person["last_name"]), ("Prénom", person["first_name"]),
        ("Date de naissance", person["birth_date"]), ("Code postal", person["postcode"]),
        ("Adresse", person.get("address")), ("E-mail", person["email"]), ("Téléphone", person["phone"]),
        ("Accepte les e-mails", _consent(person, "email")), ("Accepte les SMS", _consent(person, "sms")),
        ("Accord RGPD", person["gdpr"]["label"] if "gdpr" in person else None),  # BEN-02
        ("Actif", "oui" if person["active"] else "non")]]
    lines += [f"Inscription {e['resource_code']} (site {e['site_code']}, commande {e['order_number'] or '-'}) "
              f"du {e['created_at'][:10]}" for e in person["enrolments"]]
    if person.get("history"):
        lines.append("Historique :")
        lines += [f"  {_paris(h['at'], '%d/%m/%Y %H:%M')}  {h['actor']:20} {FIELD_LABELS.get(h['field'], h['field'])} : "
                  f"{h['old'] if h['old'] is not None else '-'} → {h['new'] if h['new'] is not None else '-'}"
                  for h in person["history"]]
    return lines


@beneficiary.command("show")
@click.argument("beneficiary_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="afficher en JSON")
def beneficiary_show(beneficiary_id: str, as_json: bool) -> None:
    """La fiche d'un bénéficiaire : identité, contact, consentements, inscriptions, historique."""
    from prestaflow.referential import checked

    async def work(api: Api) -> dict[str, Any]:
        return checked(await api.request("GET", "importer", f"/beneficiaries/{beneficiary_id}"))

    person = run(work)
    if as_json:
        print_json(person)
        return
    click.echo("\n".join(beneficiary_lines(person)))


yes_no = click.Choice(["oui", "non"])


@beneficiary.command("edit")
@click.argument("beneficiary_id", metavar="ID")
@click.option("--civility", default=None, help="civilité : M. ou Mme")
@click.option("--last-name", default=None, help="nom")
@click.option("--first-name", default=None, help="prénom")
@click.option("--birth-date", default=None, help="date de naissance (JJ/MM/AAAA ou AAAA-MM-JJ)")
@click.option("--postcode", default=None, help="code postal")
@click.option("--address", default=None, help="adresse postale")
@click.option("--email", default=None, help="adresse e-mail (\"\" pour l'effacer)")
@click.option("--phone", default=None, help="numéro de téléphone (\"\" pour l'effacer)")
@click.option("--consent-email", type=yes_no, default=None, help="accepte d'être contacté par mail")
@click.option("--consent-sms", type=yes_no, default=None, help="accepte d'être contacté par SMS")
@click.option("--json", "as_json", is_flag=True, help="afficher le résultat en JSON")
def beneficiary_edit(beneficiary_id: str, as_json: bool, consent_email: str | None, consent_sms: str | None,
                     **fields: str | None) -> None:
    """Corriger la fiche d'un bénéficiaire (seuls les champs donnés changent) ; chaque modification est
    gardée dans l'historique, et les services qui en ont une copie la reçoivent. Retirer un consentement
    (« non ») annule aussitôt les messages de ce canal pas encore envoyés."""
    from prestaflow.referential import checked

    body: dict[str, Any] = {name: value for name, value in fields.items() if value is not None}
    for name, value in (("accepts_email", consent_email), ("accepts_sms", consent_sms)):
        if value is not None:
            body[name] = value == "oui"
    if not body:
        raise click.UsageError("Rien à corriger : donnez au moins un champ (par exemple --email).")

    async def work(api: Api) -> dict[str, Any]:
        return checked(await api.request("PATCH", "importer", f"/beneficiaries/{beneficiary_id}", json=body))

    result = run(work)
    if as_json:
        print_json(result)
        return
    changed = [FIELD_LABELS[name] for name in result["changed"]]
    click.echo(f"Fiche corrigée : {', '.join(changed)}." if changed else "Rien n'a changé : la fiche a déjà ces valeurs.")
    for message in result.get("duplicates", []):  # BEN-03: reported, never merged
        click.echo(f"  {message}")


gdpr_commands.register(beneficiary)  # BEN-02: gdpr-request, gdpr-paper


if __name__ == "__main__":  # last: ``python -m prestaflow.cli`` needs every command defined above
    main()
