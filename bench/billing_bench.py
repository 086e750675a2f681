"""Billing: issuing N invoices through billing's HTTP API (validation, numbering, Factur-X PDF/A-3, events)
against weasyprint alone rendering the same N documents on the same cores; and how long each issue held
its legal entity's numbering lock.

    .venv/bin/python bench/billing_bench.py [--invoices 200] [--concurrency 8]

Billing runs alone in this process on the local PostgreSQL (schemas of its own, dropped at the end), with
the sample catalogue and referential; N closed journeys are drafted from one ``ODSClosed``. Both sides
render in a pool of one worker process per core, warmed up before timing.
"""

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))

from billing_support import (InProcessSettings, Keys, billing_service, clock_at, close,  # noqa: E402
                             closed, make_bootstrap)
from servicekit.bus import Bus  # noqa: E402
from servicekit.http import build_app  # noqa: E402
from servicekit.pdf import PdfRenderer  # noqa: E402
from servicekit.pytest_plugin import service_databases  # noqa: E402


class PoolSettings(InProcessSettings):
    pdf_workers: int | None = None  # one worker process per core


async def main(count: int, concurrency: int) -> None:
    keys = Keys()
    with tempfile.TemporaryDirectory() as home:
        async with service_databases("postgresql", Path(home), make_bootstrap(keys), PoolSettings,
                                     clock_at(date(2025, 4, 15))) as make:
            runtime = await billing_service(make, keys)
            warm_up = 2 * (os.cpu_count() or 1)  # concurrent issues, so that every worker has rendered and checked
            await close(runtime, keys, *[closed(f"bench-{n:05d}", ("bilan", "reoriente")[n % 2])
                                         for n in range(count + warm_up)])
            jobs = []
            pdfs = runtime.invoicing.pdfs
            original = pdfs.render

            async def recording(batch):
                jobs.extend(job.job for job in batch)
                return await original(batch)

            pdfs.render = recording
            app = build_app([runtime], Bus("memory://"), "billing", run_relays=False)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench/billing",
                                         timeout=600) as client:
                drafts = [d["id"] for d in (await client.get("/invoices/pending")).json()]
                # Pool, fonts and each worker's EN 16931 stylesheet warmed up.
                warm = await asyncio.gather(*[client.post(f"/invoices/{drafts.pop()}/issue") for _ in range(warm_up)])
                assert all(w.status_code == 200 for w in warm), [w.text for w in warm]
                jobs.clear()
                runtime.invoicing.lock_hold_seconds.clear()
                gate = asyncio.Semaphore(concurrency)

                async def issue(draft_id: str) -> str:
                    async with gate:
                        response = await client.post(f"/invoices/{draft_id}/issue")
                        assert response.status_code == 200, response.text
                        return response.json()["number"]

                started = time.perf_counter()
                numbers = await asyncio.gather(*[issue(d) for d in drafts])
                api_seconds = time.perf_counter() - started
            holds = sorted(runtime.invoicing.lock_hold_seconds)
            pdfs.close()
            assert sorted(numbers) == [f"14JUNF25{n:05d}" for n in range(warm_up + 1, warm_up + count + 1)], "gap"

    baseline = PdfRenderer()
    await baseline.render_all(jobs[:baseline.workers])  # the same warm-up: workers started, fonts loaded
    started = time.perf_counter()
    rendered = await baseline.render_all(jobs)
    weasy_seconds = time.perf_counter() - started
    baseline.close()
    assert len(rendered) == count

    cores = os.cpu_count()
    print(f"{count} invoices, {cores} cores, {concurrency} requests at a time, PDF workers: {cores}")
    print(f"  API (validate, number, commit, PDF/A-3 + factur-x.xml, events): {api_seconds:7.2f} s "
          f"({count / api_seconds:5.1f} invoices/s)")
    print(f"  weasyprint alone, the same {count} documents as PDF/A-3b:         {weasy_seconds:7.2f} s "
          f"({count / weasy_seconds:5.1f} documents/s)")
    print(f"  ratio API / weasyprint: {api_seconds / weasy_seconds:.2f}x (target at most 1.5x)")
    print(f"  numbering lock held per issue: p50 {statistics.median(holds) * 1000:.1f} ms, "
          f"max {holds[-1] * 1000:.1f} ms ({len(holds)} issues)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    asyncio.run(main(args.invoices, args.concurrency))
