"""What managers read about journeys: the deliverables' checks (PRC-06), the dashboard's rule for who
appears and its columns (PRC-04), the alerts (PRC-05). Pure, no I/O.

A journey is an :class:`Enrolment` with its actions still planned, by start (``journeys.actions_of``).
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from servicekit.clock import PARIS

from planning.domain.journeys import EXIT_FIELDS, LABELS, Enrolment, JourneyAction
from planning.domain.referential import Referential

MANDATORY = ("order_number", "initial_interview_on", "initial_outcome")
PRESENCE_LABELS = {"oui": "Présent", "non": "Absent", "excusé": "Excusé", None: "Non renseignée"}
MODE_LABELS = {"on_site": "Présentiel", "remote": "À distance"}
ALERT_NO_ACTION_DAY = 83
ALERT_FORM_DAY = 90


def action_row(action: JourneyAction, ref: Referential) -> dict[str, Any]:
    """One line of the émargement: date, time, duration, advisor, site, mode and presence."""
    start, end = action.starts_at.astimezone(PARIS), action.ends_at.astimezone(PARIS)
    advisor = ref.advisors.get(action.advisor) if action.advisor else None
    site = ref.sites.get(action.site) if action.site else None
    return {"date": f"{start:%d/%m/%Y}", "time": f"{start:%H:%M}–{end:%H:%M}",
            "duration": f"{int((action.ends_at - action.starts_at).total_seconds() // 60)} min",
            "advisor": advisor.name if advisor else (action.advisor or "à affecter"),
            "site": site.name if site else (action.site or "-"),
            "mode": MODE_LABELS.get(action.mode or "", action.mode or "-"),
            "presence": PRESENCE_LABELS.get(action.presence, action.presence)}


def advisors_of(actions: Sequence[JourneyAction], ref: Referential) -> list[str]:
    """The BGE advisors of a journey's actions, first met first."""
    codes = dict.fromkeys(a.advisor for a in actions if a.advisor)
    return [ref.advisors[c].name if c in ref.advisors else c for c in codes]


def first_interview(actions: Sequence[JourneyAction]) -> JourneyAction | None:
    """The initial interview: the first action with presence *oui*, else the first action."""
    present = [a for a in actions if a.presence == "oui"]
    return present[0] if present else (actions[0] if actions else None)


def deliverable_problems(enrolment: Enrolment, actions: Sequence[JourneyAction]) -> list[str]:
    """PRC-06's six checks, each failure a French message; none: the two PDFs may be generated.

    ``actions``: the journey's actions still planned, by start (``journeys.actions_of``)."""
    e, form, problems = enrolment, enrolment.form, []
    if not e.resource or not e.site:
        problems.append("Le parcours doit avoir une ressource et un lieu d'action.")
    first = actions[0] if actions else None
    if first is None:
        problems.append("Le parcours n'a aucune action : la date de la 1ère action est inconnue.")
    elif e.start_on > first.on:
        problems.append(f"La date de début de l'ODS ({_day(e.start_on)}) doit être antérieure ou égale "
                        f"à la date de la 1ère action ({_day(first.on)}).")
    missing = [LABELS[name] for name in MANDATORY if not getattr(form, name)]
    if missing:
        problems.append("Champs obligatoires du formulaire prestation spéciale non renseignés : "
                        + ", ".join(f"« {m} »" for m in missing) + ".")
    interview = first_interview(actions)
    if form.initial_interview_on and interview is not None and form.initial_interview_on != interview.on:
        problems.append(f"La « {LABELS['initial_interview_on']} » ({_day(form.initial_interview_on)}) doit "
                        f"correspondre à la date de la 1ère action du parcours ({_day(interview.on)}).")
    if not form.outcome_on and form.initial_outcome != "reoriente":  # réorienté: it ends at the interview
        problems.append(f"La « {LABELS['outcome_on']} » doit être renseignée.")
    reasons = [name for name in EXIT_FIELDS if getattr(form, name)]
    if form.initial_outcome == "reoriente":
        if reasons:
            problems.append("Un parcours réorienté vers France Travail après l'entretien initial n'a pas de motif "
                            "de bilan, d'abandon ou de sortie anticipée.")
    elif len(reasons) != 1:
        problems.append("Il faut un seul motif, au choix entre suite entretien bilan, motif de sortie anticipée "
                        f"et motif d'abandon ({len(reasons)} renseigné(s)).")
    return problems


def _day(value: date | None) -> str:
    return f"{value:%d/%m/%Y}" if value else "non renseignée"


# Dashboard (PRC-04).

INVOICE_STATUS_LABELS = {None: "non facturé", "drafted": "facture en préparation", "issued": "facturé",
                         "credited": "avoir émis", "deposited": "déposé sur Chorus Pro",
                         "integrated": "intégré par Chorus Pro", "rejected": "rejeté par Chorus Pro"}
INVOICED = ("issued", "deposited", "integrated", "rejected")


def appears_on_dashboard(enrolment: Enrolment, actions: Sequence[JourneyAction]) -> bool:
    """The seed's rule: an enrolment with an action planned and its form started, even partly."""
    return bool(actions) and enrolment.form_started


def dashboard_row(enrolment: Enrolment, actions: Sequence[JourneyAction], now: datetime, ref: Referential,
                  identity: Mapping[str, Any] | None, invoice: Mapping[str, Any] | None) -> dict[str, Any]:
    """The seed's columns. Past actions: presence *oui* only; future actions: all those still planned."""
    e, form, identity, invoice = enrolment, enrolment.form, identity or {}, invoice or {}
    return {
        "id": e.id, "beneficiary_id": e.beneficiary_id,
        "last_name": identity.get("last_name"), "first_name": identity.get("first_name"),
        "ft_id": identity.get("ft_id"), "advisor": ", ".join(advisors_of(actions, ref)) or None,
        "ods": e.ods, "resource": e.resource, "start_on": e.start_on, "end_on": e.end_on,
        "past_actions": sum(1 for a in actions if a.presence == "oui"),
        "future_actions": sum(1 for a in actions if a.starts_at > now),
        "site": e.site, "site_name": ref.sites[e.site].name if e.site in ref.sites else e.site,
        "order_number": form.order_number, "situation": e.situation,
        "prestappli_initial_on": form.prestappli_initial_on, "prestappli_final_on": form.prestappli_final_on,
        "form_started": e.form_started, "status": e.status, "closed_on": e.closed_on, "outcome": e.outcome,
        "invoice_status": INVOICE_STATUS_LABELS.get(invoice.get("status"), invoice.get("status")),
        "invoice_number": invoice.get("number"),
    }


# Alerts (PRC-05).

ALERT_TITLES = {
    "fin_sans_action": "Activ'Créa fin de prestation dans moins de 7 jours et pas d'action programmée",
    "fiche_non_completee": "Activ'Créa date de fin théorique dépassée et fiche parcours non complétée",
    "facture_non_emise": "Parcours clôturé sans facture émise",
}


@dataclass(frozen=True)
class Alert:
    code: str
    enrolment_id: str
    beneficiary_id: str
    reason: str

    @property
    def title(self) -> str:
        return ALERT_TITLES[self.code]


def alerts_of(journeys: Iterable[tuple[Enrolment, Sequence[JourneyAction]]], now: datetime,
              invoices: Mapping[str, Mapping[str, Any]], invoice_days: int) -> list[Alert]:
    """PRC-05 (a) and (b): journeys that went on after the initial interview (*a poursuivi*) with no end
    recorded, started 83 days ago or more with nothing planned from now on, or 90 days ago or more;
    (c) closed more than ``invoice_days`` days ago with no invoice issued. A journey may raise (a) and
    (b) at once, as in the reference CRM."""
    today = now.astimezone(PARIS).date()
    found: list[Alert] = []
    for e, actions in journeys:
        age = (today - e.start_on).days
        ongoing = e.form.initial_outcome == "poursuivi" and not e.form.outcome_on and not e.closed
        if ongoing and age >= ALERT_NO_ACTION_DAY and not any(a.starts_at > now for a in actions):
            found.append(Alert("fin_sans_action", e.id, e.beneficiary_id,
                               f"commencé le {_day(e.start_on)} (il y a {age} jours), a poursuivi la prestation, "
                               f"aucune fin indiquée ni action programmée ; fin théorique le {_day(e.end_on)}"))
        if ongoing and age >= ALERT_FORM_DAY:
            found.append(Alert("fiche_non_completee", e.id, e.beneficiary_id,
                               f"commencé le {_day(e.start_on)} (il y a {age} jours), a poursuivi la prestation, "
                               f"« {LABELS['outcome_on']} » non renseignée"))
        invoice = invoices.get(e.id) or {}
        if e.closed and e.closed_on and (today - e.closed_on).days > invoice_days \
                and invoice.get("status") not in INVOICED:
            found.append(Alert("facture_non_emise", e.id, e.beneficiary_id,
                               f"clôturé le {_day(e.closed_on)} (il y a {(today - e.closed_on).days} jours, plus de "
                               f"{invoice_days}) sans facture émise"))
    return found


def invoice_statuses(events: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each enrolment's invoice status from billing's events, in the order received: the last one's
    (a credit note after the invoice: *avoir émis*). None yet: *non facturé*."""
    status: dict[str, dict[str, Any]] = {}
    for e in events:
        status[e["enrolment_id"]] = {"status": e["status"], "number": e["number"] or
                                     status.get(e["enrolment_id"], {}).get("number"), "at": e["at"]}
    return status


# Timeline (PRC-09): lines {at, order, kind, text, ...}; ``order`` breaks ties of the same moment.

HISTORY_TEXTS = {"opened": "Parcours ouvert", "dates": "Dates du parcours modifiées",
                 "form": "Formulaire prestation spéciale enregistré", "closed": "Parcours clôturé",
                 "reopened": "Parcours rouvert"}
INVOICE_TEXTS = {"drafted": "Facture préparée", "issued": "Facture émise", "credited": "Avoir émis",
                 "deposited": "Facture déposée sur Chorus Pro", "integrated": "Facture intégrée par Chorus Pro",
                 "rejected": "Facture rejetée par Chorus Pro"}


def _when(moment: datetime) -> str:
    return f"{moment.astimezone(PARIS):%d/%m/%Y %H:%M}"


DETAIL_LABELS = {"start_on": "début", "end_on": "fin", "situation": "situation", "closing": "clôture n°",
                 "outcome": "issue", "reason": "motif", "changed": "champs"}
OUTCOME_TEXTS = {"reoriente": "réorienté vers France Travail", "abandon": "abandon",
                 "sortie_anticipee": "sortie anticipée", "bilan": "bilan"}


def _detail(key: str, value: Any) -> str:
    if key == "changed":
        return ", ".join(LABELS.get(v, v) for v in value)
    if key == "outcome":
        return OUTCOME_TEXTS.get(value, value)
    if isinstance(value, str) and len(value) == 10 and value[4] == "-":
        return _day(date.fromisoformat(value))
    return str(value)


def history_line(h: Mapping[str, Any]) -> dict[str, Any]:
    detail = h.get("detail") or {}
    extra = "; ".join(f"{DETAIL_LABELS.get(k, k)} : {_detail(k, v)}" for k, v in detail.items()
                      if v not in (None, "", [], {}))
    return {"at": h["at"], "order": 0, "kind": f"parcours_{h['kind']}", "enrolment_id": h["enrolment_id"],
            "text": HISTORY_TEXTS.get(h["kind"], h["kind"]) + (f" ({extra})" if extra else "")}


CHANGE_LABELS = {"advisor": "conseiller", "starts_at": "début", "ends_at": "fin", "site": "lieu", "mode": "modalité",
                 "resource": "ressource", "max_participants": "places"}


def _changed(name: str, value: Any, ref: Referential) -> str:
    if value is None:
        return "-"
    if name in ("starts_at", "ends_at"):
        return _when(datetime.fromisoformat(value))
    if name == "advisor":
        return ref.advisors[value].name if value in ref.advisors else value
    if name == "site":
        return ref.sites[value].name if value in ref.sites else value
    if name == "mode":
        return MODE_LABELS.get(value, value)
    return str(value)


def participation_lines(p: Mapping[str, Any], ref: Referential,
                        changes: Sequence[Mapping[str, Any]] = ()) -> list[dict[str, Any]]:
    """An action the person took part in: planned (unless they left it), changed while they were in it,
    their presence, their removal with its reason (PRC-08: a removed action no longer shows as planned);
    a cancelled action shows its cancellation's reason."""
    advisor = ref.advisors.get(p["advisor_code"]) if p["advisor_code"] else None
    site = ref.sites.get(p["site_code"]) if p["site_code"] else None
    what = (f"{p['action_type']} du {_when(p['starts_at'])}"
            f" ({site.name if site else p['site_code'] or 'à distance'}, "
            f"{advisor.name if advisor else 'conseiller à affecter'})")
    common = {"action_id": p["action_id"]}
    lines = [common | {"at": c["at"], "order": 2, "kind": "action_modifiee",
                       "text": f"Action modifiée ({what}) : " + "; ".join(
                           f"{CHANGE_LABELS.get(k, k)} {_changed(k, old, ref)} → {_changed(k, new, ref)}"
                           for k, (old, new) in c["detail"].items())}
             for c in changes if c["at"] >= p["added_at"] and (p["removed_at"] is None or c["at"] <= p["removed_at"])]
    if p["removed_at"] is not None:
        if p["status"] == "cancelled":
            return lines + [common | {"at": p["removed_at"], "order": 2, "kind": "action_annulee",
                                      "text": f"Action annulée : {what}"
                                      + (f" : {p['cancel_reason']}" if p["cancel_reason"] else ""),
                                      "reason": p["cancel_reason"] or p["removal_reason"]}]
        return lines + [common | {"at": p["removed_at"], "order": 2, "kind": "action_retiree",
                                  "text": f"Retiré(e) de l'action {what} : {p['removal_reason'] or 'motif non précisé'}",
                                  "reason": p["removal_reason"]}]
    lines.append(common | {"at": p["added_at"], "order": 1, "kind": "action_planifiee",
                           "text": f"Action prévue : {what}"})
    if p["presence"] is not None:
        lines.append(common | {"at": p["starts_at"], "order": 3, "kind": "presence",
                               "text": f"Présence à l'action {what} : {PRESENCE_LABELS.get(p['presence'])}"})
    return lines


def deliverable_line(d: Mapping[str, Any]) -> dict[str, Any]:
    label = {"bilan": "Bilan", "emargement": "Émargement"}.get(d["kind"], d["kind"])
    return {"at": d["generated_at"], "order": 4, "kind": "livrable", "enrolment_id": d["enrolment_id"],
            "text": f"Livrable généré : {label} n° {d['number']} (SHA-256 {d['sha256'][:12]}…)"}


def message_line(m: Mapping[str, Any]) -> dict[str, Any]:
    channel = {"email": "e-mail", "sms": "SMS"}.get(m["channel"], m["channel"])
    text = (f"Message {m['template']} envoyé par {channel}" if m["sent"]
            else f"Message {m['template']} non envoyé par {channel} ({m['reason']})")
    return {"at": m["at"], "order": 5, "kind": "message_envoye" if m["sent"] else "message_non_envoye", "text": text}


def invoice_line(i: Mapping[str, Any]) -> dict[str, Any]:
    text = INVOICE_TEXTS.get(i["status"], i["status"])
    details = [x for x in (i["number"] and f"n° {i['number']}", i["amount"] and f"{i['amount']} €", i["detail"]) if x]
    return {"at": i["at"], "order": 6, "kind": f"facture_{i['status']}", "enrolment_id": i["enrolment_id"],
            "text": text + (f" ({', '.join(details)})" if details else "")}
