"""Notify with every service in its own process, on the real Kafka-protocol broker and PostgreSQL,
sending to a real SMTP server on loopback: the J-10 messages, then every event notify consumed
delivered again (same ids, then new ids) through the broker — nothing is sent twice (NOT-06, X-02)."""

import asyncio
import json
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from aiosmtpd.controller import Controller

from servicekit.bus import Bus, OutgoingMessage
from servicekit.pytest_plugin import free_port

from notify.service_layer.handlers import EVENT_HANDLERS

from cluster import SAMPLES, wait_until

pytestmark = pytest.mark.system
NOTIFY_TOPICS = {"importer": "prestaflow.import.events", "planning": "prestaflow.planning.events"}


class Inbox:
    def __init__(self) -> None:
        self.received: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port, inbox
    controller.stop()




def consumed(cluster, outcome: str) -> float:
    text = httpx.get(cluster.url("notify") + "/metrics", timeout=5).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("prestaflow_events_consumed_total{") and 'service="notify"' in line
               and f'outcome="{outcome}"' in line)


async def republish(cluster, bodies: list[tuple[str, dict]]) -> None:
    bus = Bus(cluster.broker.url, idempotence=cluster.broker.idempotence, namespace=cluster.broker.namespace)
    await bus.start()
    try:
        await bus.publish([OutgoingMessage(topic, body["key"], body, {"type": body["type"]}) for topic, body in bodies])
    finally:
        await bus.stop()


async def test_not06_redelivered_events_on_the_broker_send_nothing_twice(cluster, smtp):
    port, inbox = smtp
    clock = cluster.workdir / "clock.txt"
    clock.write_text("2025-01-04T09:00:00+00:00")  # 10:00 in Paris, the day the J-10 list arrives
    cluster.extra_env.update({
        "PRESTAFLOW_CLOCK_FILE": str(clock), "PRESTAFLOW_SMTP_HOST": "127.0.0.1", "PRESTAFLOW_SMTP_PORT": str(port),
        "PRESTAFLOW_SMTP_TLS": "none", "PRESTAFLOW_NOTIFY_POLL_SECONDS": "0.2"})
    cluster.start()
    assert cluster.cli("referential", "load", str(SAMPLES / "referentiel.yaml")).returncode == 0
    j10 = cluster.cli("import", str(SAMPLES / "liste_inscrits_J-10.csv"), "--ressource", "ACR2025-L12", "--json")
    assert j10.returncode == 0, j10.stderr

    # The access mail goes at once (the postman runs inside notify), the presentation at 19:00.
    wait_until(lambda: len(inbox.received) == 5, what="five virtual-office access mails")
    clock.write_text("2025-01-04T18:00:00+00:00")
    wait_until(lambda: len(inbox.received) == 10, what="the 19:00 batch")
    wait_until(lambda: len(cluster.get("notify", "/outbox?status=scheduled")) == 6, what="J-7 reminders waiting")
    outbox = cluster.get("notify", "/outbox")

    bodies = [(NOTIFY_TOPICS[service], e) for service in NOTIFY_TOPICS for e in cluster.events(service)]
    before = consumed(cluster, "duplicate")
    await republish(cluster, bodies)  # the same envelopes again: notify's inbox skips them
    await republish(cluster, bodies)
    handled = {model.event_type for model in EVENT_HANDLERS}
    relevant = [b for _, b in bodies if b["type"] in handled]
    wait_until(lambda: consumed(cluster, "duplicate") - before >= 2 * len(relevant), timeout=120,
               what="every redelivered event seen as a duplicate")
    fresh = [(topic, body | {"event_id": str(uuid.uuid4())}) for topic, body in bodies]
    processed = consumed(cluster, "processed")
    await republish(cluster, fresh)  # the same facts under new ids: one message per recipient × rule × appointment
    wait_until(lambda: consumed(cluster, "processed") - processed >= len(relevant), timeout=120,
               what="every re-emitted fact processed")
    await asyncio.sleep(1.0)  # a few postman turns
    assert len(inbox.received) == 10
    assert cluster.get("notify", "/outbox") == outbox
    assert cluster.get("notify", "/admin/dead-letters") == []
    sent = [e for e in cluster.events("notify") if e["type"] == "MessageSent"]
    items = [item for e in sent for item in e["payload"]["items"]]
    assert len(items) == len({item["message_id"] for item in items}) == 10
    assert "example.org" not in json.dumps(sent)
    assert datetime.fromisoformat(sent[-1]["occurred_at"]) == datetime(2025, 1, 4, 18, tzinfo=UTC)
