"""Prometheus metrics shared by every service (label ``service``), served at ``/metrics``."""

from prometheus_client import Counter

EVENTS_PUBLISHED = Counter("prestaflow_events_published", "Events published from the outbox", ["service"])
EVENTS_CONSUMED = Counter("prestaflow_events_consumed", "Events consumed, by outcome",
                          ["service", "type", "outcome"])
