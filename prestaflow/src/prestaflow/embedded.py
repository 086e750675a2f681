"""Every service in one process: one bus, one HTTP app with each API under its own prefix."""

import asyncio
from collections.abc import Callable, Sequence

import httpx
from fastapi import FastAPI

from affectation.bootstrap import bootstrap as affectation
from billing.bootstrap import bootstrap as billing
from importer.bootstrap import bootstrap as importer
from notify.bootstrap import bootstrap as notify
from planning.bootstrap import bootstrap as planning
from servicekit.auth import Authenticator, Directory, LocalAdministrator
from servicekit.bus import Bus
from servicekit.clock import Clock
from servicekit.http import build_app
from servicekit.runtime import ServiceRuntime
from servicekit.settings import ServiceSettings

BOOTSTRAPS = (planning, importer, affectation, billing, notify)
SERVICE_NAMES = ("planning", "importer", "affectation", "billing", "notify")


class Embedded:
    def __init__(self, settings: ServiceSettings, *, background_relays: bool, clock: Clock | None = None,
                 auth: Callable[[Directory], Authenticator] | None = None):
        """``auth``: who the callers are, given planning's directory of rights (default: the local
        administrator; ``prestaflow serve``: OIDC or AUTH=off)."""
        self.bus = Bus.from_settings(settings)
        self.runtimes: Sequence[ServiceRuntime] = [b(self.bus, settings, clock=clock) for b in BOOTSTRAPS]
        # People's rights from planning's referential (SEC-02); the embedded default's caller is the
        # local administrator, or the referential user it names (``Api(user=...)``).
        self.directory = next(r.directory for r in self.runtimes if r.directory is not None)
        authenticator = auth(self.directory) if auth else LocalAdministrator(self.directory)
        self.app: FastAPI = build_app(self.runtimes, self.bus, "Prestaflow", run_relays=background_relays,
                                      auth=authenticator)
        # Importer serves beneficiaries' keys from this same process.
        for runtime in self.runtimes:
            if runtime.key_source is not None and not settings.importer_url:
                runtime.key_source.transport = httpx.ASGITransport(app=self.app)

    async def settle(self, everything: bool = False) -> int:
        """Publish outboxes and wait for the consumers until nothing is left to publish or consume:
        afterwards every projection is up to date. Only relays woken by a commit are asked, unless
        ``everything`` (at start: a previous process may have left events behind). The relays
        publish at the same time and the consumer groups consume at their own pace, as each
        service's own relay and consumers do in production."""
        relays = [runtime.relay for runtime in self.runtimes]
        total = 0
        while True:
            total += sum(await asyncio.gather(*[relay.publish_pending(read_outbox=everything) for relay in relays
                                                if everything or relay.woken]))
            everything = False
            await self.bus.drained()
            if not any(relay.woken for relay in relays):
                return total
