"""Topics importer listens to, as consumer group ``importer``; dispatch by type in EVENT_HANDLERS."""

from contracts import topics

SUBSCRIPTIONS = (topics.PLANNING_EVENTS,)
