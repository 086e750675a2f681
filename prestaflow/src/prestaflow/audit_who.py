"""``prestaflow audit who``: who did what, when, on which record, from the event log (SEC-04).

Every event a person's command caused carries that person's id (``actor``, never a name); events
the system emitted on its own (consumers, batches) carry none and are left out."""

from typing import Any

from contracts import Envelope
from contracts.base import ListEvent
from contracts.registry import parse_event

from prestaflow.client import Api
from prestaflow.audit import from_outboxes, in_order


def records_of(envelope: Envelope) -> list[str]:
    """The ids of the records an event changed (each item's aggregate), else its beneficiary's."""
    try:
        event = parse_event(envelope)
    except (KeyError, ValueError):
        return []
    if isinstance(event, ListEvent):
        return [item.aggregate_id for item in event.items]
    beneficiary = getattr(event, "beneficiary_id", None)
    return [beneficiary] if beneficiary else []


def _mentions(envelope: Envelope, beneficiary: str) -> bool:
    payload = envelope.payload
    items = payload.get("items") if isinstance(payload.get("items"), list) else [payload]
    # A merge (BEN-03) is about the record kept as much as the one merged into it.
    return any(isinstance(i, dict) and beneficiary in (i.get("beneficiary_id"), i.get("kept_id"),
                                                        *(i.get("beneficiary_ids") or ()))
               for i in items) or beneficiary in records_of(envelope)


async def who(api: Api, beneficiary: str | None = None, actor: str | None = None) -> list[dict[str, Any]]:
    rows = []
    for envelope in in_order(await from_outboxes(api)):
        if envelope.actor is None or (actor and envelope.actor != actor):
            continue
        if beneficiary and not _mentions(envelope, beneficiary):
            continue
        rows.append({"when": envelope.occurred_at.isoformat(), "actor": envelope.actor,
                     "service": envelope.producer, "event": envelope.type, "records": records_of(envelope),
                     "event_id": str(envelope.event_id)})
    return rows


def lines(rows: list[dict[str, Any]]) -> list[str]:
    out = []
    for r in rows:
        records = r["records"]
        shown = ", ".join(records[:3]) + (f" … (+{len(records) - 3})" if len(records) > 3 else "")
        out.append(f"{r['when'][:19].replace('T', ' ')}  {r['actor']:22} {r['service']:12} {r['event']:28} {shown}")
    out.append(f"{len(rows)} action(s).")
    return out
