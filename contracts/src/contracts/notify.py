"""Events produced by the notify service."""

from typing import Literal

from pydantic import Field

from contracts.base import Contract, Event

PRODUCER = "notify"


class TemplateRef(Contract):
    code: str = Field(description="Template (modèle) code.", examples=["ACR-RAPPEL"])
    channel: Literal["email", "sms"] = Field(description="Channel.", examples=["email"])
    active: bool = Field(description="Inactive templates send nothing.", examples=[True])


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
