"""Computing and cancelling messages (NOT-02, NOT-04, NOT-06).

Each message is written once per recipient × rule × appointment (its ``dedup_key``), with the time
it is due. Sending is not done here: the postman (``delivery.py``) sends what is due, so a
redelivered event never sends anything twice.

An event handler keeps the messages its items are about in a ``MessageBook``: read once, changed
in memory in item order (so that an item sees what the items before it added, moved or cancelled),
written and announced at the end.
"""

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from contracts.notify import MessageNotSent, MessageNotSentItem

from notify.domain.appointments import Appointment, rescheduled_due
from notify.domain.messages import PENDING, REASONS, dedup_key

APPOINTMENT_PURPOSES = ("rule", "mbv_reminder")  # the virtual-office access mail is about the person


def not_sent_item(message: dict[str, Any], code: str, **outcome: Any) -> MessageNotSentItem:
    """``outcome``: what an audit replay restores the message from (status, reason_text, attempts, …)."""
    return MessageNotSentItem(message_id=message["id"], beneficiary_id=message["beneficiary_id"],
                              registration_id=message["registration_id"], template=message["template_code"],
                              channel=message["channel"], kind=message["kind"], reason=code, **outcome)


def stopped(status: str, code: str, reason: str, now: datetime) -> dict[str, Any]:
    """What a message that will not go is changed to."""
    return {"status": status, "reason_code": code, "reason": reason, "updated_at": now, "next_attempt_at": None,
            "claimed_at": None}


class MessageBook:
    """The messages of an event's appointments and people, by recipient × rule × appointment.

    ``add`` keeps only the first message of a key (NOT-06), ``stop_pending`` and ``reschedule`` see
    the messages added before them; ``save`` inserts the new ones, updates the changed ones and
    emits one ``MessageNotSent`` item per message stopped, in order."""

    def __init__(self, rows: Iterable[dict[str, Any]], now: datetime):
        self.now = now
        self._by_key: dict[str, dict[str, Any]] = {}
        self._by_registration: dict[str, list[dict[str, Any]]] = {}
        self._new: list[dict[str, Any]] = []
        self._new_ids: set[str] = set()
        self._changed: dict[str, dict[str, Any]] = {}
        self._not_sent: list[MessageNotSentItem] = []
        for row in rows:
            self._keep(row)

    @classmethod
    async def read(cls, uow, registration_ids: Iterable[str] = (), beneficiary_ids: Iterable[str] = ()) -> "MessageBook":
        """The messages of these appointments, and these people's own (virtual-office access, GDPR)."""
        rows = await uow.messages.of_registrations(registration_ids)
        people = list(dict.fromkeys(beneficiary_ids))
        rows += await uow.messages.with_keys([dedup_key(b, p) for b in people for p in ("mbv_access", "gdpr")])
        return cls(rows, uow.clock.now())

    def _keep(self, row: dict[str, Any]) -> None:
        if row["dedup_key"] in self._by_key:
            return
        self._by_key[row["dedup_key"]] = row
        if row["registration_id"]:
            self._by_registration.setdefault(row["registration_id"], []).append(row)

    def add(self, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            if row["dedup_key"] not in self._by_key:
                self._keep(row)
                self._new.append(row)
                self._new_ids.add(row["id"])

    def _change(self, message: dict[str, Any], values: dict[str, Any]) -> None:
        message.update(values)
        if message["id"] not in self._new_ids:
            self._changed.setdefault(message["id"], {"id": message["id"]}).update(values)

    def pending(self, registration_id: str, statuses: tuple[str, ...] = PENDING) -> list[dict[str, Any]]:
        """The appointment's messages in these statuses, oldest first."""
        return sorted((m for m in self._by_registration.get(registration_id, ()) if m["status"] in statuses),
                      key=lambda m: (m["created_at"], m["id"]))

    def stop(self, message: dict[str, Any], status: str, code: str, reason: str) -> None:
        self._change(message, stopped(status, code, reason, self.now))
        self._not_sent.append(not_sent_item(message, code))

    def stop_pending(self, registration_id: str, code: str, reason: str | None = None,
                     keep: Callable[[dict[str, Any]], bool] = lambda m: False) -> None:
        """Nothing more is sent about this appointment (but what ``keep`` keeps)."""
        for message in self.pending(registration_id):
            if message["purpose"] in APPOINTMENT_PURPOSES and not keep(message):
                self.stop(message, "cancelled", code, reason or REASONS[code])

    def reschedule(self, appointment: Appointment) -> None:
        """The appointment moved: its scheduled messages follow it (delay 0 stays on its import day)."""
        for message in self.pending(appointment.registration_id, ("scheduled",)):
            due = rescheduled_due(message, appointment.starts_at, self.now)
            if due is not None:
                self._change(message, {"due_at": due, "updated_at": self.now})

    async def save(self, uow) -> None:
        await uow.messages.insert(self._new)
        await uow.messages.change(list(self._changed.values()))
        uow.emit_items(MessageNotSent, self._not_sent)
        self._new, self._new_ids, self._changed, self._not_sent = [], set(), {}, []
