"""``prestaflow replay``: rebuild a service's state from the event log into a fresh database and
compare it with the live one (X-01)."""

import json
import tempfile
from pathlib import Path
from typing import Any

from affectation.service_layer import handlers as affectation_handlers
from contracts import Envelope
from servicekit.bus import Bus
from servicekit.keys import HttpKeySource
from servicekit.settings import ServiceSettings

from prestaflow.client import Api
from prestaflow.embedded import BOOTSTRAPS, SERVICE_NAMES


async def event_log(api: Api) -> list[Envelope]:
    """Every service's emitted events, in the order they happened."""
    entries = []
    for service in SERVICE_NAMES:
        after = 0
        while page := (await api.request("GET", service, "/admin/events", params={"after": after, "limit": 10000})).json():
            entries += [(e["envelope"]["occurred_at"], service, e["position"], e["envelope"]) for e in page]
            after = page[-1]["position"]
    return [Envelope.model_validate(e[3]) for e in sorted(entries, key=lambda e: e[:3])]


LIVE_VIEW = {"affectation": "/appointments", "importer": "/referential", "billing": "/referential"}


async def _rebuilt_view(service: str, runtime) -> Any:
    if service == "affectation":
        return await affectation_handlers.worklist(runtime.uow_factory(), runtime.key_source)
    async with runtime.uow_factory() as uow:
        return await uow.referential.snapshot()


async def replay(api: Api, service: str) -> dict[str, Any]:
    """Feed the log into a fresh copy of ``service`` (SQLite, in this process) and compare what users
    read from it with what the live service answers."""
    events = await event_log(api)
    with tempfile.TemporaryDirectory() as tmp:
        settings = ServiceSettings(home=Path(tmp), bus="memory://", database_url=None)
        fresh = BOOTSTRAPS[SERVICE_NAMES.index(service)](Bus("memory://"), settings)
        await fresh.database.migrate()
        applied = 0
        for envelope in events:
            handler = fresh.dispatcher.handlers.get(envelope.type)
            if handler is not None:
                await fresh.dispatcher.handle(envelope, handler)
                applied += 1
        if fresh.key_source is not None:  # names are read with importer's keys, as live
            fresh.key_source = HttpKeySource(api._address("importer", "").rsplit("/importer", 1)[0],
                                             transport=api.transport)
        rebuilt = json.loads(json.dumps(await _rebuilt_view(service, fresh), default=str))
        await fresh.database.dispose()
    live = (await api.request("GET", service, LIVE_VIEW[service])).json()
    return {"service": service, "events": len(events), "applied": applied, "identical": rebuilt == live,
            "live": live, "rebuilt": rebuilt}
