"""``prestaflow notify …``: templates, sending rules, the outbox, the GDPR mail by hand (NOT-01..NOT-06).

``register(main)`` adds the ``notify`` group to the command line; ``write_demo_messages`` writes the
e-mails notify would send as .eml files (for the demo).
"""

import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from prestaflow.click_fr import FrenchGroup
from prestaflow.client import Api
from prestaflow.commands import REFUSED, print_json, run
from prestaflow.referential import checked

STATUSES = ("scheduled", "sending", "sent", "not_sent", "cancelled", "manual")


async def call(api: Api, method: str, path: str, **kwargs: Any) -> Any:
    """Notify's answer, or Refused with its French messages."""
    return checked(await api.request(method, "notify", path, **kwargs))


def _when(iso: str | None) -> str:
    return f"{datetime.fromisoformat(iso):%d/%m/%Y %H:%M}" if iso else "-"


def template_lines(templates: list[dict[str, Any]]) -> list[str]:
    lines = []
    for t in templates:
        state = "actif" if t["active"] else "INACTIF"
        uses = f"{t['rules']} règle(s), {t['messages']} envoi(s)"
        flags = (" · système" if t["system"] else "") + (" · texte par défaut" if t["default_body"] else "")
        lines.append(f"{t['code']:20} {t['channel']:5} {state:8} {uses:28} {t['subject'] or ''}{flags}")
    lines.append(f"{len(templates)} modèle(s).")
    return lines


def rule_lines(rules: list[dict[str, Any]]) -> list[str]:
    confirmation = {"yes": "oui", "no": "non", "any": "toutes"}
    lines = []
    for r in rules:
        delay = "à l'import" if r["delay_days"] == 0 else f"J{r['delay_days']:+d}"
        flag = f"  ⚠ {r['message']}" if r["flagged"] else ""
        lines.append(f"{r['ods']:10} confirmation {confirmation[r['confirmation']]:7} {r['template']:20} "
                     f"{delay:11} 19:00{flag}")
    lines.append(f"{len(rules)} règle(s) ; {sum(r['flagged'] for r in rules)} en rouge (modèle inactif).")
    return lines


def outbox_lines(messages: list[dict[str, Any]]) -> list[str]:
    lines = []
    for m in messages:
        reason = f"  {m['reason']}" if m["reason"] else ""
        lines.append(f"{_when(m['due_at'])}  {m['status_label']:20} {m['template']:18} {m['channel']:5} "
                     f"{m['beneficiary_id']}{reason}")
    lines.append(f"{len(messages)} message(s).")
    return lines


def register(main: click.Group) -> None:
    """Add ``prestaflow notify …`` to the command line."""
    main.add_command(notify)


@click.group(cls=FrenchGroup)
def notify() -> None:
    """E-mails et SMS : modèles, règles d'envoi, file d'attente des envois (NOT-01..NOT-06)."""


@notify.group("templates", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def templates(ctx: click.Context, as_json: bool) -> None:
    """Lister les modèles ; sous-commandes show, preview, activate, deactivate, delete."""
    if ctx.invoked_subcommand is not None:
        return
    rows = run(lambda api: call(api, "GET", "/templates"))
    print_json(rows) if as_json else click.echo("\n".join(template_lines(rows)))


@templates.command("show")
@click.argument("code")
def templates_show(code: str) -> None:
    """Un modèle avec son objet et ses textes (un texte par défaut là où il n'en a pas)."""
    print_json(run(lambda api: call(api, "GET", f"/templates/{code}")))


@templates.command("preview")
@click.argument("code")
@click.option("--html", "with_html", is_flag=True, help="afficher aussi la partie HTML")
def templates_preview(code: str, with_html: bool) -> None:
    """Le modèle rendu avec des données d'exemple."""
    preview = run(lambda api: call(api, "POST", f"/templates/{code}/preview"))
    if preview["subject"] is not None:
        click.echo(f"Objet : {preview['subject']}\n")
    click.echo(preview["text"])
    if with_html and preview["html"]:
        click.echo(preview["html"])


@templates.command("activate")
@click.argument("code")
def templates_activate(code: str) -> None:
    """Activer un modèle."""
    result = run(lambda api: call(api, "POST", f"/templates/{code}/activate"))
    click.echo(f"Modèle « {code} » actif (version {result['version']}).")


@templates.command("deactivate")
@click.argument("code")
def templates_deactivate(code: str) -> None:
    """Désactiver un modèle : ses règles passent en rouge et n'envoient plus rien."""
    result = run(lambda api: call(api, "POST", f"/templates/{code}/deactivate"))
    click.echo(f"Modèle « {code} » inactif (version {result['version']}).")


@templates.command("delete")
@click.argument("code")
def templates_delete(code: str) -> None:
    """Supprimer un modèle qu'aucune règle ni aucun envoi n'utilise (sinon : le désactiver)."""
    run(lambda api: call(api, "DELETE", f"/templates/{code}"))
    click.echo(f"Modèle « {code} » supprimé.")


@notify.command("rules")
@click.option("--json", "as_json", is_flag=True)
def rules(as_json: bool) -> None:
    """Règles d'envoi automatique ; celles dont le modèle est inactif sont en rouge."""
    rows = run(lambda api: call(api, "GET", "/rules"))
    print_json(rows) if as_json else click.echo("\n".join(rule_lines(rows)))


@notify.command("outbox")
@click.option("--status", multiple=True, type=click.Choice(STATUSES), help="seulement ces états (option répétable)")
@click.option("--beneficiary", default=None, help="seulement les messages de ce bénéficiaire")
@click.option("--send", is_flag=True, help="envoyer d'abord ce qui doit partir maintenant")
@click.option("--json", "as_json", is_flag=True)
def outbox(status: tuple[str, ...], beneficiary: str | None, send: bool, as_json: bool) -> None:
    """Messages : programmés, envoyés, non envoyés avec le motif, annulés, à envoyer à la main."""
    async def work(api: Api) -> tuple[dict[str, int] | None, list[dict[str, Any]]]:
        sent = await call(api, "POST", "/outbox/send") if send else None
        params: dict[str, Any] = {"status": list(status)}
        if beneficiary:
            params["beneficiary_id"] = beneficiary
        return sent, await call(api, "GET", "/outbox", params=params)

    sent, rows = run(work)
    if as_json:
        print_json({"sent": sent, "messages": rows} if send else rows)
        return
    if sent is not None:
        click.echo(f"Envoi : {sent['sent']} envoyé(s), {sent['not_sent']} non envoyé(s), {sent['cancelled']} "
                   f"annulé(s), {sent['retry']} à réessayer.")
    click.echo("\n".join(outbox_lines(rows)))


@notify.command("send-gdpr")
@click.argument("beneficiary_id", metavar="ID_BÉNÉFICIAIRE")
def send_gdpr(beneficiary_id: str) -> None:
    """Envoyer à la main le mail d'information RGPD (NOT-05), par ex. quand la civilité manque."""
    async def work(api: Api) -> dict[str, Any]:
        result = await call(api, "POST", f"/beneficiaries/{beneficiary_id}/gdpr")
        return await call(api, "GET", f"/messages/{result['message_id']}")

    message = run(work)
    if message["status"] == "sent":
        click.echo(f"Mail RGPD envoyé ({_when(message['sent_at'])}).")
    else:
        click.echo(f"Mail RGPD {message['status_label']} : {message['reason'] or 'nouvel essai prévu'}.")
        if message["status"] == "not_sent":
            sys.exit(REFUSED)


async def write_demo_messages(api: Api, out: Path) -> list[Path]:
    """Write every e-mail notify has sent or would send (scheduled) as an .eml file in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    messages = await call(api, "GET", "/outbox", params={"status": ["scheduled", "sending", "sent"]})
    paths = []
    for n, message in enumerate((m for m in messages if m["channel"] == "email"), start=1):
        response = await api.request("GET", "notify", f"/messages/{message['message_id']}/eml")
        if response.status_code != 200:
            continue  # e.g. no longer applicable: nothing would be sent
        path = out / f"{n:02d}-{message['template']}-{message['message_id'][:8]}.eml"
        path.write_bytes(response.content)
        paths.append(path)
    return paths
