"""Prestaflow event contracts: pure data, no I/O.

Each producing service has one module (``planning``, ``billing``, ``notify``, ...) whose events
subclass :class:`contracts.base.Event`. ``registry`` maps ``(type, version)`` to the model and
upcasts older versions.
"""

from contracts.base import Event
from contracts.envelope import Envelope
from contracts.registry import EVENT_MODELS, parse_event

__all__ = ["EVENT_MODELS", "Envelope", "Event", "parse_event"]
