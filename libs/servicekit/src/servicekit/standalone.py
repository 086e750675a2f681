"""``python -m <service>``: one service alone, as it runs in Kubernetes; ``python -m <service> migrate``
only migrates its schema and exits (the pod's init container, deploy/README.md)."""

import asyncio
import sys
from collections.abc import Callable

from servicekit import logs, serve, tracing
from servicekit.auth import AuthNotConfigured, HttpDirectory, authenticator_from_settings
from servicekit.bus import Bus
from servicekit.http import build_app
from servicekit.oidc_client import auth_from_settings
from servicekit.runtime import ServiceRuntime
from servicekit.settings import ServiceSettings


def main(bootstrap: Callable[..., ServiceRuntime], settings: ServiceSettings) -> None:
    bus = Bus.from_settings(settings)
    runtime = bootstrap(bus, settings)
    if sys.argv[1:] == ["migrate"]:
        asyncio.run(_migrate(runtime))
        return
    logs.configure()
    # People's rights: the referential's owner reads its own; the others ask it (SEC-02, SEC-03).
    directory = runtime.directory or HttpDirectory(settings.planning_url, auth_from_settings(settings))
    try:
        auth = authenticator_from_settings(settings, directory)  # refuses to start without OIDC or AUTH=off
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
