"""Topics notify listens to, as consumer group ``notify``; dispatch by type in EVENT_HANDLERS."""

from contracts import topics

SUBSCRIPTIONS = (topics.IMPORT_EVENTS, topics.PLANNING_EVENTS)
