"""Turning a template and what notify knows into the text sent (NOT-01). Pure, no I/O.

Jinja2 runs sandboxed. The HTML part autoescapes every field: a name containing ``<script>`` is
shown, never run. The subject and the text part are plain text (no escaping), and a subject is
kept on one line (no header injection).
"""

import html
import re
from dataclasses import dataclass
from functools import lru_cache
from datetime import UTC, datetime, timedelta
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

from servicekit.clock import PARIS

from notify.domain.setup import Template

DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre")
CIVILITY = {"Mme": "Madame", "M.": "Monsieur"}


def _finalize(value: Any) -> Any:
    return "" if value is None else value


_html_env = SandboxedEnvironment(autoescape=True, undefined=StrictUndefined, finalize=_finalize)
_text_env = SandboxedEnvironment(autoescape=False, undefined=StrictUndefined, finalize=_finalize,
                                 keep_trailing_newline=True)


class RenderError(ValueError):
    """The template could not be turned into text (a message naming the part)."""


@dataclass(frozen=True)
class Rendered:
    subject: str | None
    text: str
    html: str | None


def paris(moment: datetime) -> datetime:
    return moment.astimezone(PARIS)


def french_time(moment: datetime) -> str:
    local = paris(moment)
    return f"{local.hour}h{local.minute:02d}"


def french_date_long(moment: datetime) -> str:
    local = paris(moment)
    day = "1er" if local.day == 1 else str(local.day)
    return f"{DAYS[local.weekday()]} {day} {MONTHS[local.month - 1]} {local.year}"


def beneficiary_fields(contact: dict[str, Any] | None) -> dict[str, Any]:
    contact = contact or {}
    civility = contact.get("civility") or ""
    first, last = contact.get("first_name") or "", contact.get("last_name") or ""
    salutation = CIVILITY.get(civility, "Madame, Monsieur")
    greeting = f"{CIVILITY[civility]} {last}" if civility in CIVILITY else " ".join(p for p in (first, last) if p)
    return {"civility": civility, "salutation": salutation, "greeting": greeting or salutation,
            "first_name": first, "last_name": last, "full_name": " ".join(p for p in (first, last) if p)}


def action_fields(appointment: dict[str, Any] | None, referential: dict[str, Any],
                  ends_at: datetime | None = None) -> dict[str, Any]:
    if not appointment:
        return {"date": "", "date_long": "", "time": "", "end_time": "", "site": "", "address": "", "remote": False,
                "mode": "", "ods": ""}
    starts_at = appointment["starts_at"]
    site = referential.get("sites", {}).get(appointment.get("site") or "", {})
    remote = bool(appointment.get("remote") or site.get("remote"))
    return {
        "date": f"{paris(starts_at):%d/%m/%Y}", "date_long": french_date_long(starts_at),
        "time": french_time(starts_at),
        "end_time": french_time(ends_at) if ends_at else "", "site": site.get("name") or appointment.get("site") or "",
        "address": "" if remote else site.get("address") or "", "remote": remote,
        "mode": "à distance" if remote else "sur site",
        "ods": referential.get("ods", {}).get(appointment.get("ods") or "", appointment.get("ods") or ""),
    }


def build_context(contact: dict[str, Any] | None, appointment: dict[str, Any] | None, referential: dict[str, Any],
                  links: dict[str, str], ends_at: datetime | None = None) -> dict[str, Any]:
    structure = (referential.get("structure") or {}).get("name") or "BGE"
    return {
        "beneficiary": beneficiary_fields(contact) | {"gdpr_agreement_url": links.get("gdpr_agreement_url", "")},
        "action": action_fields(appointment, referential, ends_at),
        "order": {"number": (appointment or {}).get("order_number")},
        "structure": {"name": structure, "virtual_office_url": links.get("virtual_office_url", ""),
                      "presentation_url": links.get("presentation_url", "")},
    }


def sample_context(links: dict[str, str], structure: str = "BGE Hauts-de-France") -> dict[str, Any]:
    """Invented data for previews."""
    starts = datetime(2025, 1, 14, 9, 0, tzinfo=PARIS).astimezone(UTC)
    referential = {"structure": {"name": structure}, "ods": {"ACR2025": "Activ'Créa 2025"},
                   "sites": {"ARM": {"name": "Armentières", "address": "12 rue de Lille, 59280 Armentières"}}}
    return build_context(
        {"civility": "Mme", "first_name": "Camille", "last_name": "EXEMPLE"},
        {"starts_at": starts, "site": "ARM", "remote": False, "ods": "ACR2025", "order_number": "BDC-2025-000123"},
        referential, links, ends_at=starts + timedelta(hours=1))


_URL = re.compile(r"https?://[^\s<>\"']+")


def text_to_html(text: str) -> str:
    """Plain text as an HTML body: every character escaped, paragraphs kept, links clickable."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    rendered = []
    for p in paragraphs:
        escaped = str(escape(p))
        escaped = _URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)
        rendered.append("<p>" + escaped.replace("\n", "<br>\n") + "</p>")
    return "\n".join(rendered)


def html_to_text(markup: str) -> str:
    text = re.sub(r"(?is)<(script|style)\b.*?</\1>", "", markup)
    text = re.sub(r"(?i)<br\s*/?>", "\n", text)
    text = re.sub(r"(?i)</p\s*>", "\n\n", text)
    text = re.sub(r"<[^>]+>", "", text)
    text = html.unescape(text)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(line.strip() for line in text.splitlines())).strip() + "\n"


def _document(body: str) -> str:
    if re.search(r"(?i)<html[\s>]", body):
        return body
    return ('<!DOCTYPE html>\n<html lang="fr">\n<head><meta charset="utf-8"></head>\n'
            '<body style="font-family: Arial, sans-serif; font-size: 14px; line-height: 1.5;">\n'
            f"{body}\n</body>\n</html>\n")


@lru_cache(maxsize=512)
def _compiled(autoescape: bool, source: str):
    return (_html_env if autoescape else _text_env).from_string(source)


def _render(env: SandboxedEnvironment, source: str, context: dict[str, Any], code: str, part: str) -> str:
    try:
        return _compiled(env is _html_env, source).render(**context)
    except TemplateError as exc:
        raise RenderError(f"Modèle « {code} » ({part}) : {exc.message or type(exc).__name__}.") from exc


def render(template: Template, context: dict[str, Any]) -> Rendered:
    """Subject, text and HTML of ``template`` for ``context`` (an SMS has text only)."""
    code = template.code
    if template.channel == "sms":
        text = _render(_text_env, template.body_text or "", context, code, "texte")
        return Rendered(None, " ".join(text.split()), None)
    subject = " ".join(_render(_text_env, template.subject or "", context, code, "objet").split())
    if template.body_html:
        body_html = _render(_html_env, template.body_html, context, code, "corps HTML")
        text = (_render(_text_env, template.body_text, context, code, "texte") if template.body_text
                else html_to_text(body_html))
    else:
        text = _render(_text_env, template.body_text or "", context, code, "texte")
        body_html = text_to_html(text)
    return Rendered(subject, text.strip() + "\n", _document(str(Markup(body_html))))


def leftover_placeholders(rendered: Rendered) -> list[str]:
    """Anything that still looks like template syntax after rendering (should be empty)."""
    found = []
    for part in (rendered.subject or "", rendered.text, rendered.html or ""):
        found += re.findall(r"\{\{.*?\}\}|\{%.*?%\}", part)
    return found


def _blank(value: Any) -> Any:
    """The context with every text emptied: what the template writes by itself."""
    if isinstance(value, dict):
        return {k: _blank(v) for k, v in value.items()}
    return "" if isinstance(value, str) else value


def template_leftovers(template: Template, context: dict[str, Any], rendered: Rendered) -> list[str]:
    """Template syntax left in the text by the template itself. A person's data is data, never template
    text: a name containing « {{ » or « {% » is sent as written (X-03)."""
    if not leftover_placeholders(rendered):
        return []
    return leftover_placeholders(render(template, _blank(context)))
