"""How the command line reaches the services: a deployment's HTTP APIs or the embedded default.

``PRESTAFLOW_URL`` set: every service at ``$PRESTAFLOW_URL/<service>``, or at
``$PRESTAFLOW_URL_<SERVICE>/<service>`` when a service has its own address. Otherwise every
service runs in this process on the embedded default (SQLite under ``PRESTAFLOW_HOME``, in-memory
bus), and each command waits until the events it caused have been consumed.
"""

import os
from contextlib import AsyncExitStack
from typing import Any

import httpx

from servicekit.clock import Clock
from servicekit.oidc_client import TokenUnavailable, auth_from_settings
from servicekit.settings import ServiceSettings

from prestaflow.embedded import Embedded


class ServiceUnavailable(Exception):
    pass


class AccessRefused(Exception):
    """401 or 403 from a service (SEC-01, SEC-02): its French message."""

    def __init__(self, status: int, messages: list[str]):
        super().__init__("; ".join(messages))
        self.status, self.messages = status, messages


class Api:
    def __init__(self, settings: ServiceSettings | None = None, clock: Clock | None = None,
                 user: str | None = None):
        """``user``: embedded only, act as this referential user instead of the local administrator."""
        self.settings = settings or ServiceSettings()
        self.clock = clock
        self.url = os.environ.get("PRESTAFLOW_URL", "").rstrip("/") or None
        # With a URL: PRESTAFLOW_TOKEN, else a token from PRESTAFLOW_CLIENT_ID/SECRET (client credentials).
        self.auth = auth_from_settings(self.settings, os.environ.get("PRESTAFLOW_TOKEN")) if self.url else None
        self.headers = {"X-Prestaflow-User": user} if user and not self.url else {}
        self.embedded: Embedded | None = None
        self._stack = AsyncExitStack()
        self._client: httpx.AsyncClient | None = None
        self.transport: httpx.AsyncBaseTransport | None = None  # in-process: the embedded app

    async def __aenter__(self) -> "Api":
        if self.url:
            self._client = await self._stack.enter_async_context(httpx.AsyncClient(timeout=60, auth=self.auth))
        else:
            self.embedded = Embedded(self.settings, background_relays=False, clock=self.clock)
            await self._stack.enter_async_context(self.embedded.app.router.lifespan_context(self.embedded.app))
            self.transport = httpx.ASGITransport(app=self.embedded.app)
            self._client = await self._stack.enter_async_context(httpx.AsyncClient(
                transport=self.transport, base_url="http://embedded", timeout=60, headers=self.headers))
            await self.embedded.settle(everything=True)  # events a previous command left in an outbox
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self._stack.aclose()

    def _address(self, service: str, path: str) -> str:
        if not self.url:
            return f"/{service}{path}"
        base = os.environ.get(f"PRESTAFLOW_URL_{service.upper()}", self.url).rstrip("/")
        return f"{base}/{service}{path}"

    async def request(self, method: str, service: str, path: str, settle: bool = True,
                      **kwargs: Any) -> httpx.Response:
        assert self._client is not None
        try:
            response = await self._client.request(method, self._address(service, path), **kwargs)
        except httpx.TransportError as exc:
            raise ServiceUnavailable(f"Service « {service} » injoignable ({self._address(service, path)}) : {exc}") from exc
        except TokenUnavailable as exc:
            raise AccessRefused(401, [str(exc)]) from exc
        if response.status_code in (401, 403):
            try:
                messages = list(response.json()["messages"])
            except (ValueError, KeyError, TypeError):
                messages = ["Authentification requise." if response.status_code == 401 else "Accès refusé."]
            raise AccessRefused(response.status_code, messages)
        if self.embedded is not None and settle:
            await self.embedded.settle()
        return response
