"""Actions in advisors' agendas and the rules of a valid action (PLN-01..PLN-08). Pure, no I/O.

Times are timezone-aware; users read and type them in Europe/Paris.
"""

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Literal

from servicekit.clock import PARIS
from servicekit.ids import new_uuid

from planning.domain.referential import Referential

ABSENCE = "absence"
Mode = Literal["on_site", "remote"]
Presence = Literal["oui", "non", "excusé"]
MAX_TABLE_DAYS = 31


def paris(moment: datetime) -> datetime:
    return moment.astimezone(PARIS)


def when(moment: datetime) -> str:
    return f"{paris(moment):%d/%m/%Y %H:%M}"


def as_aware(moment: datetime) -> datetime:
    """A time typed without offset is Europe/Paris local time."""
    return moment.replace(tzinfo=PARIS) if moment.tzinfo is None else moment


@dataclass(frozen=True)
class ActionDraft:
    """What a user asks for; ``check_action`` resolves the rest from the referential."""

    advisor: str | None
    starts_at: datetime
    ends_at: datetime
    ods: str | None = None
    step: int | None = None
    resource: str | None = None
    site: str | None = None
    mode: Mode = "on_site"
    nature: Literal["individual", "collective"] | None = None
    max_participants: int | None = None
    absence: bool = False
    to_assign: bool = False


@dataclass
class Action:
    id: str
    advisor: str | None
    action_type: str
    ods: str | None
    step: int | None
    resource: str | None
    mode: Mode
    site: str | None
    starts_at: datetime
    ends_at: datetime
    nature: Literal["individual", "collective"]
    max_participants: int
    status: Literal["planned", "cancelled"] = "planned"
    to_assign: bool = False
    resource_version: int | None = None  # the ressource's setting_version when planned (PLN-06)
    steps_digest: str | None = None  # the ODS's étapes when planned (PLN-06)
    participants: int = 0  # active participants, for capacity
    duplicate_of: str | None = None  # an imported action left empty by an assignment: to delete (AFF-02)

    @property
    def free_places(self) -> int:
        return max(self.max_participants - self.participants, 0)

    def overlaps(self, starts_at: datetime, ends_at: datetime) -> bool:
        return self.starts_at < ends_at and starts_at < self.ends_at


@dataclass
class Participant:
    """A beneficiary's place in an action; a participant who left keeps the row (PRC-08)."""

    action_id: str
    beneficiary_id: str
    resource: str | None
    ods: str | None
    added_at: datetime
    presence: Presence | None = None
    removed_at: datetime | None = None
    removal_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.removed_at is None

    def join(self, resource: str | None, ods: str | None, at: datetime) -> None:
        """Back in the action (or in it again with new imputations): a fresh participation."""
        self.resource, self.ods, self.added_at = resource, ods, at
        self.presence = self.removed_at = self.removal_reason = None

    def leave(self, at: datetime, reason: str | None) -> None:
        self.removed_at, self.removal_reason = at, reason


class Bookings:
    """Planned actions of an agenda, ordered by start, so that each action of a long series finds the
    ones it overlaps without going through all of them."""

    def __init__(self, actions: list[Action] = ()):
        self._starts: list[datetime] = []
        self._actions: list[Action] = []
        self._longest = timedelta(0)
        for action in sorted(actions, key=lambda a: a.starts_at):
            self.add(action)

    def add(self, action: Action) -> None:
        at = bisect_right(self._starts, action.starts_at)
        self._starts.insert(at, action.starts_at)
        self._actions.insert(at, action)
        self._longest = max(self._longest, action.ends_at - action.starts_at)

    def around(self, starts_at: datetime, ends_at: datetime) -> list[Action]:
        """The actions overlapping [starts_at, ends_at)."""
        first = bisect_right(self._starts, starts_at - self._longest)
        last = bisect_left(self._starts, ends_at)
        return [a for a in self._actions[first:last] if a.overlaps(starts_at, ends_at)]


@dataclass
class Checked:
    action: Action | None
    problems: list[str] = field(default_factory=list)


def steps_digest(ref: Referential, ods: str | None) -> str | None:
    if ods is None or ods not in ref.ods:
        return None
    return "|".join(f"{s.order}:{s.action_type}:{s.duration_min}:{s.nature}" for s in ref.ods[ods].steps)


def _slots_advice(starts_at: datetime, minutes: int) -> str:
    slots = [paris(starts_at) + timedelta(minutes=minutes * i) for i in range(3)]
    return ", ".join(f"{s:%H:%M}–{s + timedelta(minutes=minutes):%H:%M}" for s in slots[:2]) + ", …"


def check_action(draft: ActionDraft, ref: Referential, busy: list[Action], action_id: str | None = None) -> Checked:
    """The action ``draft`` describes, or every rule it breaks (French, naming what is wrong).

    ``busy`` holds the advisor's other planned actions around that time (double booking).
    """
    problems: list[str] = []
    starts_at, ends_at = as_aware(draft.starts_at), as_aware(draft.ends_at)
    if starts_at >= ends_at:
        problems.append(f"Le début ({when(starts_at)}) doit précéder la fin ({when(ends_at)}).")

    advisor = ref.advisors.get(draft.advisor) if draft.advisor else None
    if draft.advisor and advisor is None:
        problems.append(f"Conseiller « {draft.advisor} » inconnu.")
    elif advisor is not None and not advisor.active:
        problems.append(f"Conseiller « {advisor.name} » inactif.")
    if draft.advisor is None and not draft.to_assign:
        problems.append("Conseiller obligatoire.")

    if draft.absence:
        if advisor is None:
            problems.append("Une absence se pose dans l'agenda d'un conseiller.")
        action = Action(action_id or new_uuid(), draft.advisor, ABSENCE, None, None, None, draft.mode,
                        draft.site, starts_at, ends_at, "individual", 0)
        problems += _double_booking(action, advisor.name if advisor else "", busy)
        return Checked(None if problems else action, problems)

    ods = ref.ods.get(draft.ods or "")
    if ods is None:
        problems.append(f"ODS « {draft.ods} » inconnue." if draft.ods else "ODS obligatoire.")
    step = next((s for s in ods.steps if s.order == draft.step), None) if ods else None
    if ods and step is None:
        problems.append(f"ODS « {ods.code} » : pas d'étape {draft.step}." if draft.step else "Étape obligatoire.")
    resource = ref.resources.get(draft.resource or "")
    if resource is None:
        problems.append(f"Ressource « {draft.resource} » inconnue." if draft.resource else "Ressource obligatoire.")
    elif not resource.active:
        problems.append(f"Ressource « {resource.code} » inactive.")
    elif ods and ods.code not in resource.ods:
        problems.append(f"Ressource « {resource.code} » : elle finance l'ODS « {resource.ods[0]} », "
                        f"pas « {ods.code} ».")
    site = ref.sites.get(draft.site or "")
    if site is None:
        problems.append(f"Site « {draft.site} » inconnu." if draft.site else "Site obligatoire (sauf pour une absence).")
    elif not site.active:
        problems.append(f"Site « {site.name} » inactif.")

    if site and draft.mode == "remote" and not site.remote:
        problems.append(f"Une action à distance se planifie sur le site à distance, pas sur « {site.name} ».")
    if site and draft.mode == "on_site" and site.remote:
        problems.append(f"Le site « {site.name} » est réservé aux actions 100 % à distance (mode à distance).")
    if advisor and draft.mode == "remote" and not advisor.remote:
        problems.append(f"« {advisor.name} » ne prend pas de rendez-vous 100 % à distance.")

    # PLN-02: the ODS, the ressource (through its antenne) and the advisor share the site.
    if site and ods and site.code not in ods.sites:
        problems.append(f"Pas de lieu commun : le site « {site.name} » n'est pas un lieu de l'ODS « {ods.name} ».")
    if site and resource and site.antenne != resource.antenne:
        problems.append(f"Pas de lieu commun : le site « {site.name} » (antenne {site.antenne}) n'appartient pas "
                        f"à l'antenne de la ressource « {resource.code} » ({resource.antenne}).")
    if site and advisor and draft.mode == "on_site" and site.code not in advisor.sites:
        problems.append(f"Pas de lieu commun : « {advisor.name} » ne travaille pas sur le site « {site.name} ».")

    if resource and not (resource.start <= paris(starts_at).date() and paris(ends_at).date() <= resource.end):
        problems.append(f"L'action du {paris(starts_at):%d/%m/%Y} est hors de la période de la ressource "
                        f"« {resource.code} » ({resource.start:%d/%m/%Y} – {resource.end:%d/%m/%Y}).")

    nature = draft.nature or (step.nature if step else "individual")
    if draft.max_participants is not None and draft.max_participants < 1:
        problems.append("Nombre maximum de participants : au moins 1.")
    if nature == "collective" and draft.max_participants is None:
        problems.append("Nombre maximum de participants obligatoire pour une action collective.")
    max_participants = draft.max_participants or 1

    # PLN-03: diagnostic slots are single appointments, never ranges.
    minutes = (ends_at - starts_at).total_seconds() / 60
    if step and step.order == 1 and nature == "individual" and minutes > step.duration_min:
        problems.append(f"Les entretiens initiaux de diagnostic sont des rendez-vous uniques de {step.duration_min} "
                        f"minutes, pas des plages : planifiez des rendez-vous séparés "
                        f"({_slots_advice(starts_at, step.duration_min)}).")

    action = Action(
        action_id or new_uuid(), draft.advisor, step.action_type if step else "", draft.ods, draft.step,
        draft.resource, draft.mode, draft.site, starts_at, ends_at, nature, max_participants,
        to_assign=draft.to_assign and draft.advisor is None,
        resource_version=resource.setting_version if resource else None, steps_digest=steps_digest(ref, draft.ods))
    if advisor:
        problems += _double_booking(action, advisor.name, busy)
    return Checked(None if problems else action, problems)


def _double_booking(action: Action, advisor_name: str, busy: list[Action]) -> list[str]:
    return [f"« {advisor_name} » a déjà une action le {paris(o.starts_at):%d/%m/%Y} de "
            f"{paris(o.starts_at):%H:%M} à {paris(o.ends_at):%H:%M}."
            for o in busy if o.id != action.id and o.status == "planned" and o.overlaps(action.starts_at, action.ends_at)]


def draft_of(action: Action, **changes) -> ActionDraft:
    """The draft that would plan ``action`` again, with ``changes`` (a change is re-checked whole)."""
    draft = ActionDraft(action.advisor, action.starts_at, action.ends_at, action.ods, action.step, action.resource,
                        action.site, action.mode, action.nature, action.max_participants,
                        action.action_type == ABSENCE, action.to_assign)
    return replace(draft, **changes)


def red_reasons(action: Action, ref: Referential) -> list[str]:
    """Why an action no longer matches the referential it was planned under (PLN-06)."""
    reasons = []
    resource = ref.resources.get(action.resource or "")
    if action.resource and resource is None:
        reasons.append(f"Ressource « {action.resource} » supprimée.")
    elif resource and action.resource_version is not None and resource.setting_version != action.resource_version:
        reasons.append(f"Ressource « {resource.code} » modifiée depuis la planification "
                       f"(version {action.resource_version} → {resource.setting_version}).")
    elif resource and not resource.active:
        reasons.append(f"Ressource « {resource.code} » désactivée.")
    if action.ods and action.steps_digest is not None and steps_digest(ref, action.ods) != action.steps_digest:
        reasons.append(f"Étapes de l'ODS « {action.ods} » modifiées depuis la planification.")
    return reasons


def duplicate_starts(action: Action, starts: list[datetime]) -> list[tuple[datetime, datetime]]:
    """(start, end) of each copy: same duration as the original (PLN-04)."""
    duration = action.ends_at - action.starts_at
    return [(as_aware(s), as_aware(s) + duration) for s in starts]


def weekly_starts(first_day: date, last_day: date, weekdays: list[int], times: list[str]) -> list[datetime]:
    """Every ``times`` (HH:MM, Paris) on ``weekdays`` (0 = Monday) from ``first_day`` to ``last_day``."""
    starts = []
    day = first_day
    while day <= last_day:
        if day.weekday() in weekdays:
            for t in times:
                hour, minute = (int(x) for x in t.split(":"))
                starts.append(datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS))
        day += timedelta(days=1)
    return starts


TABLE_YEARS = (2000, 2100)


def table_period_problems(first_day: date, last_day: date) -> list[str]:
    # A day far from any market (year 1, 9999) cannot be turned into Paris's time bounds.
    out_of_range = [d for d in dict.fromkeys((first_day, last_day)) if not TABLE_YEARS[0] <= d.year <= TABLE_YEARS[1]]
    if out_of_range:
        return [f"Date {d:%d/%m/%Y} hors de la plage attendue (années {TABLE_YEARS[0]} à {TABLE_YEARS[1]})."
                for d in out_of_range]
    days = (last_day - first_day).days + 1
    if days < 1:
        return [f"Période incorrecte : le {first_day:%d/%m/%Y} est après le {last_day:%d/%m/%Y}."]
    if days > MAX_TABLE_DAYS:
        return [f"Période de {days} jours : la planification couvre {MAX_TABLE_DAYS} jours au plus."]
    return []
