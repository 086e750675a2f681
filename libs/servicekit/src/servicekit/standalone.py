"""``python -m <service>``: one service alone, as it runs in Kubernetes; ``python -m <service> migrate``
only migrates its schema and exits (the pod's init container, deploy/README.md)."""

import asyncio
import sys
from collections.abc import Callable

from servicekit import logs, serve, tracing
from servicekit.auth import AuthNotConfigured, authenticator_from_settings
from servicekit.bus import Bus
from servicekit.http import build_app
from servicekit.runtime import ServiceRuntime
from servicekit.settings import ServiceSettings


def main(bootstrap: Callable[..., ServiceRuntime], settings: ServiceSettings) -> None:
    bus = Bus.from_settings(settings)
    runtime = bootstrap(bus, settings)
    if sys.argv[1:] == ["migrate"]:
        asyncio.run(_migrate(runtime))
        return
    logs.configure()
    try:
        auth = authenticator_from_settings(settings)  # refuses to start without OIDC settings or AUTH=off
    except AuthNotConfigured as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(2) from exc
    tracing.configure(runtime.name)
    app = build_app([runtime], bus, title=f"Prestaflow {runtime.name}", auth=auth)
    serve.run(app, settings)


async def _migrate(runtime: ServiceRuntime) -> None:
    try:
        await runtime.database.migrate()
    finally:
        await runtime.database.dispose()
