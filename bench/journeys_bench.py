"""Journeys benchmark on PostgreSQL, through planning's HTTP API (planning alone, in this process):

1. the follow-up dashboard (PRC-04) of ``--enrolments N`` journeys with their actions, as JSON
   (``GET /planning/dashboard``) and as a workbook (``GET /planning/dashboard.xlsx``); baseline: an
   openpyxl write-only dump of the same rows (17 values each) to a workbook in memory;
2. ``--documents N`` deliverables (PRC-06: N/2 journeys, a bilan and an émargement each) generated
   through ``POST /planning/journeys/{id}/deliverables`` (checks, identity, rendering, storage with
   SHA-256), every journey asked at once; baseline: weasyprint alone rendering the same N documents
   (the same HTML) on the same cores, in a warm pool of as many processes.

The journeys, their actions and their sealed identities are written straight into planning's tables
(bulk COPY): what is timed is reading them. Names are unsealed with keys served in-process, as
importer serves them over HTTP.

    .venv/bin/python bench/journeys_bench.py [--enrolments 10000] [--documents 200]

Prints each time with its ratio to the baseline and the issue's target (20x; 1.3x).
"""

import argparse
import asyncio
import io
import json
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from openpyxl import Workbook

from planning.adapters import exports, orm
from planning.bootstrap import TEMPLATES, bootstrap
from planning.config import PlanningSettings
from planning.domain.referential import ReferentialPart
from planning.service_layer import journey_views
from planning.service_layer.commands import LoadReferential
from planning.service_layer.handlers import load_referential
from planning.service_layer.journeys import with_actions
from prestaflow import referential_file
from servicekit.bus import Bus
from servicekit.clock import FixedClock
from servicekit.crypto import new_key, seal
from servicekit.http import build_app
from servicekit.pdf import PdfRenderer, Templates
from servicekit.pytest_plugin import PG_URL, drop_schemas
from servicekit.sql import bulk_insert

SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "prestappli" / "samples"
PARIS = ZoneInfo("Europe/Paris")
SEATS = [("cdurand", "ARM"), ("kbenamar", "LIL"), ("mpetit", "LIL")]
DASHBOARD_TARGET, DELIVERABLES_TARGET = 20, 1.3
NOW = datetime(2025, 6, 30, 9, 0, tzinfo=UTC)
LAST_NAMES = ["MARTIN", "BERNARD", "DUBOIS", "THOMAS", "ROBERT", "RICHARD", "PETIT", "DURAND", "LEROY", "MOREAU"]
FIRST_NAMES = ["Léa", "Hugo", "Chloé", "Louis", "Inès", "Jules", "Manon", "Adam", "Zoé", "Nathan"]


def journeys_rows(n: int, keys: dict[str, str]) -> dict:
    """N closed-form journeys from 06/01/2025: three actions each (the first attended), a form filled
    up to the bilan, a sealed identity."""
    actions, participants, enrolments, identities = [], [], [], []
    for i in range(n):
        advisor, site = SEATS[i % len(SEATS)]
        start_day = date(2025, 1, 6) + timedelta(days=(i // 40) % 100)
        beneficiary, enrolment = f"b-{i:06d}", str(uuid.UUID(int=i + 1))
        keys[beneficiary] = key = new_key()
        identities.append({"beneficiary_id": beneficiary, "sealed": seal(key, {
            "last_name": LAST_NAMES[i % 10], "first_name": FIRST_NAMES[(i // 10) % 10], "ft_id": f"{i:07d}X",
            "civility": "Mme"})})
        for k, offset in enumerate((0, 30, 75)):
            starts = datetime(start_day.year, start_day.month, start_day.day, 9 + (i % 8), tzinfo=PARIS) + timedelta(
                days=offset)
            action_id = str(uuid.UUID(int=(i + 1) * 10 + k))
            actions.append({"id": action_id, "advisor_code": advisor, "action_type": "diagnostic", "ods_code": "ACR2025",
                            "step_order": 1, "resource_code": "ACR2025-L12", "mode": "on_site", "site_code": site,
                            "starts_at": starts, "ends_at": starts + timedelta(hours=1), "nature": "individual",
                            "max_participants": 1, "status": "planned", "to_assign": False, "resource_version": 1,
                            "steps_digest": None, "cancel_reason": None, "duplicate_of": None})
            participants.append({"action_id": action_id, "beneficiary_id": beneficiary, "resource_code": "ACR2025-L12",
                                 "ods_code": "ACR2025", "presence": "oui" if k == 0 else None,
                                 "added_at": NOW - timedelta(days=200), "removed_at": None, "removal_reason": None})
        end_day = start_day + timedelta(days=90)
        enrolments.append({
            "id": enrolment, "beneficiary_id": beneficiary, "ods_code": "ACR2025", "resource_code": "ACR2025-L12",
            "site_code": site, "opened_at": NOW - timedelta(days=200), "start_on": start_day, "end_on": end_day,
            "start_edited": False, "end_edited": False, "form_started": True, "order_number": f"BDC-2025-{i:06d}",
            "prescriber": "MARTIN Paul", "agency_code": "59123", "prestappli_initial_on": start_day + timedelta(days=2),
            "prestappli_final_on": None, "initial_interview_on": start_day, "initial_outcome": "poursuivi",
            "outcome_on": end_day - timedelta(days=5), "bilan_reason": "Création ou reprise d'entreprise opportune",
            "bilan_detail": "Projet viable, financement obtenu", "early_exit_reason": None, "abandon_reason": None,
            "status": "open", "closings": 0, "closed_on": None, "outcome": None})
    return {orm.actions: actions, orm.participants: participants, orm.enrolments: enrolments,
            orm.beneficiary_identities: identities}


def baseline_workbook(rows: list[dict]) -> tuple[float, int]:
    started = time.perf_counter()
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("rows")
    sheet.append([header for _, header in exports.DASHBOARD_COLUMNS])
    for row in rows:
        sheet.append([row.get(key) for key, _ in exports.DASHBOARD_COLUMNS])
    out = io.BytesIO()
    workbook.save(out)
    return time.perf_counter() - started, len(out.getvalue())


async def main(n: int, documents: int) -> None:
    prefix = f"bench{uuid.uuid4().hex[:6]}_"
    keys: dict[str, str] = {}

    def served(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={b: keys[b] for b in json.loads(request.content) if b in keys})

    with tempfile.TemporaryDirectory() as home:
        settings = PlanningSettings(database_url=PG_URL, db_schema_prefix=prefix, home=Path(home), bus="memory://")
        bus = Bus("memory://")
        runtime = bootstrap(bus, settings, clock=FixedClock(NOW))
        runtime.key_source.transport = httpx.MockTransport(served)
        app = build_app([runtime], bus, "bench", run_relays=False)
        try:
            async with app.router.lifespan_context(app), httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=600) as client:
                part = referential_file.split(referential_file.read(SAMPLES / "referentiel.yaml")).planning
                await load_referential(LoadReferential(ReferentialPart.model_validate(part)), runtime.uow_factory())
                tables = journeys_rows(n, keys)
                async with runtime.database.sessions() as session, session.begin():
                    for table, rows in tables.items():
                        await bulk_insert(session, table, rows)
                print(f"{n:,} journeys, {len(tables[orm.actions]):,} actions written", flush=True)

                started = time.perf_counter()
                response = await client.get("/planning/dashboard")
                json_seconds = time.perf_counter() - started
                response.raise_for_status()
                rows = response.json()
                assert len(rows) == n, len(rows)
                started = time.perf_counter()
                response = await client.get("/planning/dashboard.xlsx")
                xlsx_seconds = time.perf_counter() - started
                response.raise_for_status()
                typed = await journey_views.dashboard(journey_views.DashboardQuery(), runtime.uow_factory(),
                                                      runtime.key_source)
                baseline, size = baseline_workbook(typed)
                print(f"dashboard JSON ({len(rows):,} rows)         {json_seconds:8.2f} s   "
                      f"{json_seconds / baseline:6.1f}x the baseline (target {DASHBOARD_TARGET}x)")
                print(f"dashboard XLSX ({len(response.content) / 1e6:.1f} MB)          {xlsx_seconds:8.2f} s   "
                      f"{xlsx_seconds / baseline:6.1f}x the baseline (target {DASHBOARD_TARGET}x)")
                print(f"baseline: openpyxl write-only dump ({size / 1e6:.1f} MB) {baseline:8.2f} s")

                # Deliverables: one journey first, so that the renderer's pool is started before timing.
                wanted = [r["id"] for r in rows[: documents // 2 + 1]]
                (await client.post(f"/planning/journeys/{wanted[0]}/deliverables")).raise_for_status()
                wanted = wanted[1:]
                started = time.perf_counter()
                answers = await asyncio.gather(*(client.post(f"/planning/journeys/{e}/deliverables") for e in wanted))
                service_seconds = time.perf_counter() - started
                assert all(a.status_code == 200 for a in answers), [a.text for a in answers if a.status_code != 200][:1]

                async with runtime.uow_factory() as uow:
                    found = await uow.enrolments.find(wanted)
                    journeys = await with_actions(uow, [found[e] for e in wanted])
                    ref = await uow.referential.get()
                    sealed = await uow.views.sealed(j.enrolment.beneficiary_id for j in journeys)
                identities = await runtime.key_source.unseal_all(sealed)
                tools = journey_views.Deliverables(Templates(TEMPLATES), None, None)
                jobs = [job for j in journeys for job in tools.jobs(journey_views.deliverable_context(
                    j, ref, identities[j.enrolment.beneficiary_id], NOW.date()), j.enrolment.ods)]
                renderer = PdfRenderer()
                await renderer.render_all(jobs[: renderer.workers])  # warm the pool as the service's is
                started = time.perf_counter()
                pdfs = await renderer.render_all(jobs)
                weasy_seconds = time.perf_counter() - started
                renderer.close()
                print(f"{len(answers) * 2} deliverables through the API    {service_seconds:8.2f} s   "
                      f"{service_seconds / weasy_seconds:6.2f}x weasyprint alone (target {DELIVERABLES_TARGET}x)")
                print(f"weasyprint alone, {len(pdfs)} documents, {renderer.workers} processes {weasy_seconds:8.2f} s")
        finally:
            await runtime.database.dispose()
            await drop_schemas(prefix)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enrolments", type=int, default=10_000)
    parser.add_argument("--documents", type=int, default=200)
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores", flush=True)
    asyncio.run(main(args.enrolments, args.documents))
