"""``python -m <service>``: one service alone, as it runs in Kubernetes."""

from collections.abc import Callable

from servicekit import serve
from servicekit.bus import Bus
from servicekit.http import build_app
from servicekit.runtime import ServiceRuntime
from servicekit.settings import ServiceSettings


def main(bootstrap: Callable[..., ServiceRuntime], settings: ServiceSettings) -> None:
    bus = Bus(settings.bus, idempotence=settings.kafka_idempotence, namespace=settings.topic_namespace,
                       partitions=settings.kafka_partitions, replication=settings.kafka_replication,
                       batch_size=settings.consumer_batch_size)
    runtime = bootstrap(bus, settings)
    app = build_app([runtime], bus, title=f"Prestaflow {runtime.name}")
    serve.run(app, settings)
