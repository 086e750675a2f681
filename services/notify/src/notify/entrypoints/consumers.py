"""Topics notify listens to, as consumer group ``notify``. Filled by the notifications slice."""

SUBSCRIPTIONS: tuple[str, ...] = ()
