"""Random (version 4) UUIDs as text, the form every id takes in rows and events.

``str(uuid.uuid4())`` builds a ``UUID`` object only to format it again: an import makes several
ids per row and one per event, and the object made up a visible share of its time."""

import os
import uuid

_VARIANT = "89ab"  # RFC 4122 variant: the first hex digit of the fourth group is 8, 9, a or b


def new_uuid() -> str:
    digits = os.urandom(16).hex()
    return (f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-{_VARIANT[int(digits[16], 16) & 3]}{digits[17:20]}"
            f"-{digits[20:]}")


# Ids a handler makes are derived from what it handles (the event and the item), never random:
# replaying the log must rebuild the same rows.
_NAMESPACE = uuid.UUID("5b1f2a57-0c3e-4f7e-9a63-6a1d3c2e8f40")


def derived_id(*parts: object) -> str:
    """A version 5 UUID, as text, from ``parts`` (e.g. the event id and the item's aggregate id)."""
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(str(p) for p in parts)))
