"""Journeys (*parcours*): an enrolment's dates, its *prestation spéciale* form, its situation and its
closing (PRC-01, PRC-02, PRC-03, PRC-07, PRC-10, PRC-11). Pure rules, no I/O.

An enrolment is the importer's (one per beneficiary, ODS and order, IMP-07); planning opens it when
its first registration joins an action. Its actions are the beneficiary's current participations in
actions of its ODS from its start on (a later enrolment of the same ODS takes the actions from its
own start).
"""

from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import Any, Literal

from servicekit.clock import PARIS
from servicekit.text import normalise_label, unsafe_text

from planning.domain.referential import Ods

Status = Literal["open", "closed"]
InitialOutcome = Literal["poursuivi", "reoriente"]
Outcome = Literal["reoriente", "abandon", "sortie_anticipee", "bilan"]
INITIAL_OUTCOMES: dict[str, str] = {"poursuivi": "a poursuivi la prestation",
                                    "reoriente": "a été réorienté vers France Travail"}

EN_COURS = "En cours"
BILAN = "Entretien bilan"
SORTIE = "Sortie anticipée"
ABANDON = "Abandon"
TERMINE = "Terminé (orienté vers France Travail)"
SITUATIONS = (EN_COURS, BILAN, SORTIE, ABANDON, TERMINE)


def day(d: date) -> str:
    return f"{d:%d/%m/%Y}"


@dataclass
class Form:
    """The *prestation spéciale* form (PRC-02); every field may stay empty (partial saves)."""

    order_number: str | None = None
    prescriber: str | None = None
    agency_code: str | None = None
    prestappli_initial_on: date | None = None
    prestappli_final_on: date | None = None
    initial_interview_on: date | None = None
    initial_outcome: InitialOutcome | None = None
    outcome_on: date | None = None
    bilan_reason: str | None = None
    bilan_detail: str | None = None
    early_exit_reason: str | None = None
    abandon_reason: str | None = None

    def values(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


# Each field's label as users read it, in French: every refusal names the field this way.
LABELS: dict[str, str] = {
    "order_number": "N° de commande",
    "prescriber": "Prescripteur (conseiller France Travail)",
    "agency_code": "Code agence France Travail",
    "prestappli_initial_on": "Date de dépôt Prest@ppli (entretien initial)",
    "prestappli_final_on": "Date de dépôt Prest@ppli (bilan / fin)",
    "initial_interview_on": "Date entretien initial",
    "initial_outcome": "Suite entretien initial",
    "outcome_on": "Date bilan / abandon / sortie anticipée",
    "bilan_reason": "Suite entretien bilan",
    "bilan_detail": "Motif détaillé du bilan",
    "early_exit_reason": "Motif de sortie anticipée",
    "abandon_reason": "Motif d'abandon",
}
DATE_FIELDS = {"prestappli_initial_on", "prestappli_final_on", "initial_interview_on", "outcome_on"}
EXIT_FIELDS = {"bilan_reason": "bilan_reasons", "early_exit_reason": "early_exit_reasons",
               "abandon_reason": "abandon_reasons"}  # field -> the ODS's list it takes its value from
TEXT_LIMITS = {"order_number": 100, "prescriber": 200, "agency_code": 50, "bilan_detail": 1000}
EXIT_KINDS = {"bilan": "bilan_reason", "sortie": "early_exit_reason", "abandon": "abandon_reason"}


@dataclass
class Enrolment:
    id: str
    beneficiary_id: str
    ods: str
    resource: str
    site: str
    opened_at: datetime
    start_on: date
    end_on: date
    start_edited: bool = False
    end_edited: bool = False
    form: Form = field(default_factory=Form)
    form_started: bool = False
    status: Status = "open"
    closings: int = 0  # closings so far: the next ODSClosed carries closings + 1 (PRC-10)
    closed_on: date | None = None
    outcome: Outcome | None = None
    # Reopened and not changed since: the closing run leaves it to the correction (PRC-10).
    awaiting_correction: bool = False

    @property
    def closed(self) -> bool:
        return self.status == "closed"

    @property
    def situation(self) -> str:
        return situation(self.form)


@dataclass(frozen=True)
class JourneyAction:
    """One action the beneficiary takes part in, as a journey sees it."""

    action_id: str
    starts_at: datetime
    ends_at: datetime
    presence: str | None
    advisor: str | None = None
    site: str | None = None
    mode: str | None = None
    action_type: str | None = None
    step: int | None = None
    removed_at: datetime | None = None  # the beneficiary left the action (PRC-08), with the reason
    removal_reason: str | None = None

    @property
    def on(self) -> date:
        return self.starts_at.astimezone(PARIS).date()


def local_day(moment: datetime) -> date:
    return moment.astimezone(PARIS).date()


def situation(form: Form) -> str:
    """PRC-03: derived from the form, never typed."""
    if form.initial_outcome == "reoriente":
        return TERMINE
    if form.bilan_reason:
        return BILAN
    if form.early_exit_reason:
        return SORTIE
    if form.abandon_reason:
        return ABANDON
    return EN_COURS


def default_dates(ods: Ods | None, first_action: date) -> tuple[date, date]:
    """PRC-01, PRC-11: the start is the first action's day, the end the start plus the ODS's duration."""
    return first_action, theoretical_end(ods, first_action)


def theoretical_end(ods: Ods | None, start: date) -> date:
    return start + timedelta(days=ods.duration_days if ods else 90)


def actions_of(enrolment: Enrolment, others: list[Enrolment], actions: list[JourneyAction]) -> list[JourneyAction]:
    """The enrolment's actions among the beneficiary's actions of its ODS: from its start on, until the
    start of the beneficiary's next enrolment of that ODS (``others``, itself included or not)."""
    later = [e.start_on for e in others if e.id != enrolment.id and e.ods == enrolment.ods
             and (e.start_on, e.id) > (enrolment.start_on, enrolment.id)]
    until = min(later, default=None)
    mine = [a for a in actions if until is None or a.on < until]
    # Before its start only when it is the beneficiary's first enrolment of the ODS: an action moved
    # earlier still belongs to it, and the date check tells the user.
    earlier = [e for e in others if e.id != enrolment.id and e.ods == enrolment.ods
               and (e.start_on, e.id) < (enrolment.start_on, enrolment.id)]
    if earlier:
        mine = [a for a in mine if a.on >= enrolment.start_on]
    return sorted(mine, key=lambda a: (a.starts_at, a.action_id))


def _locked(enrolment: Enrolment) -> list[str]:
    return [f"Parcours clôturé le {day(enrolment.closed_on)} : il est en lecture seule. Rouvrez-le avec un "
            "motif (réouverture) pour le modifier."] if enrolment.closed else []


def parse_date(value: Any, label: str) -> tuple[date | None, str | None]:
    """A date typed as AAAA-MM-JJ or JJ/MM/AAAA, or an empty value; else why not."""
    if value is None or value == "":
        return None, None
    if isinstance(value, datetime):
        return None, f"« {label} » : une date sans heure est attendue (JJ/MM/AAAA)."
    if isinstance(value, date):
        return value, None
    if isinstance(value, str):
        text = value.strip()
        for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
            try:
                return datetime.strptime(text, fmt).date(), None
            except ValueError:
                pass
    shown = value if isinstance(value, str) else repr(value)
    return None, f"« {label} » : « {shown} » n'est pas une date (JJ/MM/AAAA attendu)."


def _date_change(value: Any, label: str, current: date) -> tuple[date, str | None]:
    if value is None:
        return current, None
    parsed, why = parse_date(value, label)
    if why or parsed is None:
        return current, why or f"« {label} » : obligatoire."
    return parsed, None


def check_dates(enrolment: Enrolment, actions: list[JourneyAction], start: Any = None, end: Any = None
                ) -> tuple[date, date, list[str]]:
    """PRC-01: the dates after the change, or why not: start on or before the first action, end on or
    after the last, start before end."""
    problems = _locked(enrolment)
    new_start, why = _date_change(start, "Date de début", enrolment.start_on)
    problems += [why] if why else []
    new_end, why = _date_change(end, "Date de fin", enrolment.end_on)
    problems += [why] if why else []
    if problems:
        return enrolment.start_on, enrolment.end_on, problems
    if actions and new_start > actions[0].on:
        problems.append(f"« Date de début » : le {day(new_start)} est après la première action du parcours "
                        f"({day(actions[0].on)}) ; attendu : ce jour ou avant.")
    if actions and new_end < actions[-1].on:
        problems.append(f"« Date de fin » : le {day(new_end)} est avant la dernière action du parcours "
                        f"({day(actions[-1].on)}) ; attendu : ce jour ou après.")
    if new_end < new_start:
        problems.append(f"« Date de fin » : le {day(new_end)} est avant la date de début ({day(new_start)}).")
    return new_start, new_end, problems


def _text(name: str, value: Any) -> tuple[str | None, str | None]:
    label = LABELS[name]
    if value is None:
        return None, None
    if not isinstance(value, str):
        return None, f"« {label} » : un texte est attendu (reçu : {value!r})."
    text = value.strip()
    if not text:
        return None, None
    if unsafe_text(text):
        return None, (f"« {label} » : « {text} » refusé : un texte ne commence pas par =, +, -, @ et ne contient "
                      "ni < ni > (formule ou balise).")
    limit = TEXT_LIMITS.get(name, 200)
    if len(text) > limit:
        return None, f"« {label} » : {len(text)} caractères, {limit} au plus."
    return text, None


def _from_list(name: str, text: str, ods: Ods) -> tuple[str | None, str | None]:
    allowed = getattr(ods, EXIT_FIELDS[name])
    wanted = normalise_label(text)
    for option in allowed:
        if normalise_label(option) == wanted:
            return option, None
    return None, (f"« {LABELS[name]} » : « {text} » n'est pas dans la liste de l'ODS {ods.code} "
                  f"(valeurs possibles : {' ; '.join(allowed)}).")


def check_form(enrolment: Enrolment, changes: dict[str, Any], ods: Ods, actions: list[JourneyAction],
               today: date) -> tuple[Form, list[str]]:
    """The form after ``changes`` (a field absent is kept, a field set to None or "" is emptied), or
    every rule it breaks, each message naming its field (PRC-02)."""
    problems = _locked(enrolment)
    values = enrolment.form.values()
    for name, value in changes.items():
        if name not in LABELS:
            problems.append(f"Champ « {name} » inconnu dans le formulaire prestation spéciale "
                            f"(champs : {', '.join(LABELS)}).")
        elif name in DATE_FIELDS:
            parsed, why = parse_date(value, LABELS[name])
            problems += [why] if why else []
            values[name] = parsed
        elif name == "initial_outcome":
            if value in (None, ""):
                values[name] = None
            elif value in INITIAL_OUTCOMES:
                values[name] = value
            else:
                problems.append(f"« {LABELS[name]} » : « {value} » n'est pas une valeur possible (poursuivi : "
                                f"{INITIAL_OUTCOMES['poursuivi']} ; reoriente : {INITIAL_OUTCOMES['reoriente']}).")
        else:
            text, why = _text(name, value)
            if why is None and text is not None and name in EXIT_FIELDS:
                text, why = _from_list(name, text, ods)
            problems += [why] if why else []
            values[name] = text
    if problems:
        return enrolment.form, problems
    form = Form(**values)
    return form, _form_rules(form, actions, today)


def _form_rules(form: Form, actions: list[JourneyAction], today: date) -> list[str]:
    problems = []
    present = [a for a in actions if a.presence == "oui"]
    if form.initial_interview_on is not None:
        if not present:
            problems.append(f"« {LABELS['initial_interview_on']} » : aucune action du parcours n'a de présence "
                            "« oui » ; validez d'abord la présence à l'entretien initial.")
        elif form.initial_interview_on != present[0].on:
            problems.append(f"« {LABELS['initial_interview_on']} » : le {day(form.initial_interview_on)} n'est pas "
                            f"la date de la première action avec présence « oui » ({day(present[0].on)}).")
    if form.initial_outcome and form.initial_interview_on is None:
        problems.append(f"« {LABELS['initial_outcome']} » : renseignez d'abord la "
                        f"« {LABELS['initial_interview_on']} ».")
    exits = [f"« {LABELS[n]} »" for n in EXIT_FIELDS if getattr(form, n)]
    if len(exits) > 1:
        problems.append("Un seul motif de fin est possible parmi « Suite entretien bilan », « Motif de sortie "
                        f"anticipée » et « Motif d'abandon » (renseignés : {', '.join(exits)}).")
    if form.initial_outcome == "reoriente" and exits:
        problems.append(f"« {LABELS['initial_outcome']} » : réorienté vers France Travail après l'entretien "
                        f"initial, le parcours n'a pas de {', '.join(exits)}.")
    if form.bilan_detail and not form.bilan_reason:
        problems.append(f"« {LABELS['bilan_detail']} » : renseignez aussi la « {LABELS['bilan_reason']} ».")
    for name in DATE_FIELDS:
        value = getattr(form, name)
        if value is not None and value > today:
            problems.append(f"« {LABELS[name]} » : le {day(value)} est dans le futur (aujourd'hui : {day(today)}).")
    for later, earlier in (("outcome_on", "initial_interview_on"), ("prestappli_initial_on", "initial_interview_on"),
                           ("prestappli_final_on", "outcome_on")):
        a, b = getattr(form, later), getattr(form, earlier)
        if a is not None and b is not None and a < b:
            problems.append(f"« {LABELS[later]} » : le {day(a)} est avant la « {LABELS[earlier]} » ({day(b)}).")
    return problems


def outcome(form: Form) -> tuple[Outcome, date] | None:
    """How the journey ended and on which day, once the form says it (PRC-07); None while it goes on
    or while the initial interview's part is missing (billing and the deliverables need it)."""
    if form.initial_interview_on is None:
        return None
    if form.initial_outcome == "reoriente":
        return "reoriente", form.outcome_on or form.initial_interview_on
    if form.initial_outcome != "poursuivi" or form.outcome_on is None:
        return None
    kinds = [kind for kind, name in (("bilan", "bilan_reason"), ("sortie_anticipee", "early_exit_reason"),
                                     ("abandon", "abandon_reason")) if getattr(form, name)]
    return (kinds[0], form.outcome_on) if len(kinds) == 1 else None


def due(enrolment: Enrolment, today: date) -> bool:
    """PRC-07: open, the end date passed, and the form says how it ended; a reopened journey waits for
    its correction (a save) before it closes again (PRC-10)."""
    return (not enrolment.closed and not enrolment.awaiting_correction and enrolment.end_on < today
            and outcome(enrolment.form) is not None)


def close(enrolment: Enrolment, today: date) -> None:
    ended = outcome(enrolment.form)
    assert ended is not None
    enrolment.status, enrolment.closed_on, enrolment.outcome = "closed", today, ended[0]
    enrolment.closings += 1


def check_reopen(enrolment: Enrolment, reason: Any) -> list[str]:
    """PRC-10: only a closed enrolment, only with a reason."""
    if not enrolment.closed:
        return [f"Parcours « {enrolment.id} » non clôturé : rien à rouvrir."]
    if not isinstance(reason, str) or not reason.strip():
        return ["« Motif de réouverture » : obligatoire."]
    if unsafe_text(reason.strip()):
        return [f"« Motif de réouverture » : « {reason.strip()} » refusé : un texte ne commence pas par =, +, -, @ "
                "et ne contient ni < ni > (formule ou balise)."]
    if len(reason.strip()) > 500:
        return ["« Motif de réouverture » : 500 caractères au plus."]
    return []


def reopen(enrolment: Enrolment) -> None:
    enrolment.status, enrolment.closed_on, enrolment.outcome = "open", None, None
    enrolment.awaiting_correction = True
