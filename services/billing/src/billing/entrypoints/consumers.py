"""Topics billing listens to, as consumer group ``billing``; dispatch by type in EVENT_HANDLERS."""

from contracts import topics

SUBSCRIPTIONS = (topics.PLANNING_EVENTS, topics.IMPORT_EVENTS)
