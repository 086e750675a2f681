"""Topic names: one per producing service, keyed by aggregate id."""

PLANNING_EVENTS = "prestaflow.planning.events"
IMPORT_EVENTS = "prestaflow.import.events"
AFFECTATION_EVENTS = "prestaflow.affectation.events"
BILLING_EVENTS = "prestaflow.billing.events"
NOTIFY_EVENTS = "prestaflow.notify.events"

BY_PRODUCER = {
    "planning": PLANNING_EVENTS,
    "importer": IMPORT_EVENTS,
    "affectation": AFFECTATION_EVENTS,
    "billing": BILLING_EVENTS,
    "notify": NOTIFY_EVENTS,
}


def dead_letter_topic(service: str) -> str:
    """Where a service parks the events it could not process, with the error."""
    return f"prestaflow.{service}.deadletter"
