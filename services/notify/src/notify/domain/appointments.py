"""What an appointment event decides (NOT-02, NOT-04). Pure: no I/O, every input given.

Handlers keep the appointments an event is about in memory and apply its items in order through
these functions, so that two items about one appointment see each other's changes.
"""

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, NamedTuple

from servicekit.ids import derived_id

from notify.domain.defaults import MBV_ACCESS, MBV_REMINDER, templates_of
from notify.domain.messages import LIVE, Kind, Purpose, dedup_key
from notify.domain.schedule import reminder_due_at, rule_due_at
from notify.domain.setup import NotificationSetup, Rule


@dataclass
class Appointment:
    """Importer's registration as notify keeps it, linked to planning's action once known."""

    registration_id: str
    beneficiary_id: str
    enrolment_id: str
    ods: str
    resource: str
    site: str
    starts_at: datetime
    remote: bool
    order_number: str | None
    status: str  # registered | confirmed | not_confirmed
    cancelled: bool  # désinscrit, or its action was cancelled
    action_id: str | None
    recorded_at: datetime

    def row(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def apply(self, changes: dict[str, Any]) -> None:
        for name, value in changes.items():
            setattr(self, name, value)


@dataclass
class Action:
    """Planning's action as messages need it."""

    action_id: str
    site: str | None
    starts_at: datetime
    ends_at: datetime
    mode: str
    cancelled: bool = False

    def row(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class Joined(NamedTuple):
    """An action a person currently takes part in, and whether an appointment already takes place in it."""

    action_id: str
    starts_at: datetime
    held: bool


def message_id(key: str) -> str:
    """Derived from what makes the message unique, so that replaying the log rebuilds the same
    messages (X-01)."""
    return derived_id("message", key)


def message_row(setup: NotificationSetup, now: datetime, *, beneficiary_id: str, purpose: Purpose, kind: Kind,
                template_code: str, due_at: datetime, registration_id: str | None = None,
                rule: Rule | None = None) -> dict[str, Any]:
    """A scheduled message, keyed by recipient × rule × appointment (NOT-06)."""
    key = dedup_key(beneficiary_id, purpose, registration_id, rule.key if rule else None)
    template = templates_of(setup).get(template_code)
    return {"id": message_id(key), "dedup_key": key, "beneficiary_id": beneficiary_id,
            "registration_id": registration_id, "kind": kind, "purpose": purpose,
            "rule_key": rule.key if rule else None, "delay_days": rule.delay_days if rule else None,
            "template_code": template_code, "channel": template.channel if template else "email",
            "status": "scheduled", "due_at": due_at, "next_attempt_at": None, "claimed_at": None, "attempts": 0,
            "reason_code": None, "reason": None, "created_at": now, "updated_at": now, "sent_at": None}


def is_live(appointment: Appointment) -> bool:
    return appointment.status in LIVE and not appointment.cancelled


def rule_messages(setup: NotificationSetup, appointment: Appointment, confirmation: str,
                  now: datetime) -> list[dict[str, Any]]:
    """Messages of the rules for this ODS and confirmation (NOT-02), each due in its 19:00 batch."""
    rows = []
    for rule in setup.rules.values():
        if rule.delay_days <= 0 and appointment.starts_at <= now:
            continue  # a message to prepare an appointment already past
        if rule.ods == appointment.ods and rule.confirmation == confirmation:
            rows.append(message_row(setup, now, beneficiary_id=appointment.beneficiary_id, purpose="rule",
                                    kind="rule", template_code=rule.template,
                                    registration_id=appointment.registration_id, rule=rule,
                                    due_at=rule_due_at(rule.delay_days, appointment.starts_at, now)))
    return rows


def registration_messages(setup: NotificationSetup, appointment: Appointment, now: datetime) -> list[dict[str, Any]]:
    """NOT-04 at import, in the order they are written: the virtual-office access mail at once, the
    J-7 reminder, then the rules for any confirmation. An appointment already past prepares nothing
    before it."""
    if not is_live(appointment):
        return []
    rows = []
    person, registration = appointment.beneficiary_id, appointment.registration_id
    if appointment.starts_at > now:
        rows.append(message_row(setup, now, beneficiary_id=person, purpose="mbv_access", kind="system",
                                template_code=MBV_ACCESS, registration_id=registration, due_at=now))
        reminder = reminder_due_at(appointment.starts_at)
        if reminder > now:
            rows.append(message_row(setup, now, beneficiary_id=person, purpose="mbv_reminder", kind="system",
                                    template_code=MBV_REMINDER, registration_id=registration, due_at=reminder))
    return rows + rule_messages(setup, appointment, "any", now)


def linked_action(starts_at: datetime, joined: Iterable[Joined], taken: Collection[str]) -> str | None:
    """The action a new appointment takes place in when planning was quicker: one the person joined,
    at the same time, that no appointment holds yet (the last such one, as actions come by start)."""
    found = None
    for action in joined:
        if action.starts_at == starts_at and action.action_id not in taken:
            found = action.action_id
    return found


def moved(appointment: Appointment, starts_at: datetime, site: str | None,
          remote: bool | None = None) -> dict[str, Any]:
    """What changes on an appointment now at ``starts_at`` on ``site`` (a missing site keeps the old one)."""
    changes: dict[str, Any] = {}
    if appointment.starts_at != starts_at:
        changes["starts_at"] = starts_at
    if site and site != appointment.site:
        changes["site"] = site
    if remote is not None and remote != appointment.remote:
        changes["remote"] = remote
    return changes


def registration_changes(appointment: Appointment, order_number: str | None, starts_at: datetime,
                         site: str | None, remote: bool | None) -> dict[str, Any]:
    """A known registration recorded again: its new order number (never erased) and its new place and time."""
    changes: dict[str, Any] = {}
    if order_number and order_number != appointment.order_number:
        changes["order_number"] = order_number
    return changes | moved(appointment, starts_at, site, remote)


def rescheduled_due(message: dict[str, Any], starts_at: datetime, now: datetime) -> datetime | None:
    """When a pending message of an appointment moved to ``starts_at`` is now due; None if it stays
    (the access mail, and rule messages of delay 0, which belong to the import's day)."""
    if message["purpose"] == "rule" and message["delay_days"]:
        return rule_due_at(message["delay_days"], starts_at, now)
    if message["purpose"] == "mbv_reminder":
        return reminder_due_at(starts_at)
    return None


def chosen_appointment(action_id: str, ods: str | None, action: Action | None,
                       appointments: list[Appointment], takes_part: Callable[[str], bool]) -> Appointment | None:
    """Which of the person's appointments (by start) takes place in the action they joined: one already
    in it or at its time, else the nearest one not in an action they still take part in."""
    candidates = [a for a in appointments if is_live(a) and (not ods or a.ods == ods)]
    if action is None or not candidates:
        return None
    exact = [a for a in candidates if a.action_id == action_id or a.starts_at == action.starts_at]
    loose = [a for a in candidates if a.action_id is None or not takes_part(a.action_id)]
    chosen = (exact or sorted(loose, key=lambda a: abs(a.starts_at - action.starts_at)))[:1]
    return chosen[0] if chosen else None


def participant_changes(appointment: Appointment, action_id: str, action: Action) -> dict[str, Any]:
    """The chosen appointment now belongs to the action and follows its time, site and mode."""
    changes = {"action_id": action_id} if appointment.action_id != action_id else {}
    return changes | moved(appointment, action.starts_at, action.site, action.mode == "remote")
