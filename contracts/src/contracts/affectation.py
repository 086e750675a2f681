"""Events produced by the affectation service."""

from typing import Literal

from pydantic import AwareDatetime, Field

from contracts.base import Contract, Event, Item, ListEvent, items_field

PRODUCER = "affectation"


class ParticipantAssignedFields(Contract):
    assignment_id: str = Field(description="Assignment id (idempotence key).")
    action_id: str = Field(description="The appointment to assign: the action the import created.")
    advisor: str = Field(description="Advisor's code.", examples=["cdurand"])
    category: Literal[1, 2, 3, 4] = Field(description="AFF-02 category of the chosen candidate.", examples=[3])
    effect: Literal["join", "move", "create"] = Field(
        description="join: the participants join target_action_id; move: the action moves to the advisor's agenda; "
                    "create: a new action at the advisor's site.", examples=["move"])
    target_action_id: str | None = Field(default=None, description="The advisor's action to join (join).")
    site: str | None = Field(default=None, description="Site of the new action (create).", examples=["LIL"])
    starts_at: AwareDatetime | None = Field(default=None, description="Start of the new action (create).")
    assigned_by: str = Field(description="User who assigned.", examples=["mpetit"])


class ParticipantAssignedItem(ParticipantAssignedFields, Item):
    aggregate = "assignment"
    aggregate_field = "assignment_id"


class ParticipantAssigned(ListEvent):
    """A manager gave an imported appointment to an advisor (AFF-02, AFF-03); planning applies it."""

    event_type = "ParticipantAssigned"
    event_version = 2
    producer = PRODUCER

    items: tuple[ParticipantAssignedItem, ...] = items_field("The assignments")


# First versions: one aggregate per event. Kept for their published schemas and upcast on reading.

class ParticipantAssignedV1(ParticipantAssignedFields, Event):
    """A manager gave an imported appointment to an advisor (AFF-02, AFF-03); planning applies it."""

    event_type = "ParticipantAssigned"
    producer = PRODUCER
