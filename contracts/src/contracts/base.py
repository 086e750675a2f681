from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

# An event carries at most this many items and this many bytes of JSON: a change that touches more
# aggregates is cut into several events of the same type (``servicekit`` does it when emitting).
MAX_ITEMS = 1000
MAX_EVENT_BYTES = 512 * 1024


class Contract(BaseModel):
    """Strict, immutable data carried on the bus."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Event(Contract):
    """An event's payload. Subclasses name their type, version and producing service."""

    event_type: ClassVar[str]
    event_version: ClassVar[int] = 1
    producer: ClassVar[str]


class Item(Contract):
    """One aggregate's change inside a list event. ``aggregate`` names its kind and
    ``aggregate_field`` the field holding its id."""

    aggregate: ClassVar[str]
    aggregate_field: ClassVar[str]

    version: int = Field(default=0, ge=0, description=(
        "The aggregate's version after this change (1 when it was created); 0 when the item was upcast "
        "from a first-version event, which did not carry it."), examples=[1])

    @property
    def aggregate_id(self) -> str:
        return getattr(self, self.aggregate_field)


class ListEvent(Event):
    """An event whose payload is a list of items, each about one aggregate: one change that touched
    many aggregates (an imported list, a duplicated series) is one event per chunk of at most
    ``MAX_ITEMS`` items, and a person's single change is the same event with one item."""

    item_type: ClassVar[type[Item]]
    items: tuple[Any, ...]

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        annotation = cls.model_fields["items"].annotation
        args = getattr(annotation, "__args__", ())
        if args and isinstance(args[0], type) and issubclass(args[0], Item):
            cls.item_type = args[0]


def items_field(what: str) -> Any:
    """The ``items`` field of a list event: 1 to ``MAX_ITEMS`` items."""
    return Field(min_length=1, max_length=MAX_ITEMS,
                 description=f"{what}, one item per aggregate change, in the order they happened "
                             f"(at most {MAX_ITEMS}).")


def upcast_to_items(payload: dict[str, Any]) -> dict[str, Any]:
    """A first-version payload (one aggregate's change) as the one item of its list event."""
    return {"items": [{**payload, "version": 0}]}
