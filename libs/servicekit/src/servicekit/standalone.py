"""``python -m <service>``: one service alone, as it runs in Kubernetes."""

from collections.abc import Callable

from servicekit import serve
from servicekit.bus import Bus
from servicekit.http import build_app
from servicekit.runtime import ServiceRuntime
from servicekit.settings import ServiceSettings


def main(bootstrap: Callable[..., ServiceRuntime], settings: ServiceSettings) -> None:
    bus = Bus.from_settings(settings)
    runtime = bootstrap(bus, settings)
    app = build_app([runtime], bus, title=f"Prestaflow {runtime.name}")
    serve.run(app, settings)
