"""Topics planning listens to, as consumer group ``planning``; dispatch by type in EVENT_HANDLERS."""

from contracts import topics

SUBSCRIPTIONS = (topics.IMPORT_EVENTS, topics.AFFECTATION_EVENTS, topics.BILLING_EVENTS, topics.NOTIFY_EVENTS)
