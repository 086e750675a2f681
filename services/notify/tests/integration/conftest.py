"""Notify's integration fixtures: a real SMTP server on loopback (aiosmtpd), and notify alone fed
with events through its dispatcher, its keys served by a fake importer (httpx.MockTransport)."""

import email
import json
import email.message
import email.policy
import uuid
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from contracts import Envelope, Event
from contracts.topics import BY_PRODUCER
from servicekit import crypto
from servicekit.bus import Bus
from servicekit.clock import FixedClock
from servicekit.http import build_app
from servicekit.pytest_plugin import free_port
from servicekit.settings import ServiceSettings

from notify.bootstrap import bootstrap
from notify.config import NotifySettings


@dataclass
class AcceptedMail:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)


@dataclass
class SmtpServer:
    """An SMTP server on 127.0.0.1 that keeps what it accepts; ``refuse`` makes RCPT answer 550 for
    these addresses; ``stop``/``start`` simulate an outage."""

    port: int
    received: list[AcceptedMail] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    controller: Controller | None = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 Boîte inconnue"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append(AcceptedMail(envelope.mail_from, list(envelope.rcpt_tos),
                                      envelope.original_content or envelope.content))
        return "250 2.0.0 Message accepté"

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def by_recipient(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for r in self.received:
            for rcpt in r.rcpt_tos:
                out.setdefault(rcpt, []).append(r.message["Subject"])
        return out


@pytest.fixture
def smtp_server():
    server = SmtpServer(free_port())
    server.start()
    yield server
    server.stop()


def with_smtp(settings: ServiceSettings, server: SmtpServer, **extra: Any) -> NotifySettings:
    """The test's settings (database, home) with notify sending to the test SMTP server."""
    return NotifySettings(**settings.model_dump() | {
        "notify_email": "smtp", "smtp_host": "127.0.0.1", "smtp_port": server.port, "smtp_tls": "none",
        "smtp_timeout_seconds": 5, "mail_from": "BGE Hauts-de-France <ne-pas-repondre@bge-hdf.example>"} | extra)


class FakeImporter:
    """Serves beneficiaries' keys like importer's API; ``purge`` destroys one."""

    def __init__(self) -> None:
        self.keys: dict[str, str | None] = {}
        self.down = False  # answers 503, as an importer being redeployed
        self.agreed: set[str] = set()  # BEN-02: people whose agreement is recorded (no link)
        self.links_given: list[str] = []

    def seal(self, beneficiary_id: str, identity: dict[str, Any]) -> str:
        key = self.keys.setdefault(beneficiary_id, crypto.new_key())
        return crypto.seal(key, identity)

    def purge(self, beneficiary_id: str) -> None:
        self.keys[beneficiary_id] = None

    def transport(self) -> httpx.MockTransport:
        def answer(request: httpx.Request) -> httpx.Response:
            if self.down:
                return httpx.Response(503, json={"messages": ["indisponible"]})
            if request.url.path.endswith("/gdpr/link"):  # BEN-02: the GDPR mail's personal link
                beneficiary_id = request.url.path.split("/")[-3]
                link = None if beneficiary_id in self.agreed else (
                    f"https://prestaflow.example.org/importer/rgpd/accord?jeton=signed-{beneficiary_id}-"
                    f"{len(self.links_given)}")
                self.links_given += [link] if link else []
                return httpx.Response(200, json={"link": link})
            assert request.url.path.endswith("/beneficiaries/keys"), request.url.path
            wanted = json.loads(request.content)  # several at once; destroyed keys left out
            return httpx.Response(200, json={b: self.keys[b] for b in wanted if self.keys.get(b)})

        return httpx.MockTransport(answer)


class NotifyAlone:
    """Notify by itself: its API through ASGI, events fed to its dispatcher as the bus would."""

    def __init__(self, settings: NotifySettings, clock: FixedClock, channels: dict | None = None):
        self.settings, self.clock, self.importer = settings, clock, FakeImporter()
        self.bus = Bus("memory://")
        self.runtime = bootstrap(self.bus, settings, clock, importer_transport=self.importer.transport(),
                                 channels_override=channels)
        self.app = build_app([self.runtime], self.bus, "notify", run_relays=False)
        self._stack = AsyncExitStack()
        self.fed: list[tuple[dict[str, Any], str]] = []

    async def __aenter__(self) -> "NotifyAlone":
        await self._stack.enter_async_context(self.app.router.lifespan_context(self.app))
        self.client = await self._stack.enter_async_context(httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://notify"))
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self._stack.aclose()

    async def feed(self, event: Event, key: str = "bge") -> dict[str, Any]:
        """``event`` as its producer's outbox would send it (``key``: the structure)."""
        body = Envelope(event_id=uuid.uuid4(), type=event.event_type, version=event.event_version,
                        occurred_at=self.clock.now(), producer=event.producer, key=key,
                        payload=event.model_dump(mode="json")).model_dump(mode="json")
        topic = BY_PRODUCER[event.producer]
        self.fed.append((body, topic))
        await self.runtime.dispatcher(body, topic)
        return body

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.request(method, f"/notify{path}", **kwargs)

    async def send(self, at: datetime | None = None) -> dict[str, int]:
        if at is not None:
            self.clock.at = at
        return await self.runtime.postman.send_due()

    async def outbox(self, **params: Any) -> list[dict[str, Any]]:
        return (await self.call("GET", "/outbox", params=params)).json()

    async def emitted(self, event_type: str | None = None) -> list[dict[str, Any]]:
        events = [e["envelope"] for e in (await self.call("GET", "/admin/events")).json()]
        return [e for e in events if event_type is None or e["type"] == event_type]

    async def emitted_items(self, event_type: str) -> list[dict[str, Any]]:
        """The items of every ``event_type`` event notify emitted, in order."""
        return [item for e in await self.emitted(event_type) for item in e["payload"]["items"]]


def settings_for(backend: str, sqlite_settings: ServiceSettings, pg_settings: ServiceSettings) -> ServiceSettings:
    return sqlite_settings if backend == "sqlite" else pg_settings


@pytest.fixture
def notify_alone():
    """``async with notify_alone(settings, clock) as notify:`` notify alone, see NotifyAlone."""
    return NotifyAlone


@pytest.fixture
def smtp_settings():
    """``smtp_settings(base_settings, smtp_server, **extra)``: notify's settings sending to the test server."""
    return with_smtp
