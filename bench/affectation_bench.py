"""Affectation benchmark: the worklist with candidates (AFF-01/AFF-02, ``GET /affectation/appointments``)
for N imported appointments over 50 advisors and 10 sites, on PostgreSQL. Baseline in the same run: one
SQL query over affectation's own schema producing the same appointments x candidate advisors join.

    .venv/bin/python bench/affectation_bench.py [--appointments 2000] [--runs 5] [--late 200] [--profile] [--keep]

The data goes in through the APIs, as in production: a referential (10 sites of one antenne, each with
its France Travail address; ODS ACR2025 on all of them; ressource ACR2025-L12; 50 advisors working at 1-3
sites each), a few thousand planned diagnostic slots and one absence day per advisor (POST
/planning/actions), a generated J-10 "Liste des inscrits" of N rows whose times (hh:20, hh:40) never
meet a planned slot (hh:00), so importer/planning create N appointments to assign, then a few slots
planned afterwards at the exact time of some appointments (category 1).

Prints ms per worklist query (min / median of ``--runs``) for the API and for the SQL baseline, their
ratio, the appointments and candidate rows each returned (per category) and whether both give the same
candidates in the same order. ``--profile`` runs the API query once more under cProfile and prints the top
25 cumulative entries of the services' and servicekit's code, then the top 15 by internal time.
"""

import argparse
import asyncio
import cProfile
import os
import pstats
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import yaml

from prestaflow import referential
from prestaflow.client import Api
from servicekit.pytest_plugin import PG_URL, drop_schemas
from servicekit.settings import ServiceSettings

SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "prestappli" / "samples"
PARIS = ZoneInfo("Europe/Paris")
RESOURCE, ODS = "ACR2025-L12", "ACR2025"
FIRST_DAY = date(2025, 2, 3)  # a Monday
SITES = (  # code, name, France Travail address (as Prest@ppli writes it)
    ("ARM", "Armentières", "12 RUE DE LILLE 59280 ARMENTIERES"),
    ("LIL", "Lille Liberté", "45 BOULEVARD DE LA LIBERTE 59000 LILLE"),
    ("RBX", "Roubaix", "3 RUE DU CHEMIN DE FER 59100 ROUBAIX"),
    ("TCG", "Tourcoing", "27 RUE DE GAND 59200 TOURCOING"),
    ("VDA", "Villeneuve-d'Ascq", "8 AVENUE DU PONT DE BOIS 59650 VILLENEUVE D ASCQ"),
    ("LOM", "Lomme", "140 AVENUE DE DUNKERQUE 59160 LOMME"),
    ("HAL", "Halluin", "5 RUE DE LA LYS 59250 HALLUIN"),
    ("SEC", "Seclin", "22 RUE JEAN JAURES 59113 SECLIN"),
    ("WAT", "Wattrelos", "61 RUE CARNOT 59150 WATTRELOS"),
    ("CRX", "Croix", "10 PLACE DE LA REPUBLIQUE 59170 CROIX"),
)
ADVISORS = 50
SLOTS_PER_DAY = 3           # planned one-hour diagnostic slots per advisor and weekday, at hh:00
PER_SITE_AND_DAY = 10       # appointments per site and weekday in the generated list
TIMES = [(h, m) for h in range(9, 17) for m in (20, 40)]  # list times: never a planned slot's start
LAST_NAMES = ("MARTIN", "BERNARD", "DUBOIS", "THOMAS", "ROBERT", "RICHARD", "PETIT", "DURAND", "LEROY", "MOREAU",
              "SIMON", "LAURENT", "LEFEBVRE", "MICHEL", "GARCIA", "DAVID", "BERTRAND", "ROUX", "VINCENT", "FOURNIER",
              "MOREL", "GIRARD", "ANDRÉ", "MERCIER", "DUPONT", "LAMBERT", "BONNET", "FRANÇOIS", "N'DIAYE", "DEWAELE")
FIRST_NAMES = ("Léa", "Emma", "Chloé", "Inès", "Manon", "Camille", "Sarah", "Fatou", "Hélène", "Lucas", "Hugo",
               "Louis", "Nathan", "Moussa", "Karim", "François", "Jérôme", "Théo", "Yasmine", "Aïcha", "Benoît")


# --- the referential ---------------------------------------------------------------------------------------

def advisors(rng: random.Random) -> list[dict]:
    codes = [s[0] for s in SITES]
    return [{"code": f"adv{n:02d}", "name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)} {n:02d}",
             "email": f"adv{n:02d}@bge-hdf.example", "sites": rng.sample(codes, rng.randint(1, 3)),
             "remote": rng.random() < 0.3} for n in range(1, ADVISORS + 1)]


def write_referential(path: Path, staff: list[dict]) -> None:
    """The sample's structure, ODS steps, ressource, tariffs and templates; 10 sites, one antenne, 50 advisors."""
    data = yaml.safe_load((SAMPLES / "referentiel.yaml").read_text(encoding="utf-8"))
    data["antennes"] = [a for a in data["antennes"] if a["code"] == "LILLE"]
    data["sites"] = [{"code": code, "name": name, "antenne": "LILLE", "address": address.title(),
                      "france_travail_addresses": [address]} for code, name, address in SITES]
    data["advisors"] = staff
    (ods,) = [o for o in data["ods"] if o["code"] == ODS]
    data["ods"] = [ods | {"sites": [s[0] for s in SITES]}]
    data["resources"] = [r for r in data["resources"] if r["code"] == RESOURCE]
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


# --- agendas and the generated list ------------------------------------------------------------------------

def weekdays(n: int) -> list[date]:
    days, day = [], FIRST_DAY
    while len(days) < n:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)


def planned_slots(staff: list[dict], days: list[date], rng: random.Random):
    """One absence day per advisor, then SLOTS_PER_DAY slots at whole hours on the other days."""
    absences, slots = [], []
    for advisor in staff:
        off = rng.choice(days)
        absences.append((advisor["code"], at(off, 8), at(off, 18)))
        for day in days:
            if day != off:
                for hour in sorted(rng.sample(range(9, 17), SLOTS_PER_DAY)):
                    slots.append((advisor["code"], rng.choice(advisor["sites"]), at(day, hour), at(day, hour + 1)))
    return absences, slots


def appointments(n: int, days: list[date], rng: random.Random) -> list[tuple[str, datetime]]:
    """(site, start) of each row: PER_SITE_AND_DAY distinct times per site and weekday."""
    found = []
    for day in days:
        for code, _name, _address in SITES:
            found += [(code, at(day, h, m)) for h, m in sorted(rng.sample(TIMES, PER_SITE_AND_DAY))]
    return found[:n]


def generated_list(rows: list[tuple[str, datetime]], rng: random.Random) -> bytes:
    """A valid J-10 list (modelled on tests/support/lists.py): distinct invented people, list received 10 days
    before each appointment, structure and market of the sample referential."""
    header = (SAMPLES / "liste_inscrits_J-10.csv").read_bytes().decode("cp1252").splitlines()[0]
    address = {code: a for code, _name, a in SITES}
    lines = [header]
    for n, (site, start) in enumerate(rows):
        received = start.date() - timedelta(days=10)
        last, first = rng.choice(LAST_NAMES), rng.choice(FIRST_NAMES)
        lines.append(";".join((
            "2024-FT-ACR-0042", "12", "ACTIV'CREA", "BGE HAUTS-DE-FRANCE", "41234567800019", "Présentiel",
            f"{start:%d/%m/%Y %H:%M}", address[site], f"{received:%d/%m/%Y}", "Inscrit", "Mme" if n % 2 else "M.",
            f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(1960, 2003)}", "59000", last, first,
            f"{9000000 + n:07d}X", "", f"personne{n}@example.org", f"06{n:08d}", f"{received:%d/%m/%Y}",
            "59123 - MARTIN Paul", "")))
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


async def post_action(api: Api, body: dict) -> dict | None:
    response = await api.request("POST", "planning", "/actions", json=body)
    if response.status_code != 201:
        return None
    return response.json()


# --- the baseline: the same join as one SQL query -----------------------------------------------------------

BASELINE = """
WITH appt AS (            -- open worklist entries and their actions
    SELECT a.id, a.ods_code, a.site_code, a.mode, a.starts_at, a.ends_at, a.resource_code, w.status, w.refusal,
           (a.starts_at AT TIME ZONE 'Europe/Paris')::date AS day,
           (a.ends_at AT TIME ZONE 'Europe/Paris')::date AS last_day,
           date_trunc('week', a.starts_at AT TIME ZONE 'Europe/Paris') AS week
    FROM worklist w JOIN actions a ON a.id = w.action_id
    WHERE w.status IN ('open', 'pending')
), agenda AS (            -- advisors' planned actions, with their free places
    SELECT o.id, o.advisor_code, o.action_type, o.ods_code, o.step_order, o.site_code, o.mode, o.starts_at,
           o.ends_at, (o.starts_at AT TIME ZONE 'Europe/Paris')::date AS day,
           (o.ends_at AT TIME ZONE 'Europe/Paris')::date AS last_day,
           o.max_participants - (SELECT count(*) FROM participants p WHERE p.action_id = o.id) AS free_places
    FROM actions o WHERE o.advisor_code IS NOT NULL AND o.status = 'planned'
), loads AS (             -- actions per advisor and ISO week
    SELECT advisor_code, date_trunc('week', starts_at AT TIME ZONE 'Europe/Paris') AS week, count(*) AS n
    FROM agenda GROUP BY 1, 2
), allowed AS MATERIALIZED (  -- each advisor's sites of an ODS within a ressource's antenne (category 4)
    SELECT rs.advisor_code, r.code AS resource_code, os.ods_code, os.site_code
    FROM ref_resources r JOIN ref_sites st ON st.antenne_code = r.antenne_code AND st.active AND NOT st.remote
    JOIN ref_ods_sites os ON os.site_code = st.code
    JOIN ref_advisor_sites rs ON rs.site_code = st.code
), busy AS (             -- advisor with a planned action overlapping the appointment: a hash join on the
    SELECT appt.id AS action_id, o.advisor_code      -- day, then the (rare) actions spanning midnight
    FROM appt JOIN agenda o ON o.day = appt.day AND o.id <> appt.id
         AND o.starts_at < appt.ends_at AND appt.starts_at < o.ends_at
    UNION
    SELECT appt.id, o.advisor_code
    FROM agenda o JOIN appt ON o.id <> appt.id AND o.starts_at < appt.ends_at AND appt.starts_at < o.ends_at
    WHERE o.last_day > o.day
    UNION
    SELECT appt.id, o.advisor_code
    FROM appt JOIN agenda o ON o.id <> appt.id AND o.starts_at < appt.ends_at AND appt.starts_at < o.ends_at
    WHERE appt.last_day > appt.day
), off AS (               -- an absence that day
    SELECT DISTINCT appt.id AS action_id, o.advisor_code
    FROM appt JOIN agenda o ON o.day = appt.day AND o.action_type = 'absence' AND o.id <> appt.id
), pairs AS (             -- active advisors who may take the appointment (remote: those who take remote ones)
    SELECT appt.id AS action_id, adv.code, adv.name, b.action_id IS NOT NULL AS busy,
           f.action_id IS NOT NULL AS off, s.site_code IS NOT NULL AS works_there
    FROM appt JOIN ref_advisors adv ON adv.active AND (appt.mode <> 'remote' OR adv.remote)
    LEFT JOIN busy b ON b.action_id = appt.id AND b.advisor_code = adv.code
    LEFT JOIN off f ON f.action_id = appt.id AND f.advisor_code = adv.code
    LEFT JOIN ref_advisor_sites s ON s.advisor_code = adv.code AND s.site_code = appt.site_code
), joins AS (             -- categories 1 and 2: the advisor's free diagnostic slot there, that day
    SELECT appt.id AS action_id, adv.code, CASE WHEN o.starts_at = appt.starts_at THEN 1 ELSE 2 END AS category,
           'join' AS effect, o.id AS target_action_id, o.site_code AS site, o.starts_at
    FROM appt JOIN agenda o ON o.day = appt.day AND o.ods_code = appt.ods_code AND o.mode = appt.mode
         AND (appt.mode = 'remote' OR o.site_code = appt.site_code) AND o.id <> appt.id AND o.step_order = 1
         AND o.free_places > 0
    JOIN ref_advisors adv ON adv.code = o.advisor_code AND adv.active AND (appt.mode <> 'remote' OR adv.remote)
), candidate AS (
    SELECT * FROM joins
    UNION ALL             -- category 3: works there and free (remote: no slot at that very time)
    SELECT p.action_id, p.code, 3, 'move', NULL, appt.site_code, appt.starts_at
    FROM pairs p JOIN appt ON appt.id = p.action_id
    WHERE (appt.mode = 'remote' AND NOT EXISTS (SELECT 1 FROM joins j WHERE j.action_id = p.action_id
                                                AND j.code = p.code AND j.category = 1))
       OR (appt.mode <> 'remote' AND p.works_there AND NOT p.busy AND NOT p.off)
    UNION ALL             -- category 4: free, works on another site of the ODS in the ressource's antenne
    SELECT p.action_id, p.code, 4, 'create', NULL, al.site_code, appt.starts_at
    FROM pairs p JOIN appt ON appt.id = p.action_id
    JOIN allowed al ON al.advisor_code = p.code AND al.resource_code = appt.resource_code
                   AND al.ods_code = appt.ods_code
    WHERE appt.mode <> 'remote' AND NOT p.works_there AND NOT p.busy AND NOT p.off
)
SELECT appt.id, appt.status, appt.refusal, appt.resource_code, res.name AS resource_name, appt.ods_code,
       appt.site_code, site.name AS site_name, appt.mode, appt.starts_at, people.ids, people.sealed,
       c.category, c.code AS advisor, p.name AS advisor_name, c.effect, c.target_action_id, c.site,
       c.starts_at AS candidate_starts_at, coalesce(l.n, 0) AS week_load,
       CASE WHEN appt.mode = 'remote' THEN CASE WHEN p.off THEN 'ne travaille pas ce jour-là'
                                                WHEN p.busy THEN 'occupé' ELSE 'libre' END END AS status_text
FROM appt
LEFT JOIN ref_resources res ON res.code = appt.resource_code
LEFT JOIN ref_sites site ON site.code = appt.site_code
LEFT JOIN LATERAL (SELECT array_agg(pa.beneficiary_id ORDER BY pa.beneficiary_id) AS ids,
                          array_agg(b.sealed ORDER BY pa.beneficiary_id) AS sealed
                   FROM participants pa LEFT JOIN beneficiaries b ON b.id = pa.beneficiary_id
                   WHERE pa.action_id = appt.id) people ON true
LEFT JOIN candidate c ON c.action_id = appt.id
LEFT JOIN pairs p ON p.action_id = c.action_id AND p.code = c.code
LEFT JOIN loads l ON l.advisor_code = c.code AND l.week = appt.week
ORDER BY appt.starts_at, appt.id, c.category, week_load, p.name, c.starts_at, c.site
"""


async def timed(runs: int, query) -> tuple[list[float], object]:
    seconds, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = await query()
        seconds.append(time.perf_counter() - started)
    return seconds, result


def ms(seconds: list[float]) -> str:
    return f"min {min(seconds) * 1000:9.1f} ms   median {statistics.median(seconds) * 1000:9.1f} ms"


async def main(n: int, runs: int, late: int, profile: bool, seed: int, keep: bool = False) -> None:
    rng = random.Random(seed)
    prefix = f"affbench{uuid.uuid4().hex[:6]}_"
    home = Path(tempfile.mkdtemp(prefix=prefix))
    settings = ServiceSettings(database_url=PG_URL, db_schema_prefix=prefix, bus="memory://", home=home)
    staff = advisors(rng)
    days = weekdays(-(-n // (len(SITES) * PER_SITE_AND_DAY)))
    setup = {}
    try:
        async with Api(settings) as api:
            started = time.perf_counter()
            write_referential(home / "referentiel.yaml", staff)
            await referential.load(api, home / "referentiel.yaml")
            absences, slots = planned_slots(staff, days, rng)
            busy: dict[str, list[tuple[datetime, datetime]]] = {}
            for advisor, start, end in absences:
                assert await post_action(api, {"advisor": advisor, "absence": True, "starts_at": start.isoformat(),
                                               "ends_at": end.isoformat()})
                busy.setdefault(advisor, []).append((start, end))
            for advisor, site, start, end in slots:
                assert await post_action(api, {"advisor": advisor, "site": site, "starts_at": start.isoformat(),
                                               "ends_at": end.isoformat(), "ods": ODS, "step": 1,
                                               "resource": RESOURCE}), (advisor, site, start)
                busy.setdefault(advisor, []).append((start, end))
            setup["planned"] = (len(absences), len(slots), time.perf_counter() - started)

            rows = appointments(n, days, rng)
            started = time.perf_counter()
            response = await api.request("POST", "importer", "/imports", data={"resource": RESOURCE}, files={
                "file": ("liste_inscrits_bench.csv", generated_list(rows, rng))})
            report = response.json()
            assert report["status"] == "imported", report
            setup["import"] = (report["counts"], time.perf_counter() - started)

            # Slots planned after the import at an appointment's very time: category 1 for those advisors.
            started, planned_late = time.perf_counter(), 0
            for site, start in rng.sample(rows, min(late, len(rows))):
                end = start + timedelta(hours=1)
                free = [a for a in staff if site in a["sites"]  # absences (08:00-18:00) overlap too
                        and not any(s < end and start < e for s, e in busy.get(a["code"], []))]
                if free:
                    advisor = rng.choice(free)["code"]
                    if await post_action(api, {"advisor": advisor, "site": site, "starts_at": start.isoformat(),
                                               "ends_at": end.isoformat(), "ods": ODS, "step": 1,
                                               "resource": RESOURCE}):
                        busy[advisor].append((start, end))
                        planned_late += 1
            setup["late"] = (planned_late, time.perf_counter() - started)

            async def api_worklist():  # the HTTP answer, decoded after the clock stops
                response = await api.request("GET", "affectation", "/appointments")
                assert response.status_code == 200, response.text[:500]
                return response

            schema = prefix + "affectation"
            conn = await asyncpg.connect(PG_URL.replace("postgresql+asyncpg", "postgresql"),
                                         server_settings={"search_path": schema})
            try:
                await conn.execute("ANALYZE")  # fresh tables: what autovacuum would have done by now
                api_seconds, response = await timed(runs, api_worklist)
                worklist, api_bytes = response.json(), len(response.content)
                # The baseline's cost estimate is above jit_above_cost: PostgreSQL would spend longer compiling
                # the query (LLVM) than running it. Timed without JIT, then once more with the server's default.
                await conn.execute("SET jit = off")
                sql_seconds, records = await timed(runs, lambda: conn.fetch(BASELINE))
                await conn.execute("RESET jit")
                jit_seconds, _ = await timed(runs, lambda: conn.fetch(BASELINE))
            finally:
                await conn.close()

            profiled = None
            if profile:
                profiler = cProfile.Profile()
                profiler.enable()
                await api_worklist()
                profiler.disable()
                profiled = pstats.Stats(profiler)
    finally:
        if keep:
            print(f"schemas kept: {prefix}*")
        else:
            await drop_schemas(prefix)
        shutil.rmtree(home, ignore_errors=True)

    api_candidates = Counter(c["category"] for r in worklist for c in r["candidates"])
    sql_appointments = len({r["id"] for r in records})
    sql_candidates = Counter(r["category"] for r in records if r["advisor"] is not None)
    names = sum(1 for r in worklist for b in r["beneficiaries"] if b["last_name"])
    absences, slots, plan_s = setup["planned"]
    counts, import_s = setup["import"]
    planned_late, late_s = setup["late"]
    per_cat = lambda c: " ".join(f"{k}:{c[k]}" for k in sorted(c))  # noqa: E731

    print(f"affectation bench on PostgreSQL ({PG_URL.split('@')[-1]}), Python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs")
    print(f"  set-up: {len(SITES)} sites, {len(staff)} advisors, {slots} slots + {absences} absences planned "
          f"({plan_s:.1f} s), list of {len(rows)} rows imported ({import_s:.1f} s, counts {counts}), "
          f"{planned_late} slots planned after it ({late_s:.1f} s), {len(days)} weekdays")
    print(f"  API GET /affectation/appointments, {runs} runs:  {ms(api_seconds)}")
    print(f"      {len(worklist)} appointments, {sum(api_candidates.values())} candidate rows "
          f"(per category {per_cat(api_candidates)}), {names} names unsealed, {api_bytes / 1e6:.1f} MB of JSON")
    print(f"  baseline: one SQL query (asyncpg, jit off), {runs} runs: {ms(sql_seconds)}")
    print(f"      {sql_appointments} appointments, {sum(sql_candidates.values())} candidate rows "
          f"(per category {per_cat(sql_candidates)}), {len(records)} rows; names left sealed")
    print(f"      same query with the server's default JIT:      {ms(jit_seconds)}")
    print(f"  ratio API / SQL:  min {min(api_seconds) / min(sql_seconds):6.1f} x   "
          f"median {statistics.median(api_seconds) / statistics.median(sql_seconds):6.1f} x")
    api_rows = [(r["action_id"], c["category"], c["advisor"], c["target_action_id"], c["site"], c["week_load"])
                for r in worklist for c in r["candidates"]]
    sql_rows = [(r["id"], r["category"], r["advisor"], r["target_action_id"], r["site"], r["week_load"])
                for r in records if r["advisor"] is not None]
    same = [r["action_id"] for r in worklist] == list(dict.fromkeys(r["id"] for r in records)) and api_rows == sql_rows
    print(f"  same appointments and candidates, in the same order: {'yes' if same else 'NO'}")
    if not same:
        first = next((i for i, (a, b) in enumerate(zip(api_rows, sql_rows)) if a != b), min(len(api_rows), len(sql_rows)))
        print(f"      first difference at candidate row {first}: API {api_rows[first:first + 1]} SQL {sql_rows[first:first + 1]}")
    if profiled is not None:
        # Framework frames (httpx, Starlette, FastAPI) wrap everything: the cumulative list is restricted to
        # the services' and servicekit's code, then the top of the internal-time list shows the primitives.
        print("\n  cProfile of one GET /affectation/appointments, top 25 cumulative (services and libs):")
        profiled.sort_stats("cumulative").print_stats(r"/(services|libs)/", 25)
        print("  top 15 by internal time:")
        profiled.sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--appointments", type=int, default=int(os.environ.get("BENCH_APPOINTMENTS", 2_000)))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--late", type=int, default=200, help="slots planned after the import (category 1)")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL schemas (prefix printed)")
    args = parser.parse_args()
    asyncio.run(main(args.appointments, args.runs, args.late, args.profile, args.seed, args.keep))
