"""Candidate advisors for an imported appointment, in the four ranked categories of AFF-02. Pure."""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

from servicekit.clock import PARIS

LABELS = {
    1: "a réservé une plage sur le lieu d'action et à l'heure d'arrivée",
    2: "a réservé une plage sur le lieu d'action à une autre heure",
    3: "travaille sur le lieu d'action sans action prévue",
    4: "travaille sur un autre lieu d'action",
}
EFFECTS = {
    1: "le bénéficiaire rejoint cette action",
    2: "le bénéficiaire rejoint cette action ; l'action créée par l'import est signalée comme doublon à supprimer",
    3: "l'action importée passe dans l'agenda de ce conseiller",
    4: "nouvelle action dans l'agenda du conseiller, sur son lieu ; l'action importée est signalée comme doublon "
       "(deux lieux)",
}
STATUS = {"free": "libre", "busy": "occupé", "off": "ne travaille pas ce jour-là"}


@dataclass(frozen=True)
class Slot:
    id: str
    advisor: str | None
    action_type: str
    ods: str | None
    step: int | None
    site: str | None
    mode: str
    starts_at: datetime
    ends_at: datetime
    max_participants: int
    participants: int
    to_assign: bool
    status: str = "planned"

    @property
    def free_places(self) -> int:
        return max(self.max_participants - self.participants, 0)

    def overlaps(self, other: "Slot") -> bool:
        return self.starts_at < other.ends_at and other.starts_at < self.ends_at

    def same_day(self, other: "Slot") -> bool:
        return self.starts_at.astimezone(PARIS).date() == other.starts_at.astimezone(PARIS).date()


@dataclass(frozen=True)
class Advisor:
    code: str
    name: str
    sites: tuple[str, ...]
    remote: bool
    active: bool


@dataclass
class Candidate:
    category: Literal[1, 2, 3, 4]
    advisor: str
    advisor_name: str
    effect: Literal["join", "move", "create"]
    target_action_id: str | None = None
    site: str | None = None
    starts_at: datetime | None = None
    status: str | None = None  # remote appointments: libre / occupé / ne travaille pas ce jour-là
    week_load: int = 0
    label: str = field(init=False)
    effect_text: str = field(init=False)

    def __post_init__(self) -> None:
        self.label, self.effect_text = LABELS[self.category], EFFECTS[self.category]


def _week(moment: datetime) -> tuple[int, int]:
    iso = moment.astimezone(PARIS).isocalendar()
    return iso.year, iso.week


def _day(moment: datetime) -> date:
    return moment.astimezone(PARIS).date()


class AgendaIndex:
    """Each advisor's planned actions, indexed once for a whole worklist: actions per ISO week (the
    load) and per Paris day they touch (every other criterion only looks at the appointment's day)."""

    def __init__(self, agenda: dict[str, list[Slot]]):
        self._weeks: dict[str, Counter] = {}
        self._days: dict[str, dict[date, list[Slot]]] = {}
        self._ids: dict[str, set[str]] = {}
        for advisor, slots in agenda.items():
            planned = [s for s in slots if s.status == "planned"]
            self._weeks[advisor] = Counter(_week(s.starts_at) for s in planned)
            self._ids[advisor] = {s.id for s in planned}
            days: dict[date, list[Slot]] = defaultdict(list)
            for s in planned:
                day, last = _day(s.starts_at), _day(s.ends_at)
                while day <= last:  # an action over midnight belongs to each day it covers
                    days[day].append(s)
                    day += timedelta(days=1)
            self._days[advisor] = days

    def load(self, advisor: str, appointment: Slot) -> int:
        """The advisor's planned actions in the appointment's week, the appointment itself aside."""
        own = appointment.id in self._ids.get(advisor, ())
        return self._weeks.get(advisor, Counter())[_week(appointment.starts_at)] - own

    def around(self, advisor: str, appointment: Slot) -> list[Slot]:
        """The advisor's planned actions touching the appointment's day(s), the appointment aside."""
        days = self._days.get(advisor, {})
        day, last, seen, found = _day(appointment.starts_at), _day(appointment.ends_at), set(), []
        while day <= last:
            for s in days.get(day, ()):
                if s.id != appointment.id and s.id not in seen:
                    seen.add(s.id)
                    found.append(s)
            day += timedelta(days=1)
        return found


def candidates(appointment: Slot, advisors: list[Advisor], agenda: "AgendaIndex | dict[str, list[Slot]]",
               allowed_sites: set[str]) -> list[Candidate]:
    """Ranked by category, then by the advisor's load that week (fewest actions first), then name.

    ``agenda``: each advisor's planned actions (an ``AgendaIndex`` when one serves many appointments);
    ``allowed_sites``: sites of the appointment's ODS within its ressource's antenne (where a new
    action may be created, category 4).
    """
    index = agenda if isinstance(agenda, AgendaIndex) else AgendaIndex(agenda)
    found: list[Candidate] = []
    for advisor in advisors:
        if not advisor.active:
            continue
        mine = index.around(advisor.code, appointment)
        load = index.load(advisor.code, appointment)
        busy = any(s.overlaps(appointment) for s in mine)
        off = any(s.action_type == "absence" and s.same_day(appointment) for s in mine)
        remote = appointment.mode == "remote"
        if remote and not advisor.remote:
            continue
        slots = [s for s in mine if s.step == 1 and s.ods == appointment.ods and s.free_places > 0
                 and s.mode == appointment.mode and (remote or s.site == appointment.site)]
        status = STATUS["off" if off else "busy" if busy else "free"] if remote else None

        def add(category, effect, **extra) -> None:
            found.append(Candidate(category, advisor.code, advisor.name, effect, week_load=load, status=status,
                                   **extra))

        for s in slots:
            if s.starts_at == appointment.starts_at:
                add(1, "join", target_action_id=s.id, site=s.site, starts_at=s.starts_at)
            elif s.same_day(appointment):
                add(2, "join", target_action_id=s.id, site=s.site, starts_at=s.starts_at)
        if remote:
            if not slots or not any(s.starts_at == appointment.starts_at for s in slots):
                add(3, "move", site=appointment.site, starts_at=appointment.starts_at)
            continue
        if busy or off:
            continue
        if appointment.site in advisor.sites:
            add(3, "move", site=appointment.site, starts_at=appointment.starts_at)
        else:
            for site in advisor.sites:
                if site in allowed_sites:
                    add(4, "create", site=site, starts_at=appointment.starts_at)
    return sorted(found, key=lambda c: (c.category, c.week_load, c.advisor_name, c.starts_at or appointment.starts_at))


def week_bounds(moment: datetime) -> tuple[datetime, datetime]:
    local = moment.astimezone(PARIS)
    monday = (local - timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    return monday, monday + timedelta(days=7)
