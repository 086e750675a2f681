"""The postman: sends the messages that are due (NOT-02, NOT-03, NOT-06).

Rule messages are due at 19:00 (Paris) on their day, so each evening's batch is simply every
message due by then; system messages are due when they are written, and the unit of work wakes
the postman on commit, so they go at once.

One message is sent at most once per claim: a sender first claims the row (``scheduled`` →
``sending``, a conditional update only one sender can win), decides with what notify knows at that
moment (NOT-03: record, address, consent; the appointment still live; the template active), sends
outside any transaction, then records the attempt with the server's answer and the outcome in one
transaction. A temporary failure puts the message back with an exponential back-off; a permanent
one is final. At the end of its turn the postman announces every outcome it recorded in one
``MessageSent`` event (the whole 19:00 batch's sent messages, cut in chunks by servicekit) and one
``MessageNotSent``: a final message keeps its ``claimed_at`` until then, so that outcomes recorded
by a postman that died before announcing them are announced by the next turn. A sender that dies between
sending and recording leaves a claim that expires after ``notify_lease_seconds``; the message is
then tried again with the same Message-ID (the one case where a copy may reach the recipient twice).
"""

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from contracts.notify import DeliveryTry, MessageNotSent, MessageSent, MessageSentItem
from servicekit.clock import Clock
from servicekit.uow import UnitOfWork

from notify.config import NotifySettings
from notify.domain.defaults import templates_of, with_bodies
from notify.domain.messages import DeliveryResult, Outgoing, Stop, decide
from notify.domain.schedule import retry_at
from notify.service_layer.scheduling import not_sent_item, stopped

log = logging.getLogger("notify.delivery")


class Channel(Protocol):
    async def send(self, outgoing: Outgoing) -> DeliveryResult: ...


def links(settings: NotifySettings) -> dict[str, str]:
    return {"virtual_office_url": settings.virtual_office_url, "presentation_url": settings.presentation_url}


async def decide_message(uow, message: dict[str, Any], links: dict[str, str], now: datetime,
                         check_time: bool = True, contact: dict[str, Any] | None = None) -> Outgoing | Stop:
    """What notify knows now, and whether (and what) the message sends."""
    contact = contact or await uow.contacts.get(message["beneficiary_id"])
    templates = templates_of(await uow.setup.get())
    template = templates.get(message["template_code"])
    appointment = await uow.appointments.get(message["registration_id"]) if message["registration_id"] else None
    action = await uow.actions.get(appointment.action_id) if appointment and appointment.action_id else None
    return decide(
        message, contact=contact, appointment=appointment,
        template=with_bodies(template)[0] if template else None, referential=await uow.referential.get(),
        links=links, now=now, logged_in=await uow.logins.get(message["beneficiary_id"]) is not None,
        ends_at=action.ends_at if action else None, check_time=check_time)


def sent_copy(message: dict[str, Any]) -> Outgoing:
    """A sent message as it went (from what notify recorded)."""
    return Outgoing(message["id"], message["channel"], message["recipient"], "", message["subject"],
                    message["body_text"] or "", message["body_html"], message["template_code"], message["sent_at"])


def final(status: str, code: str, reason: str, now: datetime) -> dict[str, Any]:
    """A message that will not go, its claim kept until its outcome is announced."""
    values = stopped(status, code, reason, now)
    del values["claimed_at"]
    return values


class KeySource(Protocol):
    """Reads the personal fields importer sealed with each person's key (``unseal_all``: one request
    for all); None for a person whose key was destroyed."""

    async def unseal_all(self, sealed: dict[str, str]) -> dict[str, dict[str, Any] | None]: ...


class GdprLinks(Protocol):
    """BEN-02: the person's agreement link for the GDPR mail (None once the agreement is recorded)."""

    async def link(self, beneficiary_id: str) -> str | None: ...


async def keep_unsealed(uow, pending: list[tuple[str, str]], identities: dict[str, dict[str, Any] | None]) -> None:
    """Each contact received sealed (beneficiary id, token) replaced by the fields messages need, read
    from its unsealed identity (None: the key was destroyed, the contact is deleted)."""
    for beneficiary_id, token in pending:
        identity = identities[beneficiary_id]
        await uow.contacts.unsealed(beneficiary_id, token, identity and {
            "civility": identity.get("civility") or None, "first_name": identity.get("first_name"),
            "last_name": identity.get("last_name"), "email": identity.get("email") or None,
            "phone": identity.get("phone") or None})


class Postman:
    def __init__(self, uow_factory: Callable[[], UnitOfWork], channels: Mapping[str, Channel],
                 settings: NotifySettings, clock: Clock, keys: KeySource, gdpr_links: GdprLinks | None = None):
        self.uow_factory = uow_factory
        self.keys = keys
        self.gdpr_links = gdpr_links
        self.channels = dict(channels)
        self.settings = settings
        self.clock = clock
        self._wake: asyncio.Event | None = None
        self._lock: asyncio.Lock | None = None
        self._announced = False  # once since start: outcomes a postman that died left unannounced

    def wake(self) -> None:
        if self._wake is not None:
            self._wake.set()

    async def tick(self) -> None:
        """One turn of the background job: wait for a wake-up or the poll interval, then send what is due."""
        if self._wake is None:
            self._wake = asyncio.Event()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self.settings.notify_poll_seconds)
        self._wake.clear()
        try:
            await self.send_due()
        except Exception as exc:  # noqa: BLE001 - logged without its text: a database error may quote values
            log.error("notify postman turn failed", extra={"service": "notify", "type": type(exc).__name__})

    async def send_due(self) -> dict[str, int]:
        """Send every message due now; returns how many were sent, not sent, cancelled, put back for retry."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:  # one turn at a time in this process; other processes are kept out by the claims
            now = self.clock.now()
            counts: Counter[str] = Counter()
            await self._recover_stale_claims(now)
            while True:
                async with self.uow_factory() as uow:
                    due = await uow.messages.due(now, self.settings.notify_batch_size)
                    claimed = [m for m in due if await uow.messages.claim(m["id"], now)]
                    await uow.commit()
                await self.unseal_contacts(sorted({m["beneficiary_id"] for m in claimed}))
                for message_id in (m["id"] for m in claimed):
                    counts[await self._deliver(message_id, now)] += 1
                if len(due) < self.settings.notify_batch_size:
                    break
            if counts or not self._announced:
                await self._announce()
            if counts:
                log.info("notify batch", extra={"service": "notify", "count": sum(counts.values())})
            return {k: counts.get(k, 0) for k in ("sent", "not_sent", "cancelled", "retry")}

    async def unseal_contacts(self, beneficiary_ids: list[str] | None = None) -> int:
        """Read the contacts received sealed (all, or these people's), with the keys importer serves; keep
        only what messages need (civilité, names, e-mail, phone) and drop the sealed copy. A destroyed
        key (the person was purged) deletes the contact. Importer unreachable: the contact stays sealed
        and its messages wait; nothing is lost. No transaction is open while importer is asked.

        The postman reads a contact when one of its messages is due, not on every registration."""
        done, failed = 0, set()
        if beneficiary_ids is not None and not beneficiary_ids:
            return 0
        while True:
            async with self.uow_factory() as uow:
                pending = [p for p in await uow.contacts.sealed(beneficiary_ids, limit=len(failed) + 500)
                           if p[0] not in failed]
            if not pending:
                return done
            try:  # a key that cannot open a token counts as destroyed: only importer being down raises
                identities = await self.keys.unseal_all(dict(pending))
            except Exception:  # noqa: BLE001 - importer unreachable: try again on the next turn
                failed |= {beneficiary_id for beneficiary_id, _ in pending}
                log.warning("keys not available", extra={"service": "notify", "count": len(pending)})
                continue
            async with self.uow_factory() as uow:
                await keep_unsealed(uow, pending, identities)
                await uow.commit()
            done += len(pending)

    async def _announce(self) -> None:
        """One ``MessageSent`` for the messages sent, then one ``MessageNotSent`` for the others, each
        with its outcome's time and attempts (never what was sent, nor the servers' answers), from which
        an audit replay restores them (OPS-04)."""
        async with self.uow_factory() as uow:
            outcomes = await uow.messages.outcomes_to_announce()
            tries = await uow.messages.attempts_of([m["id"] for m in outcomes])
            said = {m["id"]: tuple(DeliveryTry(id=a["id"], at=a["at"], outcome=a["outcome"]) for a in tries[m["id"]])
                    for m in outcomes}
            uow.emit_items(MessageSent, [
                MessageSentItem(message_id=m["id"], beneficiary_id=m["beneficiary_id"],
                                registration_id=m["registration_id"], template=m["template_code"],
                                channel=m["channel"], kind=m["kind"], attempts=m["attempts"],
                                sent_at=m["sent_at"], tries=said[m["id"]])
                for m in outcomes if m["status"] == "sent"])
            uow.emit_items(MessageNotSent, [
                not_sent_item(m, m["reason_code"], status=m["status"], reason_text=m["reason"],
                              attempts=m["attempts"], decided_at=m["updated_at"], tries=said[m["id"]])
                for m in outcomes if m["status"] != "sent"])
            await uow.commit()
        self._announced = True

    async def _recover_stale_claims(self, now: datetime) -> None:
        before = now - timedelta(seconds=self.settings.notify_lease_seconds)
        async with self.uow_factory() as uow:
            for message in await uow.messages.stale_claims(before):
                attempt = message["attempts"] + 1
                await uow.messages.add_attempt(message["id"], attempt, now, "temporary",
                                               "envoi interrompu (arrêt pendant l'envoi) : nouvel essai")
                await uow.messages.update(message["id"], status="scheduled", attempts=attempt, claimed_at=None,
                                          next_attempt_at=now, updated_at=now)
            await uow.commit()

    async def _decide(self, message_id: str, now: datetime, extra_links: dict[str, str] | None = None
                      ) -> tuple[dict[str, Any], Outgoing] | str:
        """The claimed message and what it sends, or the outcome already recorded when it will not go."""
        async with self.uow_factory() as uow:
            message = await uow.messages.get(message_id)
            if message is None or message["status"] != "sending":
                return "skipped"
            contact = await uow.contacts.get(message["beneficiary_id"])
            if contact is not None and contact["sealed"] is not None:  # not readable yet: wait, not an attempt
                later = now + timedelta(seconds=self.settings.notify_retry_base_seconds)
                await uow.messages.update(message_id, status="scheduled", claimed_at=None, updated_at=now,
                                          next_attempt_at=later)
                await uow.commit()
                return "retry"
            decision = await decide_message(uow, message, links(self.settings) | (extra_links or {}), now,
                                            contact=contact)
            if isinstance(decision, Stop):
                await uow.messages.update(message_id, **final(decision.status, decision.code, decision.reason, now))
                await uow.commit()
                return decision.status
        return message, decision

    async def _deliver(self, message_id: str, now: datetime) -> str:
        decided = await self._decide(message_id, now)
        if isinstance(decided, str):
            return decided
        message, decision = decided
        if message["purpose"] == "gdpr" and self.gdpr_links is not None:
            # BEN-02: the mail that goes carries the person's agreement link, taken from importer only
            # now (no transaction open), so that the status *demandé* is a mail really sent.
            try:
                link = await self.gdpr_links.link(message["beneficiary_id"])
            except Exception as exc:  # noqa: BLE001 - importer unreachable: the mail waits, an attempt
                return await self._record(message, decision, DeliveryResult(
                    "temporary", f"lien d'accord RGPD indisponible (importer : {type(exc).__name__})"), now)
            decided = await self._decide(message_id, now, {"gdpr_agreement_url": link or ""})
            if isinstance(decided, str):
                return decided
            message, decision = decided
        try:
            result = await self.channels[decision.channel].send(decision)
        except Exception as exc:  # noqa: BLE001 - an adapter's bug must not lose the message: try again later
            result = DeliveryResult("temporary", f"erreur interne : {type(exc).__name__}")
        return await self._record(message, decision, result, now)

    async def _record(self, message: dict[str, Any], outgoing: Outgoing, result: DeliveryResult, now: datetime) -> str:
        attempt = message["attempts"] + 1
        settings = self.settings
        async with self.uow_factory() as uow:
            await uow.messages.add_attempt(message["id"], attempt, now, result.outcome, result.answer)
            if result.outcome == "sent":
                await uow.messages.update(message["id"], status="sent", sent_at=now, next_attempt_at=None,
                                          reason_code=None, reason=None, recipient=outgoing.to,
                                          subject=outgoing.subject, body_text=outgoing.text, body_html=outgoing.html,
                                          attempts=attempt, updated_at=now)
                outcome = "sent"
            elif result.outcome == "invalid":  # the message cannot be made: trying again would not help
                await uow.messages.update(message["id"], attempts=attempt, **final(
                    "not_sent", "unbuildable", f"Message impossible à construire : {result.answer}.", now))
                outcome = "not_sent"
            elif result.outcome == "permanent" or attempt >= settings.notify_max_attempts:
                code = "rejected" if result.outcome == "permanent" else "gave_up"
                reason = {"rejected": "Refusé définitivement par le serveur d'envoi",
                          "gave_up": f"Échec après {attempt} tentatives"}[code]
                await uow.messages.update(message["id"], attempts=attempt,
                                          **final("not_sent", code, f"{reason} (voir les tentatives).", now))
                outcome = "not_sent"
            else:
                await uow.messages.update(message["id"], status="scheduled", attempts=attempt, claimed_at=None,
                                          updated_at=now, next_attempt_at=retry_at(
                    now, attempt, settings.notify_retry_base_seconds, settings.notify_retry_max_seconds))
                outcome = "retry"
            await uow.commit()
        return outcome
