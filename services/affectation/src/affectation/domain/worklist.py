"""When an appointment enters or leaves the worklist as its action changes (AFF-01). Pure.

The one-event and the batch handler of ``ActionPlanned``/``ActionChanged`` both decide with it.
"""

from typing import Any

WAITING = ("open", "pending")


def entry_after_action(to_assign: bool, entry: dict[str, Any] | None) -> tuple[str, str | None] | None:
    """The worklist entry's new (status, assignment id) once the action reads ``to_assign``, or None
    when it does not change: an action created by an import waits for an advisor; once planning says it
    is no longer to assign, a waiting entry is assigned (keeping the assignment that did it)."""
    if to_assign and entry is None:
        return "open", None
    if not to_assign and entry is not None and entry["status"] in WAITING:
        return "assigned", entry["assignment_id"]
    return None
