"""The worklist of appointments to assign: when an appointment enters, waits in or leaves it (AFF-01,
AFF-03). Pure: each function takes the entry as it stands and gives the new one, or None when the
entry does not change, so that a handler applies several items about one action in order."""

from dataclasses import dataclass
from datetime import datetime

from affectation.domain.candidates import Slot

WAITING = ("open", "pending")


@dataclass(frozen=True, slots=True)
class Entry:
    """An appointment's place in the worklist. ``status``: open (to assign), pending (an advisor was
    chosen, planning has not answered), assigned, closed (cancelled, or nobody left to assign)."""

    action_id: str
    status: str
    assignment_id: str | None = None
    refusal: tuple[str, ...] | None = None  # planning's reasons, shown until the next choice


@dataclass(frozen=True, slots=True)
class Appointment:
    """An open or pending entry with its action, as the worklist lists it."""

    slot: Slot
    entry: Entry
    resource: str | None


@dataclass(frozen=True, slots=True)
class Assignment:
    """A manager's choice of an advisor for an appointment, and planning's answer (``outcome``)."""

    id: str
    action_id: str
    advisor_code: str
    category: int
    effect: str
    target_action_id: str | None
    site_code: str | None
    assigned_by: str
    assigned_at: datetime
    outcome: str = "pending"  # pending | applied | refused


def entry_after_action(action_id: str, to_assign: bool, entry: Entry | None) -> Entry | None:
    """Once the action reads ``to_assign``: an action created by an import waits for an advisor; once
    planning says it is no longer to assign, a waiting entry is assigned (keeping the assignment that
    did it)."""
    if to_assign and entry is None:
        return Entry(action_id, "open")
    if not to_assign and entry is not None and entry.status in WAITING:
        return Entry(action_id, "assigned", entry.assignment_id)
    return None


def entry_after_cancellation(entry: Entry | None) -> Entry | None:
    if entry is None or entry == Entry(entry.action_id, "closed"):
        return None
    return Entry(entry.action_id, "closed")


def entry_after_removal(entry: Entry | None, participants_left: int) -> Entry | None:
    """An appointment whose participants all left (not confirmed, unregistered) leaves the worklist."""
    if entry is not None and entry.status == "open" and participants_left == 0:
        return Entry(entry.action_id, "closed")
    return None


def entry_after_applied(action_id: str, assignment_id: str) -> Entry:
    return Entry(action_id, "assigned", assignment_id)


def entry_after_refusal(entry: Entry | None, assignment_id: str, messages: tuple[str, ...]) -> Entry | None:
    """Planning refused: the appointment comes back to the worklist with planning's reasons, unless
    another choice replaced the refused one meanwhile."""
    if entry is not None and entry.assignment_id == assignment_id:
        return Entry(entry.action_id, "open", None, tuple(messages))
    return None
