"""The audit's speed (OPS-04, issue #19), each figure beside its baseline measured in the same run.

1. Replay: a 10,000-row J-10 list imported through importer's API, every service in one process on
   PostgreSQL (as ``import_bench.py``), timed until every consumer is done; then the log it wrote is
   read from the outboxes and replayed into fresh PostgreSQL schemas of all five services
   (``prestaflow.audit.rebuild``: each service's input events, then each copy's state digest).
   Target: replay within 2x the import.
2. Verify: an export of 100,000 chained events (RegistrationRecorded, one item each, as a v2 producer
   writes them) read back (``audit.from_export``: every line parsed and validated), then its chains
   walked (``audit.verify``). Target: read + verify within 3x the read alone.

    .venv/bin/python bench/audit_bench.py [--rows 10000] [--events 100000]

Not a test: nothing here asserts a duration.
"""

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from import_bench import RESOURCE, SAMPLES, generate_rows, to_csv  # noqa: E402

from contracts.envelope import GENESIS, envelope_json, event_hash  # noqa: E402
from contracts.importer import RegistrationRecorded, RegistrationRecordedItem  # noqa: E402
from prestaflow import audit, referential, referential_file  # noqa: E402
from prestaflow.client import Api  # noqa: E402
from planning.domain.referential import ReferentialPart  # noqa: E402
from planning.service_layer.commands import LoadReferential  # noqa: E402
from planning.service_layer.handlers import load_referential  # noqa: E402
from servicekit.keys import HttpKeySource  # noqa: E402
from servicekit.pytest_plugin import PG_URL, drop_schemas  # noqa: E402
from servicekit.settings import ServiceSettings  # noqa: E402

REPLAY_TARGET, VERIFY_TARGET = 2.0, 3.0


async def seed_planning_referential(runtime) -> None:
    """Planning's referential, which its own command loaded and no input event carries in full."""
    part = referential_file.split(referential_file.read(SAMPLES / "referentiel.yaml")).planning
    await load_referential(LoadReferential(ReferentialPart.model_validate(part)), runtime.uow_factory())


async def replay_bench(rows: int) -> tuple[float, float, int, dict]:
    live_prefix, fresh_prefix = f"auditlive{uuid.uuid4().hex[:6]}_", f"auditfresh{uuid.uuid4().hex[:6]}_"
    settings = ServiceSettings(database_url=PG_URL, db_schema_prefix=live_prefix, bus="memory://",
                               home=Path("/tmp") / live_prefix)
    try:
        async with Api(settings) as api:
            await referential.load(api, SAMPLES / "referentiel.yaml")
            data = to_csv(generate_rows(rows))
            started = time.perf_counter()
            response = await api.request("POST", "importer", "/imports", files={"file": ("liste.csv", data)},
                                         data={"resource": RESOURCE, "user": "bench"})
            imported = time.perf_counter() - started
            assert response.json()["counts"]["created"] == rows, response.json()
            started = time.perf_counter()
            log = audit.in_order(await audit.from_outboxes(api))
            fresh = ServiceSettings(database_url=PG_URL, db_schema_prefix=fresh_prefix, bus="memory://",
                                    home=Path("/tmp") / fresh_prefix)
            with tempfile.TemporaryDirectory() as tmp:
                rebuilt = await audit.rebuild(log, Path(tmp), HttpKeySource("http://importer", transport=api.transport),
                                              seed={"planning": seed_planning_referential}, settings=fresh)
            replayed = time.perf_counter() - started
            live = {name: (await api.request("GET", name, "/admin/digest")).json() for name in rebuilt}
        comparison = audit.compare(rebuilt, live, audit.heads([]))
        return imported, replayed, len(log), comparison
    finally:
        await drop_schemas(live_prefix)
        await drop_schemas(fresh_prefix)


def chained_export(folder: Path, events: int) -> None:
    """An export of ``events`` chained RegistrationRecorded events from importer."""
    previous, at = GENESIS, datetime(2025, 1, 4, 9, tzinfo=UTC)
    lines = []
    for n in range(1, events + 1):
        item = RegistrationRecordedItem(registration_id=f"r-{n}", beneficiary_id=f"b-{n}", enrolment_id=f"e-{n}",
                                        resource=RESOURCE, ods="ACR2025", site="ARM",
                                        starts_at=at + timedelta(minutes=n), remote=False, order_number=None,
                                        list_kind="J-10", version=1)
        wire = envelope_json("RegistrationRecorded", RegistrationRecorded.event_version,
                             RegistrationRecorded(items=(item,)).model_dump_json(), event_id=str(uuid.uuid4()),
                             occurred_at=at, producer="importer", key="bge", correlation_id=None,
                             causation_id=None, sequence=n, previous_hash=previous)
        previous = event_hash(wire)
        lines.append(wire.encode())
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "prestaflow.import.events.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))
    (folder / audit.MANIFEST).write_text(
        '{"format": 1, "topics": {"prestaflow.import.events": {"file": "prestaflow.import.events.jsonl", '
        f'"events": {events}}}}}, "chains": {{"importer": {{"sequence": {events}, "last_hash": "{previous}"}}}}}}')


def verify_bench(events: int) -> tuple[float, float, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "export"
        chained_export(folder, events)
        started = time.perf_counter()
        entries, manifest = audit.from_export(folder)
        read = time.perf_counter() - started
        started = time.perf_counter()
        result = audit.verify(entries, manifest["chains"])
        walked = time.perf_counter() - started
    assert result["intact"] and result["chained"]["importer"] == events, result
    return read, walked, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()

    imported, replayed, events, comparison = asyncio.run(replay_bench(args.rows))
    print(f"Import of {args.rows:,} rows, every consumer done: {imported:.2f} s")
    print(f"Replay of its log ({events} events) into fresh copies of the five services, digests included: "
          f"{replayed:.2f} s")
    print(f"  ratio replay / import: {replayed / imported:.2f}x (target <= {REPLAY_TARGET}x)")
    for name, service in comparison["services"].items():
        print(f"  {name}: {service['applied']} events applied, refused: {service['refused']}, "
              f"tables differing from live: {sorted(service['differing_tables']) or 'none'}")

    read, walked, _ = verify_bench(args.events)
    print(f"Read {args.events:,} exported events (parsed, validated): {read:.2f} s")
    print(f"Verify their chain: {walked:.2f} s; read + verify / read: {(read + walked) / read:.2f}x "
          f"(target <= {VERIFY_TARGET}x)")


if __name__ == "__main__":
    main()
