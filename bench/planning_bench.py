"""Planning benchmark on PostgreSQL, every consumer done after each request (the embedded runner
waits for them):

1. ``--actions N`` actions planned one by one through planning's HTTP API: milliseconds per action;
2. a series of ``--series N`` slots planned by ONE duplication command (``POST
   /planning/actions/{id}/duplicate``), one transaction and one ``ActionPlanned`` event per 1,000 slots;
3. the export of a 31-day window (both PLN-07 files).

Baseline in the same run: one PostgreSQL COPY of the same rows, for each of 1 and 2.

    .venv/bin/python bench/planning_bench.py [--actions 300] [--series 10000]

Prints each figure with its ratio to the COPY and the target of issue #15 for the series (50x).
"""

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg

from prestaflow import referential
from prestaflow.client import Api
from servicekit.pytest_plugin import PG_URL, drop_schemas
from servicekit.settings import ServiceSettings

SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "prestappli" / "samples"
PARIS = ZoneInfo("Europe/Paris")
# (advisor, site) pairs that share a place with the Activ'Créa ODS and its ressource.
SEATS = [("cdurand", "ARM"), ("kbenamar", "LIL"), ("mpetit", "LIL")]
HOURS = [9, 10, 11, 12, 14, 15, 16, 17]
SERIES_TARGET = 50


def slots(n: int):
    day = date(2025, 1, 6)
    while True:
        if day.weekday() < 5:
            for hour in HOURS:
                for advisor, site in SEATS:
                    start = datetime(day.year, day.month, day.day, hour, tzinfo=PARIS)
                    yield advisor, site, start, start + timedelta(hours=1)
                    n -= 1
                    if n == 0:
                        return
        day += timedelta(days=1)


async def baseline_copy(rows: list[tuple], schema: str) -> float:
    conn = await asyncpg.connect(PG_URL.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        await conn.execute(f'CREATE TABLE "{schema}".actions_copy (id text primary key, advisor_code text, '
                           'site_code text, starts_at timestamptz, ends_at timestamptz, ods_code text, '
                           'step_order int, resource_code text, max_participants int)')
        started = time.perf_counter()
        await conn.copy_records_to_table("actions_copy", records=rows, schema_name=schema)
        return time.perf_counter() - started
    finally:
        await conn.close()


def series_starts(n: int) -> list[datetime]:
    """``n`` one-hour slots of one advisor, 08:00 to 19:00 on weekdays, from 2025-02-03 on."""
    starts, day = [], date(2025, 2, 3)
    while len(starts) < n:
        if day.weekday() < 5:
            starts += [datetime(day.year, day.month, day.day, hour, tzinfo=PARIS) for hour in range(8, 20)]
        day += timedelta(days=1)
    return starts[:n]


async def main(n: int, series: int) -> None:
    prefix = f"bench{uuid.uuid4().hex[:6]}_"
    settings = ServiceSettings(database_url=PG_URL, db_schema_prefix=prefix, bus="memory://",
                               home=Path(tempfile.mkdtemp(prefix=prefix)))
    try:
        async with Api(settings) as api:
            await referential.load(api, SAMPLES / "referentiel.yaml")
            planned = list(slots(n))
            started = time.perf_counter()
            for advisor, site, start, end in planned:
                response = await api.request("POST", "planning", "/actions", json={
                    "advisor": advisor, "site": site, "starts_at": start.isoformat(), "ends_at": end.isoformat(),
                    "ods": "ACR2025", "step": 1, "resource": "ACR2025-L12"})
                assert response.status_code == 201, response.text
            api_seconds = time.perf_counter() - started

            starts = series_starts(series + 1)
            first = starts[0]
            response = await api.request("POST", "planning", "/actions", json={
                "advisor": "cdurand", "site": "ARM", "starts_at": first.isoformat(),
                "ends_at": (first + timedelta(hours=1)).isoformat(), "ods": "ACR2025", "step": 1,
                "resource": "ACR2025-L12"})
            assert response.status_code == 201, response.text
            original = response.json()["action_id"]
            started = time.perf_counter()
            response = await api.request("POST", "planning", f"/actions/{original}/duplicate",
                                         json={"starts": [s.isoformat() for s in starts[1:]]})
            series_seconds = time.perf_counter() - started
            assert response.status_code in (200, 201), response.text[:500]
            created = response.json().get("created", [])
            assert len(created) == series, f"{len(created)} of {series} copies planned: {response.text[:500]}"
            events = (await api.request("GET", "planning", "/admin/events", params={"limit": 10000})).json()
            series_events = [e for e in events if e["envelope"]["type"] == "ActionPlanned"
                             and len(e["envelope"]["payload"]["items"]) > 1]

            window = {"from": "2025-03-03", "to": "2025-04-02"}
            exports = {}
            for suffix in ("csv", "xlsx"):
                started = time.perf_counter()
                response = await api.request("GET", "planning", f"/planning-table/export.{suffix}", params=window)
                exports[suffix] = (time.perf_counter() - started, len(response.content), response.status_code)
                assert response.status_code == 200, response.text[:500]

        rows = [(str(uuid.uuid4()), a, s, st, en, "ACR2025", 1, "ACR2025-L12", 1) for a, s, st, en in planned]
        copy_seconds = await baseline_copy(rows, prefix + "baseline") if rows else float("nan")
        series_rows = [(str(uuid.uuid4()), "cdurand", "ARM", st, st + timedelta(hours=1), "ACR2025", 1, "ACR2025-L12", 1)
                       for st in starts[1:]]
        series_copy = await baseline_copy(series_rows, prefix + "series")
    finally:
        await drop_schemas(prefix)

    print(f"planning bench on PostgreSQL ({PG_URL.split('@')[-1]}), Python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs")
    if n:
        print(f"  {n} actions planned one by one (POST /planning/actions, every consumer done after each):")
        print(f"    {api_seconds:8.2f} s  {1000 * api_seconds / n:8.1f} ms per action  {n / api_seconds:8.0f} actions/s")
        print(f"    baseline COPY of the same rows: {copy_seconds:8.3f} s; ratio {api_seconds / copy_seconds:.0f} x")
    ratio = series_seconds / series_copy
    print(f"  a series of {series} slots in one duplication command, every consumer done:")
    print(f"    {series_seconds:8.2f} s  {series / series_seconds:8.0f} slots/s, "
          f"{len(series_events)} ActionPlanned event(s) for it")
    print(f"    baseline COPY of the same rows: {series_copy:8.3f} s; ratio {ratio:.0f} x; target within "
          f"{SERIES_TARGET}x: {'met' if ratio <= SERIES_TARGET else f'not met ({ratio / SERIES_TARGET:.1f}x over)'}")
    for suffix, (seconds, size, status) in exports.items():
        print(f"  export {suffix} of a 31-day window:          {seconds:8.3f} s  ({size} bytes, HTTP {status})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--actions", type=int, default=int(os.environ.get("BENCH_ACTIONS", 300)))
    parser.add_argument("--series", type=int, default=10_000)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.actions, arguments.series))
