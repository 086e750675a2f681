"""BIL-05: a process killed (SIGKILL) between its number and its commit, then restarted: no gap, no
duplicate; killed after the commit but before its PDF: the PDF is rendered again from the committed XML."""

import json
import os
import signal
import subprocess
import sys
import textwrap

from facturx import get_xml_from_pdf

from billing.service_layer import invoicing

from billing_support import REPOSITORY, close, closed

CHILD = textwrap.dedent("""
    import asyncio, json, os, signal, sys
    from datetime import date
    from servicekit import faults
    from servicekit.bus import Bus
    from billing.service_layer import invoicing
    from billing_support import Keys, InProcessSettings, clock_at, make_bootstrap

    def point(name, _real=faults.point):
        if name == os.environ["KILL_AT"]:
            os.kill(os.getpid(), signal.SIGKILL)
        _real(name)

    faults.point = point
    settings = InProcessSettings(database_url=os.environ["DB_URL"], db_schema_prefix=os.environ["DB_PREFIX"],
                            home=os.environ["HOME_DIR"], bus="memory://")
    runtime = make_bootstrap(Keys(json.loads(os.environ["KEYS"])))(Bus("memory://"), settings,
                                                                   clock=clock_at(date(2025, 4, 15)))
    asyncio.run(invoicing.issue_invoice(invoicing.IssueInvoice(sys.argv[1]), runtime.uow_factory(),
                                        runtime.invoicing))
    print("not killed")
""")


def issue_in_child(runtime, keys, tmp_path, draft_id: str, kill_at: str) -> subprocess.CompletedProcess:
    env = os.environ | {
        "KILL_AT": kill_at, "DB_URL": runtime.settings.database_url, "DB_PREFIX": runtime.settings.db_schema_prefix,
        "HOME_DIR": str(tmp_path), "KEYS": json.dumps(keys.keys),
        "PYTHONPATH": os.pathsep.join([str(REPOSITORY / "tests" / "support"), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-c", CHILD, draft_id], env=env, capture_output=True, text=True, timeout=120)


async def test_bil05_sigkill_between_number_and_commit_leaves_no_gap_and_no_duplicate(pg_billing, keys, tmp_path):
    await close(pg_billing, keys, closed("e1"), closed("e2"))
    rows = {r["enrolment_id"]: r for r in await invoicing.pending(pg_billing.uow_factory())}
    killed = issue_in_child(pg_billing, keys, tmp_path, rows["e1"]["id"], "billing.number_allocated")
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    # Restarted: the killed request left nothing; the numbers go on from 1.
    assert [r["status"] for r in await invoicing.pending(pg_billing.uow_factory())] == ["draft", "draft"]
    numbers = [(await invoicing.issue_invoice(invoicing.IssueInvoice(rows[e]["id"]), pg_billing.uow_factory(),
                                              pg_billing.invoicing))["number"] for e in ("e2", "e1")]
    assert numbers == ["14JUNF2500001", "14JUNF2500002"]
    issued = [r["number"] for r in await invoicing.issued(pg_billing.uow_factory())]
    assert issued == ["14JUNF2500001", "14JUNF2500002"]


async def test_bil05_sigkill_after_commit_before_the_pdf_renders_it_again(pg_billing, keys, tmp_path):
    await close(pg_billing, keys, closed("e1"))
    draft_id = (await invoicing.pending(pg_billing.uow_factory()))[0]["id"]
    killed = issue_in_child(pg_billing, keys, tmp_path, draft_id, "billing.after_commit")
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    (row,) = await invoicing.issued(pg_billing.uow_factory())
    assert row["number"] == "14JUNF2500001"
    pdf = await invoicing.pdf_of(pg_billing.uow_factory(), pg_billing.invoicing, "14JUNF2500001")
    filename, xml = get_xml_from_pdf(pdf, check_xsd=True)
    assert filename == "factur-x.xml" and b"<ram:ID>14JUNF2500001</ram:ID>" in xml
