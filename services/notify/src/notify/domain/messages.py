"""Messages: one per recipient × rule × appointment (NOT-06), and whether one may go now (NOT-03).

A message is ``scheduled`` with the time it is due, ``sending`` while a sender holds it, then
``sent``, ``not_sent`` (with the reason) or ``cancelled`` (its appointment went away or it was no
longer needed). A GDPR mail that cannot go automatically is ``manual`` until sent by hand (NOT-05).
"""

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from notify.domain.recipients import recipient
from notify.domain.rendering import RenderError, build_context, render, template_leftovers
from notify.domain.setup import Template

if TYPE_CHECKING:
    from notify.domain.appointments import Appointment

Kind = Literal["rule", "system", "manual"]
Purpose = Literal["rule", "mbv_access", "mbv_reminder", "gdpr"]
PENDING = ("scheduled", "manual")
LIVE = ("registered", "confirmed")

STATUS_LABELS = {"scheduled": "programmé", "sending": "en cours d'envoi", "sent": "envoyé", "not_sent": "non envoyé",
                 "cancelled": "annulé", "manual": "à envoyer à la main"}
REASONS = {
    "appointment_cancelled": "Rendez-vous annulé : message annulé.",
    "not_confirmed": "Rendez-vous non confirmé à J-2 : message annulé.",
    "appointment_passed": "Rendez-vous déjà passé : message devenu inutile.",
    "logged_in": "Connecté(e) à Mon Bureau Virtuel : relance inutile.",
    "confirmation_changed": "La confirmation du rendez-vous a changé : ce message ne s'applique plus.",
    "manual_required": "Mail RGPD à envoyer à la main : adresse e-mail ou civilité manquante sur la fiche.",
    "purged": "Données de la personne supprimées (RGPD) : message annulé.",
    "unbuildable": "Message impossible à construire : caractère de contrôle (retour à la ligne...) dans le nom ou "
                   "l'adresse du destinataire ; corrigez la fiche.",
}
# BEN-01: a consent withdrawn cancels the channel's messages not sent yet (reason code ``no_consent``).
CONSENT_WITHDRAWN = {"email": "Consentement retiré : n'accepte plus d'être contacté(e) par mail ; message annulé.",
                     "sms": "Consentement retiré : n'accepte plus d'être contacté(e) par SMS ; message annulé."}
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def dedup_key(beneficiary_id: str, purpose: Purpose, registration_id: str | None = None,
              rule_key: str | None = None) -> str:
    """Recipient × rule × appointment: the same fact delivered twice finds the same message."""
    if purpose == "rule":
        return f"{beneficiary_id}|rule:{rule_key}|{registration_id}"
    if purpose == "mbv_reminder":
        return f"{beneficiary_id}|system:mbv_reminder|{registration_id}"
    return f"{beneficiary_id}|system:{purpose}"  # virtual-office access and GDPR: once per person


def rule_confirmation(message: dict[str, Any]) -> str | None:
    """The confirmation (yes / no / any) of a rule message's rule, from its key ``ods|confirmation|template|delay``."""
    return message["rule_key"].split("|")[1] if message.get("rule_key") else None


@dataclass(frozen=True)
class Outgoing:
    """What a channel adapter sends: already rendered, addressed."""

    message_id: str
    channel: Literal["email", "sms"]
    to: str
    display_name: str
    subject: str | None
    text: str
    html: str | None
    template: str
    date: datetime


@dataclass(frozen=True)
class Stop:
    """The message will not go: ``cancelled`` (no longer applies) or ``not_sent`` (NOT-03 and others)."""

    status: Literal["cancelled", "not_sent", "manual"]
    code: str
    reason: str


def _appointment_stop(message: dict[str, Any], appointment: "Appointment | None", logged_in: bool,
                      now: datetime, check_time: bool) -> Stop | None:
    purpose, confirmation = message["purpose"], rule_confirmation(message)
    if purpose not in ("rule", "mbv_reminder"):
        return None
    if appointment is None:
        return Stop("cancelled", "appointment_cancelled", REASONS["appointment_cancelled"])
    if appointment.cancelled:
        return Stop("cancelled", "appointment_cancelled", REASONS["appointment_cancelled"])
    status = appointment.status
    if purpose == "mbv_reminder":
        if status not in LIVE:
            return Stop("cancelled", "not_confirmed", REASONS["not_confirmed"])
        if logged_in:
            return Stop("cancelled", "not_needed", REASONS["logged_in"])
    elif confirmation == "any" and status not in LIVE:
        return Stop("cancelled", "not_confirmed", REASONS["not_confirmed"])
    elif confirmation in ("yes", "no") and status != {"yes": "confirmed", "no": "not_confirmed"}[confirmation]:
        return Stop("cancelled", "not_needed", REASONS["confirmation_changed"])
    before_action = purpose == "mbv_reminder" or (message.get("delay_days") or 0) <= 0
    if check_time and before_action and appointment.starts_at <= now:
        return Stop("not_sent", "appointment_passed", REASONS["appointment_passed"])
    return None


def decide(message: dict[str, Any], *, contact: dict[str, Any] | None, appointment: "Appointment | None",
           template: Template | None, referential: dict[str, Any], links: dict[str, str], now: datetime,
           logged_in: bool = False, ends_at: datetime | None = None, check_time: bool = True) -> Outgoing | Stop:
    """Whether ``message`` goes now, and then exactly what is sent."""
    stop = _appointment_stop(message, appointment, logged_in, now, check_time)
    if stop:
        return stop
    code = message["template_code"]
    if template is None:
        return Stop("not_sent", "template_unknown", f"Modèle « {code} » inconnu.")
    if not template.active:
        return Stop("not_sent", "template_inactive", f"Modèle « {code} » inactif : message non envoyé.")
    if (message["purpose"] == "gdpr" and message["kind"] == "system" and contact is not None
            and not (contact.get("email") and contact.get("civility"))):
        return Stop("manual", "manual_required", REASONS["manual_required"])  # NOT-05: by hand
    to, refusal = recipient(contact, template.channel)
    if refusal:
        return Stop("not_sent", refusal.code, refusal.reason)
    context = build_context(contact, appointment.row() if appointment else None, referential, links, ends_at)
    if CONTROL.search(to) or CONTROL.search(context["beneficiary"]["full_name"]):
        return Stop("not_sent", "unbuildable", REASONS["unbuildable"])
    try:
        rendered = render(template, context)
    except RenderError as exc:
        return Stop("not_sent", "render_failed", str(exc))
    if template_leftovers(template, context, rendered):
        return Stop("not_sent", "render_failed", f"Modèle « {code} » : champ non remplacé dans le texte.")
    return Outgoing(message["id"], template.channel, to, context["beneficiary"]["full_name"], rendered.subject,
                    rendered.text, rendered.html, code, now)


@dataclass(frozen=True)
class DeliveryResult:
    """A channel's answer to one attempt: ``sent``, or a ``temporary`` failure (tried again later with
    back-off) or a ``permanent`` one (recorded, never tried again), or ``invalid``: the message could
    not be made (never tried again); ``answer`` is the server's own words, or why it could not be made."""

    outcome: Literal["sent", "temporary", "permanent", "invalid"]
    answer: str
