"""The GDPR information mail (NOT-05) and the purge of a person (X-04)."""

from contracts.importer import BeneficiaryPurged, GdprAgreementRequested
from contracts.notify import MessageScheduledByHand, MessageScheduledByHandItem
from contracts.planning import PresenceValidated
from servicekit.errors import Conflict, NotFound, RefusedInput

from notify.domain.appointments import message_id, message_row
from notify.domain.defaults import GDPR
from notify.domain.messages import REASONS, dedup_key
from notify.service_layer.scheduling import MessageBook


async def send_gdpr_after_presence(event: PresenceValidated, uow) -> None:
    """NOT-05: the GDPR information is due at the first validated presence of the person; the postman
    sends it if an e-mail and a civilité are known, otherwise the record shows it must be sent by hand."""
    present = [item.beneficiary_id for item in event.items if item.presence == "oui"]
    if not present:
        return
    async with uow:
        now = uow.clock.now()
        setup = await uow.setup.get()
        book = await MessageBook.read(uow, beneficiary_ids=present)
        book.add(message_row(setup, now, beneficiary_id=person, purpose="gdpr", kind="system", template_code=GDPR,
                             due_at=now) for person in present)
        await book.save(uow)
        await uow.commit()


async def forget_beneficiaries(event: BeneficiaryPurged, uow) -> None:
    """X-04: the contacts, the appointments and what was sent go (the sent copies written as files
    too); ids and statuses stay (counts)."""
    people = list(dict.fromkeys(item.beneficiary_id for item in event.items))
    async with uow:
        pending = await uow.messages.forget_beneficiaries(people, uow.clock.now())
        order = {person: n for n, person in enumerate(people)}
        pending.sort(key=lambda m: order[m["beneficiary_id"]])  # stable: oldest first for each person
        book = MessageBook(pending, uow.clock.now())
        for message in pending:
            book.stop(message, "cancelled", "purged", REASONS["purged"])
        await book.save(uow)
        await uow.contacts.delete(people)
        await uow.logins.delete(people)
        await uow.appointments.delete_beneficiaries(people)
        await uow.actions.forget_beneficiaries(people)
        # The copies written as files (embedded default) go too; done again if the commit fails.
        await uow.sent_copies.forget(await uow.messages.ids_of(people))
        await uow.commit()
    await uow.scrub()


async def send_gdpr_by_hand(beneficiary_id: str, uow) -> dict:
    """NOT-05 by hand: the GDPR mail goes now (without a civilité the greeting is « Madame, Monsieur »);
    it still needs an e-mail address and the consent to e-mails (NOT-03)."""
    async with uow:
        now = uow.clock.now()
        message = await uow.messages.by_key(dedup_key(beneficiary_id, "gdpr"))
        if message and message["status"] == "sent":
            raise Conflict([f"Mail RGPD déjà envoyé le {message['sent_at']:%d/%m/%Y}."])
        if message and message["status"] in ("scheduled", "sending"):
            raise Conflict(["Mail RGPD déjà en cours d'envoi."])
        contact = await uow.contacts.get(beneficiary_id)
        if contact is None:
            raise NotFound([f"Bénéficiaire « {beneficiary_id} » inconnu de notify (aucune fiche)."])
        if not contact["email"]:
            raise RefusedInput(["Pas d'adresse e-mail sur la fiche : le mail RGPD ne peut pas être envoyé."])
        message = await _schedule(uow, beneficiary_id, message, now)
        uow.emit_items(MessageScheduledByHand, [MessageScheduledByHandItem(
            message_id=message["id"], beneficiary_id=beneficiary_id, template=message["template_code"])])
        await uow.commit()
    return {"message_id": message["id"], "status": "scheduled"}


async def restore_by_hand(event: MessageScheduledByHand, uow) -> None:
    """The audit's replay (OPS-04): the GDPR mail staff sent by hand, scheduled again at the event's time."""
    async with uow:
        for item in event.items:
            await _schedule(uow, item.beneficiary_id, await uow.messages.by_key(dedup_key(item.beneficiary_id, "gdpr")),
                            uow.clock.now())
        uow.emit_items(MessageScheduledByHand, event.items)
        await uow.commit()


async def _schedule(uow, beneficiary_id: str, message: dict | None, now, key: str | None = None) -> dict:
    """The GDPR mail due now, by hand: ``message`` (one not sent) again, or a new one (under ``key``)."""
    if message is None:
        message = message_row(await uow.setup.get(), now, beneficiary_id=beneficiary_id, purpose="gdpr",
                              kind="manual", template_code=GDPR, due_at=now)
        if key is not None:
            message |= {"id": message_id(key), "dedup_key": key}
        await uow.messages.add(message)
    else:
        await uow.messages.update(message["id"], kind="manual", status="scheduled", due_at=now, reason_code=None,
                                  reason=None, next_attempt_at=None, attempts=0, updated_at=now)
        uow.messages.added_due.append(now)
    return message


async def send_gdpr_on_request(event: GdprAgreementRequested, uow) -> None:
    """BEN-02: staff asked importer to send the agreement request again: the GDPR mail goes (with a
    new personal link, taken when it is sent). The mail not sent yet is sent; one already sent is
    sent again as a new message; one under way is left to go. NOT-03 applies as to any mail."""
    asked = [item for item in event.items if item.source == "staff"]
    if not asked:
        return
    async with uow:
        now = uow.clock.now()
        for item in asked:
            first = dedup_key(item.beneficiary_id, "gdpr")
            message = await uow.messages.by_key(first)
            if message is None or message["status"] in ("manual", "not_sent", "cancelled"):
                await _schedule(uow, item.beneficiary_id, message, now)
            elif message["status"] == "sent":
                again = f"{first}|request:{item.requested_at.isoformat()}"
                if await uow.messages.by_key(again) is None:
                    await _schedule(uow, item.beneficiary_id, None, now, again)
        await uow.commit()


# What notify's commands decided about the GDPR mail, rebuilt by a replay from notify's own events.
RESTORERS = {MessageScheduledByHand: restore_by_hand}
