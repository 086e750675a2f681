"""Events produced by the notify service."""

from typing import Any, Literal

from pydantic import AwareDatetime, Field

from contracts.base import Contract, Event, Item, ListEvent, items_field

PRODUCER = "notify"


class TemplateRef(Contract):
    code: str = Field(description="Template (modèle) code.", examples=["ACR-RAPPEL"])
    channel: Literal["email", "sms"] = Field(description="Channel.", examples=["email"])
    active: bool = Field(description="Inactive templates send nothing.", examples=[True])
    # What an audit replay restores the template from (OPS-04); absent from events written before.
    subject: str | None = Field(default=None, description="Subject (e-mail), a Jinja template.",
                                examples=["Rappel : rendez-vous Activ'Créa le {{ action.date }}"])
    body_html: str | None = Field(default=None, description="HTML body, a Jinja template (none: the default body).",
                                  examples=["<p>Bonjour {{ beneficiary.first_name }},</p>"])
    body_text: str | None = Field(default=None, description="Text body (SMS, e-mail's text part), a Jinja template.",
                                  examples=["Bonjour {{ beneficiary.first_name }}, rendez-vous le {{ action.date }}."])


class RuleRef(Contract):
    ods: str = Field(description="ODS the rule applies to.", examples=["ACR2025"])
    confirmation: Literal["yes", "no", "any"] = Field(description="Confirmation it applies to.",
                                                      examples=["yes"])
    template: str = Field(description="Template code.", examples=["ACR-RAPPEL"])
    delay_days: int = Field(description="Days relative to the action (0 = on import).", examples=[-2])


class NotificationSetupChanged(Event):
    """Notify's templates and sending rules after a change (snapshot)."""

    event_type = "NotificationSetupChanged"
    producer = PRODUCER

    templates: tuple[TemplateRef, ...] = Field(description="All templates.")
    rules: tuple[RuleRef, ...] = Field(description="All sending rules.")


MessageChannel = Literal["email", "sms"]


class DeliveryTry(Contract):
    """One delivery attempt as notify logged it: when and how it ended, never the server's answer (it may
    quote the address)."""

    id: int | None = Field(default=None, description="The attempt's number in notify's delivery log, all messages "
                                                    "together (the order of the attempts across messages).",
                           examples=[12])
    at: AwareDatetime = Field(description="When the attempt was made.", examples=["2025-01-12T18:00:00Z"])
    outcome: Literal["sent", "temporary", "permanent", "invalid"] = Field(
        description="Accepted, temporary failure (tried again), permanent failure, or the message could not be made.",
        examples=["sent"])


# What an audit replay restores a message's outcome from (OPS-04); absent from events written before.
def outcome_at_field() -> Any:
    return Field(default=None, description="When the postman recorded the outcome (the message's last change).",
                 examples=["2025-01-12T18:00:00Z"])


def tries_field() -> Any:
    return Field(default=None, description="Every delivery attempt of the message, oldest first (none: not said).")


class MessageSentFields(Contract):
    message_id: str = Field(description="Notify's message id (one per recipient × rule × appointment).")
    beneficiary_id: str = Field(description="Recipient's beneficiary id.", examples=["b-6f1c2d"])
    registration_id: str | None = Field(description="Appointment (registration) the message is about, if any.")
    template: str = Field(description="Template (modèle) code.", examples=["ACR-RAPPEL"])
    channel: MessageChannel = Field(description="Channel.", examples=["email"])
    kind: Literal["rule", "system", "manual"] = Field(
        description="Sending rule (daily 19:00 batch), system message (at once) or sent by hand.", examples=["rule"])
    attempts: int = Field(ge=1, description="Delivery attempts it took.", examples=[1])


class MessageSentItem(MessageSentFields, Item):
    sent_at: AwareDatetime | None = outcome_at_field()
    tries: tuple[DeliveryTry, ...] | None = tries_field()

    aggregate = "message"
    aggregate_field = "message_id"


class MessageSent(ListEvent):
    """A message left notify: the provider (SMTP server, SMS gateway) accepted it (NOT-06).

    Ids and codes only: never an address, a number, a name or the text sent.
    """

    event_type = "MessageSent"
    event_version = 2
    producer = PRODUCER

    items: tuple[MessageSentItem, ...] = items_field("The messages sent")


class MessageNotSentFields(Contract):
    message_id: str = Field(description="Notify's message id.")
    beneficiary_id: str = Field(description="Recipient's beneficiary id.", examples=["b-6f1c2d"])
    registration_id: str | None = Field(description="Appointment (registration) the message is about, if any.")
    template: str = Field(description="Template (modèle) code.", examples=["ACR-RAPPEL"])
    channel: MessageChannel = Field(description="Channel.", examples=["email"])
    kind: Literal["rule", "system", "manual"] = Field(description="Rule, system or manual message.",
                                                       examples=["rule"])
    reason: str = Field(description="Reason code (see the event's description).", examples=["no_consent"])


class MessageNotSentItem(MessageNotSentFields, Item):
    status: Literal["not_sent", "cancelled", "manual"] | None = Field(
        default=None, description="What became of the message: not sent, cancelled, or to send by hand (GDPR mail).",
        examples=["not_sent"])
    reason_text: str | None = Field(
        default=None, description="The reason as staff read it (French, built from the code, the template's code "
                                  "and the attempts; never personal data).",
        examples=["Pas d'adresse e-mail sur la fiche."])
    attempts: int | None = Field(default=None, ge=0, description="Delivery attempts made.", examples=[0])
    decided_at: AwareDatetime | None = outcome_at_field()
    tries: tuple[DeliveryTry, ...] | None = tries_field()

    aggregate = "message"
    aggregate_field = "message_id"


class MessageNotSent(ListEvent):
    """A message that will not go (NOT-03, NOT-05, NOT-06), with the reason's code.

    Reasons: ``no_record``, ``no_address``, ``invalid_address``, ``no_consent``, ``template_inactive``,
    ``template_unknown``, ``render_failed``, ``rejected`` (permanent failure of the provider),
    ``gave_up`` (temporary failures until the last attempt), ``appointment_cancelled``,
    ``not_confirmed`` (not confirmed at J-2), ``appointment_passed``, ``not_needed`` (the person
    logged in to the virtual office, or the confirmation changed), ``manual_required`` (GDPR mail
    to send by hand), ``purged``, ``unbuildable`` (the message could not be made: a control character
    in the recipient's name or address).
    """

    event_type = "MessageNotSent"
    event_version = 2
    producer = PRODUCER

    items: tuple[MessageNotSentItem, ...] = items_field("The messages that will not go")


class MessageScheduledByHandItem(Item):
    message_id: str = Field(description="Notify's message id (a new one, or the GDPR mail not sent yet).")
    beneficiary_id: str = Field(description="Recipient's beneficiary id.", examples=["b-6f1c2d"])
    template: str = Field(description="Template (modèle) code.", examples=["SYS-RGPD"])

    aggregate = "message"
    aggregate_field = "message_id"


class MessageScheduledByHand(ListEvent):
    """Staff asked notify to send a message now (NOT-05: the GDPR information mail by hand); it is
    scheduled, due at once, and its outcome follows in ``MessageSent`` or ``MessageNotSent``.

    Ids and codes only, like the other message events.
    """

    event_type = "MessageScheduledByHand"
    producer = PRODUCER

    items: tuple[MessageScheduledByHandItem, ...] = items_field("The messages scheduled")


class VirtualOfficeLoginItem(Item):
    beneficiary_id: str = Field(description="Beneficiary who logged in.", examples=["b-6f1c2d"])
    at: AwareDatetime = Field(description="When the virtual office says they logged in.",
                              examples=["2025-01-08T10:15:00Z"])

    aggregate = "virtual_office_login"
    aggregate_field = "beneficiary_id"


class VirtualOfficeLoginRecorded(ListEvent):
    """The virtual office (Mon Bureau Virtuel) reported a person's login to notify: the J-7 reminder is
    then not needed (NOT-04). Ids and times only."""

    event_type = "VirtualOfficeLoginRecorded"
    producer = PRODUCER

    items: tuple[VirtualOfficeLoginItem, ...] = items_field("The logins reported")


# First versions: one aggregate per event. Kept for their published schemas and upcast on reading.

class MessageSentV1(MessageSentFields, Event):
    """A message left notify: the provider (SMTP server, SMS gateway) accepted it (NOT-06).

    Ids and codes only: never an address, a number, a name or the text sent.
    """

    event_type = "MessageSent"
    producer = PRODUCER


class MessageNotSentV1(MessageNotSentFields, Event):
    """A message that will not go (NOT-03, NOT-05, NOT-06), with the reason's code.

    Reasons: ``no_record``, ``no_address``, ``invalid_address``, ``no_consent``, ``template_inactive``,
    ``template_unknown``, ``render_failed``, ``rejected`` (permanent failure of the provider),
    ``gave_up`` (temporary failures until the last attempt), ``appointment_cancelled``,
    ``not_confirmed`` (not confirmed at J-2), ``appointment_passed``, ``not_needed`` (the person
    logged in to the virtual office, or the confirmation changed), ``manual_required`` (GDPR mail
    to send by hand), ``purged``.
    """

    event_type = "MessageNotSent"
    producer = PRODUCER
