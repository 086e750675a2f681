"""Planning benchmark: plan N actions through planning's HTTP API, then export a 31-day window
(both PLN-07 files), on PostgreSQL. Baseline in the same run: one PostgreSQL COPY of the same rows.

    .venv/bin/python bench/planning_bench.py [--actions 10000]

Prints actions/s for the API, seconds per export, and the COPY baseline with the ratio.
"""

import argparse
import asyncio
import os
import sys
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


async def main(n: int) -> None:
    prefix = f"bench{uuid.uuid4().hex[:6]}_"
    settings = ServiceSettings(database_url=PG_URL, db_schema_prefix=prefix, bus="memory://",
                               home=Path("/tmp") / prefix)
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

            window = {"from": "2025-03-03", "to": "2025-04-02"}
            exports = {}
            for suffix in ("csv", "xlsx"):
                started = time.perf_counter()
                response = await api.request("GET", "planning", f"/planning-table/export.{suffix}", params=window)
                exports[suffix] = (time.perf_counter() - started, len(response.content), response.status_code)
                assert response.status_code == 200, response.text[:500]

        rows = [(str(uuid.uuid4()), a, s, st, en, "ACR2025", 1, "ACR2025-L12", 1) for a, s, st, en in planned]
        copy_seconds = await baseline_copy(rows, prefix + "baseline")
    finally:
        await drop_schemas(prefix)

    print(f"planning bench on PostgreSQL ({PG_URL.split('@')[-1]}), {n} actions, Python {sys.version.split()[0]}")
    print(f"  API (POST /planning/actions, one by one): {api_seconds:8.2f} s  {n / api_seconds:10.0f} actions/s")
    print(f"  baseline COPY of the same rows:           {copy_seconds:8.3f} s  {n / copy_seconds:10.0f} rows/s")
    print(f"  ratio API / COPY:                         {api_seconds / copy_seconds:8.0f} x")
    for suffix, (seconds, size, status) in exports.items():
        print(f"  export {suffix} of a 31-day window:          {seconds:8.3f} s  ({size} bytes, HTTP {status})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--actions", type=int, default=int(os.environ.get("BENCH_ACTIONS", 10_000)))
    asyncio.run(main(parser.parse_args().actions))
