"""The postman's outcomes read back from notify's own ``MessageSent`` and ``MessageNotSent`` by an
audit replay (OPS-04): each message's status, times, attempts and reason as the postman recorded
them, and the contacts it unsealed to send (with the keys the audit is given, as the postman does
with importer's). What was sent (recipient, subject, bodies) and the servers' answers are never in
the log: they are declared out of the digest (``UNREPLAYABLE``)."""

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from contracts.notify import DeliveryTry, MessageNotSent, MessageSent

from notify.service_layer.delivery import KeySource, keep_unsealed

UNREPLAYABLE_SENT = ("ce qui a été envoyé (destinataire, objet, textes) : données personnelles, jamais dans le "
                     "journal ; MessageSent ne porte que les identifiants, l'heure et les tentatives")
UNREPLAYABLE_ANSWERS = ("réponse du serveur d'envoi à chaque tentative : elle peut citer l'adresse, jamais dans le "
                        "journal ; l'heure et l'issue de chaque tentative sont comparées")
UNREPLAYABLE = {f"messages.{column}": UNREPLAYABLE_SENT for column in ("recipient", "subject", "body_text", "body_html")
                } | {"delivery_attempts.answer": UNREPLAYABLE_ANSWERS}


async def _unseal(uow, keys: KeySource, beneficiary_ids: Iterable[str]) -> None:
    """The contacts the postman read to send, read again with the audit's keys; importer's keys out of
    reach leave them sealed, as the postman does (the digest then names the table)."""
    people = sorted(set(beneficiary_ids))
    pending = await uow.contacts.sealed(people, limit=len(people))
    if not pending:
        return
    try:
        identities = await keys.unseal_all(dict(pending))
    except Exception:  # noqa: BLE001 - no keys: the contacts stay sealed
        return
    await keep_unsealed(uow, pending, identities)


async def _record(uow, message_id: str, tries: tuple[DeliveryTry, ...] | None, values: dict[str, Any]) -> None:
    for number, attempt in enumerate(tries or (), 1):
        await uow.messages.add_attempt(message_id, number, attempt.at, attempt.outcome, None, attempt.id)
    await uow.messages.update(message_id, next_attempt_at=None, claimed_at=None, **values)


def restorers(keys: Callable[[], KeySource]) -> dict[type, Callable]:
    """``keys``: the runtime's key source when the replay runs (the audit sets it)."""

    async def restore_sent(event: MessageSent, uow) -> None:
        async with uow:
            await _unseal(uow, keys(), (i.beneficiary_id for i in event.items))
            for item in event.items:
                at: datetime = item.sent_at or uow.clock.now()
                await _record(uow, item.message_id, item.tries, {
                    "status": "sent", "sent_at": at, "updated_at": at, "attempts": item.attempts,
                    "reason_code": None, "reason": None})
            uow.emit_items(MessageSent, event.items)
            await uow.commit()

    async def restore_not_sent(event: MessageNotSent, uow) -> None:
        async with uow:
            await _unseal(uow, keys(), (i.beneficiary_id for i in event.items))
            for item in event.items:
                values = {"status": item.status or "not_sent", "reason_code": item.reason, "reason": item.reason_text,
                          "updated_at": item.decided_at or uow.clock.now()}
                await _record(uow, item.message_id, item.tries,
                              values | ({"attempts": item.attempts} if item.attempts is not None else {}))
            uow.emit_items(MessageNotSent, event.items)
            await uow.commit()

    return {MessageSent: restore_sent, MessageNotSent: restore_not_sent}
