"""Topics planning listens to, as consumer group ``planning``. Filled by the import slice."""

SUBSCRIPTIONS: tuple[str, ...] = ()
