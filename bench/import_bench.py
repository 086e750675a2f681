"""Import benchmark: one generated J-10 "Liste des inscrits" of N rows imported end to end through
importer's HTTP API on PostgreSQL (parse, checks, beneficiaries, enrolments and registrations,
then every event through every consumer: planning attaches each registration to a diagnostic
slot, affectation and notify read importer's and planning's events). Baseline in the same run: a
PostgreSQL COPY of the same rows (22 text columns) into one table.

    .venv/bin/python bench/import_bench.py [--rows 10000] [--runs 3] [--profile]

Imports the list ``--runs`` times, each in fresh schemas, with five baseline COPYs (each into a
fresh table) after each import; prints each run, then the medians: rows/s for the import and for the COPY,
their ratio and whether the target (the whole import, every consumer done, within 80x the COPY)
is met, and this process's peak memory. Single runs on a small machine vary by 10-20%: the median of
three is the figure to quote.
``--profile`` imports the same list once more, in fresh schemas, under cProfile and prints the top
25 cumulative entries.
"""

import argparse
import asyncio
import cProfile
import csv
import io
import os
import pstats
import random
import re
import resource
import statistics
import sys
import time
import unicodedata
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import Engine

from importer.domain.registration_list import EXPECTED_HEADER, parse_registration_list
from prestaflow import referential
from prestaflow.client import Api
from servicekit.pytest_plugin import PG_URL, drop_schemas
from servicekit.settings import ServiceSettings

SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "prestappli" / "samples"
RESOURCE = "ACR2025-L12"
TARGET = 80  # issue #15: the whole import, every consumer done, within 80x the COPY
PEAK_TARGET_MB = 600
SERVICES = ("planning", "importer", "affectation", "billing", "notify")
MARKET, LOT, PRESTATION, PROVIDER, SIRET = ("2024-FT-ACR-0042", "12", "ACTIV'CREA", "BGE HAUTS-DE-FRANCE",
                                            "41234567800019")
PLACES = (("Présentiel", "12 RUE DE LILLE 59280 ARMENTIERES"),
          ("Présentiel", "45 BOULEVARD DE LA LIBERTE 59000 LILLE"),
          ("100% à distance", "A DISTANCE"))
TIMES = [(h, m) for h in range(9, 17) for m in (0, 30)] + [(17, 0)]  # 09:00 .. 17:00, every half hour
LAST_NAMES = ("MARTIN", "BERNARD", "DUBOIS", "THOMAS", "ROBERT", "RICHARD", "PETIT", "DURAND", "LEROY", "MOREAU",
              "SIMON", "LAURENT", "LEFEBVRE", "MICHEL", "GARCIA", "DAVID", "BERTRAND", "ROUX", "VINCENT", "FOURNIER",
              "MOREL", "GIRARD", "ANDRÉ", "LEFÈVRE", "MERCIER", "DUPONT", "LAMBERT", "BONNET", "FRANÇOIS", "MARTINEZ",
              "N'DIAYE", "BENAMAR", "LEGRAND", "GAUTHIER", "PERRIN", "CHEVALIER", "DEWAELE", "VANDAMME", "DELATTRE")
FIRST_NAMES = ("Léa", "Emma", "Chloé", "Inès", "Manon", "Camille", "Sarah", "Anne-Sophie", "Fatou", "Hélène",
               "Lucas", "Hugo", "Louis", "Nathan", "Mathis", "Moussa", "Karim", "François", "Jérôme", "Théo",
               "Yasmine", "Aïcha", "Benoît", "Cédric", "Gaëlle", "Noémie", "Rémi", "Sébastien", "Zoé", "Éric")
POSTCODES = ("59000", "59100", "59130", "59150", "59200", "59280", "59370", "59800", "62300", "59500")
PRESCRIBERS = ("59123 - MARTIN Paul", "59124 - LEROY Sophie", "59125 - DUBOIS Karim", "59126 - PETIT Nadia")


def _ascii(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if c.isalnum() and c.isascii()).lower()


def slots_2025() -> list[tuple[str, str, datetime]]:
    """Every (modality, address, start) of 2025's weekdays, 09:00 to 17:00, at the three places."""
    slots, day = [], date(2025, 1, 1)
    while day.year == 2025:
        if day.weekday() < 5:
            for hour, minute in TIMES:
                for modality, place in PLACES:
                    slots.append((modality, place, datetime(day.year, day.month, day.day, hour, minute)))
        day += timedelta(days=1)
    return slots


def generate_rows(n: int, seed: int = 2025) -> list[tuple[str, ...]]:
    """N rows of a valid J-10 list: distinct invented people, appointments spread evenly over
    2025 (a slot of its own for each row up to 13,311 rows), list received 10 days before."""
    rng = random.Random(seed)
    slots = slots_2025()
    ids = rng.sample(range(10_000_000), n)  # 7 digits, unique
    rows = []
    for i in range(n):
        modality, place, start = slots[i * len(slots) // n if n <= len(slots) else i % len(slots)]
        received = start.date() - timedelta(days=10)
        last, first = rng.choice(LAST_NAMES), rng.choice(FIRST_NAMES)
        born = date(1960, 1, 1) + timedelta(days=rng.randrange(43 * 365))
        ft_id = f"{ids[i]:07d}{chr(ord('A') + i % 26)}"
        rows.append((
            MARKET, LOT, PRESTATION, PROVIDER, SIRET, modality, f"{start:%d/%m/%Y %H:%M}", place,
            f"{received:%d/%m/%Y}", "Inscrit", rng.choice(("M.", "Mme", "")), f"{born:%d/%m/%Y}",
            rng.choice(POSTCODES), last, first, ft_id, "",
            f"{_ascii(first)}.{_ascii(last)}.{i}@example.org",
            f"0{rng.choice('67')} {rng.randrange(100):02d} {rng.randrange(100):02d} {rng.randrange(100):02d} "
            f"{rng.randrange(100):02d}",
            f"{received - timedelta(days=rng.randrange(1, 15)):%d/%m/%Y}", rng.choice(PRESCRIBERS),
            "Souhaite un RDV le matin; merci" if i % 50 == 0 else ""))
    return rows


def to_csv(rows: list[tuple[str, ...]]) -> bytes:
    """The list as Prest@ppli exports it: Windows-1252, ';', CRLF, the exact header."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=";", quotechar='"', lineterminator="\r\n")
    writer.writerow(EXPECTED_HEADER)
    writer.writerows(rows)
    return out.getvalue().encode("cp1252")


@dataclass
class ImportRun:
    seconds: float  # the one request, every consumer done
    request_seconds: float  # the HTTP request alone: parse, checks, importer's transaction
    settle_seconds: float  # publishing the outboxes and running the consumers until nothing is left
    events: int  # events published while settling
    report: dict
    peak_mb: float = 0.0  # this process's peak resident memory during the import (since a reset when possible)
    cpu_seconds: float = 0.0  # this process's CPU time during the import (the rest: waiting for PostgreSQL)
    settle_cpu_seconds: float = 0.0  # the same, while the consumers ran
    postgres_cpu_seconds: float | None = None  # PostgreSQL's processes' CPU time during the import, when local


def reset_peak_memory() -> bool:
    """Start this process's peak resident memory (VmHWM) again from what it holds now, so that the
    peak read after the import is the import's, not the generation of the list or an earlier run's;
    False where Linux's /proc does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


def peak_memory_mb() -> float:
    """This process's peak resident memory since the last ``reset_peak_memory`` (VmHWM), in MB;
    getrusage's lifetime peak where /proc cannot be read."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def postgres_cpu_seconds() -> float | None:
    """CPU time used so far by this machine's PostgreSQL processes, counting backends that have exited
    (their time is added to the postmaster's reaped children's); None where none can be read, or where
    the benchmark's database is not on this machine."""
    if not re.search(r"@(127\.0\.0\.1|localhost)[:/]", PG_URL):
        return None
    ticks, found = 0, False
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as stat_file:
                stat = stat_file.read()
        except OSError:
            continue
        name_ends = stat.rindex(")")
        if stat[stat.index("(") + 1:name_ends] == "postgres":
            fields = stat[name_ends + 2:].split()  # from field 3 (state): utime, stime, cutime, cstime are 14-17
            ticks += sum(int(field) for field in fields[11:15])
            found = True
    return ticks / os.sysconf("SC_CLK_TCK") if found else None


async def import_once(data: bytes, n: int, profiler: cProfile.Profile | None = None,
                      sql: Counter | None = None) -> ImportRun:
    """Fresh schemas, the referential, one timed import, checks that every consumer is done.
    With ``profiler`` and ``sql``, the import alone is profiled and its statements and commits counted."""
    prefix = f"bench{uuid.uuid4().hex[:6]}_"
    settings = ServiceSettings(database_url=PG_URL, db_schema_prefix=prefix, bus="memory://",
                               home=Path("/tmp") / prefix)
    try:
        async with Api(settings) as api:
            await referential.load(api, SAMPLES / "referentiel.yaml")
            settle, spent = api.embedded.settle, {"settle": 0.0, "settle_cpu": 0.0, "events": 0}

            async def timed_settle(*args, **kwargs):  # to split the time between request and consumers
                started, cpu_started = time.perf_counter(), time.process_time()
                published = await settle(*args, **kwargs)
                spent["settle"] += time.perf_counter() - started
                spent["settle_cpu"] += time.process_time() - cpu_started
                spent["events"] += published
                return published

            def count_statement(*args) -> None:
                sql["statements"] += 1

            def count_commit(*args) -> None:
                sql["commits"] += 1

            api.embedded.settle = timed_settle
            if sql is not None:
                event.listen(Engine, "before_cursor_execute", count_statement)
                event.listen(Engine, "commit", count_commit)
            if profiler:
                profiler.enable()
            reset_peak_memory()
            try:
                started, cpu_started, pg_started = time.perf_counter(), time.process_time(), postgres_cpu_seconds()
                response = await api.request("POST", "importer", "/imports",
                                             files={"file": ("liste_bench.csv", data)},
                                             data={"resource": RESOURCE, "user": "bench"})
                seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
                pg_ended = postgres_cpu_seconds()
                peak_mb = peak_memory_mb()
            finally:
                if profiler:
                    profiler.disable()
                if sql is not None:
                    event.remove(Engine, "before_cursor_execute", count_statement)
                    event.remove(Engine, "commit", count_commit)
                api.embedded.settle = settle
            report = response.json()
            assert response.status_code == 200 and report["status"] == "imported", (response.status_code,
                                                                                     str(report)[:2000])
            assert report["counts"]["created"] == n, report["counts"]

            actions = (await api.request("GET", "planning", "/actions")).json()
            attached = sum(a["participants"] for a in actions)
            assert attached == n, f"planning: {attached} participants attached in {len(actions)} actions, {n} expected"
            people = (await api.request("GET", "importer", "/beneficiaries")).json()
            assert len(people) == n, f"importer: {len(people)} beneficiaries, {n} expected"
            registered = sum(1 for p in people for e in p["enrolments"] if e["registration"])
            assert registered == n, f"importer: {registered} registrations, {n} expected"
            for service in SERVICES:  # every consumer succeeded: nothing parked
                parked = (await api.request("GET", service, "/admin/dead-letters")).json()
                assert parked == [], f"{service}: {len(parked)} dead letter(s): {str(parked)[:2000]}"
        return ImportRun(seconds, seconds - spent["settle"], spent["settle"], spent["events"], report, peak_mb,
                         cpu_seconds,
                         spent["settle_cpu"], None if pg_started is None or pg_ended is None else pg_ended - pg_started)
    finally:
        await drop_schemas(prefix)


async def baseline_copy(rows: list[tuple[str, ...]], schema: str, times: int = 5) -> list[float]:
    """``times`` COPYs of the same rows, every column as text, each into a fresh table of a scratch
    schema; the seconds of each (one COPY varies by up to 2x from one run to the next)."""
    conn = await asyncpg.connect(PG_URL.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        columns = [f"c{i:02d}" for i in range(len(EXPECTED_HEADER))]
        spent = []
        for number in range(times):
            table = f"inscrits_copy_{number}"
            await conn.execute(f'CREATE TABLE "{schema}".{table} ({", ".join(c + " text" for c in columns)})')
            started = time.perf_counter()
            await conn.copy_records_to_table(table, records=rows, columns=columns, schema_name=schema)
            spent.append(time.perf_counter() - started)
            copied = await conn.fetchval(f'SELECT count(*) FROM "{schema}".{table}')
            assert copied == len(rows), copied
        return spent
    finally:
        await conn.close()


async def baseline_copies(rows: list[tuple[str, ...]]) -> list[float]:
    """``baseline_copy`` in a scratch schema of its own, dropped afterwards."""
    prefix = f"bench{uuid.uuid4().hex[:6]}_"
    try:
        return await baseline_copy(rows, prefix + "baseline")
    finally:
        await drop_schemas(prefix)


async def main(n: int, runs: int, profile: bool) -> None:
    load_before = os.getloadavg()[0]
    # Only the file is held during the imports, as by whoever uploads it: the rows are made again for
    # each baseline COPY (the same seed, the same rows), so that the peak memory is the import's.
    data = to_csv(generate_rows(n))

    started = time.perf_counter()
    parsed = parse_registration_list(data)
    parse_seconds = time.perf_counter() - started
    assert not parsed.errors and len(parsed.registrations) == n, parsed.errors[:5]
    del parsed  # not the import's: its memory is measured without it

    print(f"import bench on PostgreSQL ({PG_URL.split('@')[-1]}), {n} rows ({len(data)} bytes), "
          f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load_before:.1f} before; "
          f"parsing the list alone, in process: {parse_seconds:.2f} s")
    imports, copies = [], []
    for number in range(1, runs + 1):
        run = await import_once(data, n)
        copied = await baseline_copies(generate_rows(n))
        imports.append(run)
        copies += copied
        copy_seconds = statistics.median(copied)
        print(f"  run {number}: import {run.seconds:6.2f} s (request {run.request_seconds:.2f} s, consumers "
              f"{run.settle_seconds:.2f} s, {run.events} events; this process's CPU {run.cpu_seconds:.2f} s, "
              f"{run.cpu_seconds - run.settle_cpu_seconds:.2f} + {run.settle_cpu_seconds:.2f}"
              f"{'' if run.postgres_cpu_seconds is None else f'; PostgreSQL {run.postgres_cpu_seconds:.2f} s'}), "
              f"COPY {copy_seconds:.3f} s (median of {len(copied)}), ratio {run.seconds / copy_seconds:.0f}x, "
              f"peak memory {run.peak_mb:.0f} MB")

    seconds = statistics.median(r.seconds for r in imports)
    request = statistics.median(r.request_seconds for r in imports)
    consumers = statistics.median(r.settle_seconds for r in imports)
    cpu = statistics.median(r.cpu_seconds for r in imports)
    copy_seconds = statistics.median(copies)
    ratio = seconds / copy_seconds
    print(f"median of {runs} run(s), load average {os.getloadavg()[0]:.1f} after:")
    print(f"  import, every consumer done (1 request): {seconds:9.2f} s  {n / seconds:10.0f} rows/s")
    print(f"    of which the request (importer's transaction): {request:8.2f} s  ({100 * request / seconds:.0f}%)")
    print(f"    of which the consumers ({imports[0].events} events):       {consumers:8.2f} s"
          f"  ({100 * consumers / seconds:.0f}%)")
    print(f"    this process's CPU time during the import:     {cpu:8.2f} s  ({100 * cpu / seconds:.0f}%; the rest "
          f"is waiting for PostgreSQL)")
    if all(r.postgres_cpu_seconds is not None for r in imports):
        pg_cpu = statistics.median(r.postgres_cpu_seconds for r in imports)
        print(f"    PostgreSQL's CPU time during the import:       {pg_cpu:8.2f} s  (both: {cpu + pg_cpu:.2f} s on "
              f"{os.cpu_count()} CPUs)")
    print(f"  baseline COPY of the same rows:          {copy_seconds:9.3f} s  {n / copy_seconds:10.0f} rows/s"
          f"  (median of {len(copies)}, {min(copies):.3f}-{max(copies):.3f} s)")
    print(f"  ratio import / COPY:                     {ratio:9.0f} x")
    print(f"  ratio of this process's CPU alone / COPY:{cpu / copy_seconds:9.0f} x  (the import, one event loop, "
          f"cannot end before its own CPU time)")
    print(f"  target: within {TARGET}x of COPY: "
          f"{'met' if ratio <= TARGET else f'not met ({ratio / TARGET:.1f}x over)'}")
    peak = max(r.peak_mb for r in imports)
    verdict = (f"{'met' if peak < PEAK_TARGET_MB else 'not met'}" if n >= 100_000
               else "judged only with --rows 100000")
    since = "" if reset_peak_memory() else ", and of everything before: /proc could not reset it"
    print(f"  peak memory of this process during an import (every service, the list and its parsing; the "
          f"highest of the runs{since}): {peak:.0f} MB "
          f"(target for a 100,000-row list: under {PEAK_TARGET_MB} MB: {verdict})")

    if profile:
        profiler, sql = cProfile.Profile(), Counter()
        profiled = await import_once(data, n, profiler, sql)
        print(f"\nprofile: the same list imported again in fresh schemas, under cProfile ({profiled.seconds:.2f} s)")
        print(f"  SQL during the import and its consumers: {sql['statements']} statements "
              f"({sql['statements'] / n:.1f} per row), {sql['commits']} transactions committed")
        stats = pstats.Stats(profiler, stream=sys.stdout)
        print_own_time(stats)
        print("\ntop 25 by cumulative time (coroutines: each resumption counts as a call, and awaiting callers "
              "add up their callees' time more than once; the own-time table above is the one that adds up):")
        stats.sort_stats("cumulative").print_stats(25)


def _bucket(path: str, name: str) -> str:
    if path == "~":
        if "epoll" in name or "_socket" in name:
            return "sockets: waiting for and talking to PostgreSQL (epoll, send, recv)"
        if "greenlet" in name:
            return "sqlalchemy (its greenlet bridge to asyncio)"
        if "pydantic" in name:
            return "pydantic"
        return "other builtins"
    if found := re.search(r"site-packages/([^/]+)", path):
        package = found.group(1).removesuffix(".py")
        return package.removesuffix("_core")
    if found := re.search(r"/(services/[^/]+|libs/[^/]+|prestaflow|contracts|bench)/", path):
        return "project: " + found.group(1)
    if found := re.search(r"python3\.\d+/(asyncio|[^/]+)", path):
        return "stdlib " + found.group(1).removesuffix(".py")
    return path


def print_own_time(stats: pstats.Stats) -> None:
    """Own time (cProfile's tottime) summed by package: the table that adds up to the total."""
    spent: Counter = Counter()
    for (path, _line, name), (_cc, _nc, own, _cum, _callers) in stats.stats.items():
        spent[_bucket(path, name)] += own
    total = sum(spent.values())
    print(f"  own time by package ({total:.2f} s profiled):")
    for bucket, seconds in spent.most_common(14):
        print(f"    {seconds:8.2f} s {100 * seconds / total:5.1f}%  {bucket}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=int(os.environ.get("BENCH_ROWS", 10_000)))
    parser.add_argument("--runs", type=int, default=3, help="imports (each with its baseline COPY); medians printed")
    parser.add_argument("--profile", action="store_true", help="also import under cProfile, print the top 25")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.rows, max(1, arguments.runs), arguments.profile))
