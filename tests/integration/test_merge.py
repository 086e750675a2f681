"""BEN-03: staff merge a doublon into the record kept with one command, and every service follows
``BeneficiariesMerged`` on the in-memory bus, on the real PostgreSQL: planning, affectation, notify and
billing re-point the merged record's rows to the kept one (billing its drafts, never an issued invoice);
a redelivered merge event changes nothing a second time."""

import uuid
from datetime import UTC, date, datetime

from sqlalchemy import func, insert, select

from contracts import topics
from prestaflow import beneficiary_cli, referential
from prestaflow.audit_who import who
from prestaflow.client import Api
from servicekit.clock import FixedClock
from servicekit.runtime import runtime_digest

from cluster import SAMPLES
from doublons import J10, MOUSSA_AGAIN, doublon_list, upload

FOLLOWERS = ("planning", "affectation", "notify", "billing")


def runtime(api, name: str):
    return next(r for r in api.embedded.runtimes if r.name == name)


def orm_of(name: str):
    return __import__(f"{name}.adapters.orm", fromlist=["orm"])


async def rows_naming(api, service: str, beneficiary_id: str) -> dict[str, int]:
    """Rows of each table where ``service`` names a beneficiary (its merge targets), for this one."""
    found = {}
    async with runtime(api, service).database.sessions() as session:
        for target in orm_of(service).MERGE_REPOINTS:
            column = target.table.c[target.column]
            found[target.table.name] = (await session.execute(
                select(func.count()).select_from(target.table).where(column == beneficiary_id))).scalar()
    return found


async def add_invoices(api, beneficiary_id: str) -> None:
    """A draft (facture à émettre) and an issued invoice of the doublon, as billing keeps them."""
    invoices = orm_of("billing").invoices
    common = dict(kind="invoice", enrolment_id="e-doublon", beneficiary_id=beneficiary_id, ods="ACR2025",
                  resource="ACR2025-L12", site="ARM", ods_start=date(2024, 9, 2), ods_end=date(2024, 12, 1),
                  outcome="bilan", outcome_date=date(2024, 11, 29), closed_on=date(2024, 12, 2), percentage=100,
                  problems=[])
    async with runtime(api, "billing").database.sessions() as session, session.begin():
        await session.execute(insert(invoices), [
            common | {"id": "inv-draft", "status": "draft", "closing": 2},
            common | {"id": "inv-issued", "status": "issued", "closing": 1, "number": "BGEF2400001", "sequence": 1,
                      "issued_on": date(2024, 12, 3)}])


async def test_ben03_merge_is_followed_by_every_service_and_redelivery_changes_nothing(pg_settings):
    # On the sample lists' calendar (the day the J-10 list arrives), so that notify schedules their messages.
    async with Api(pg_settings, clock=FixedClock(datetime(2025, 1, 4, 9, 0, tzinfo=UTC))) as api:
        await referential.load(api, SAMPLES / "referentiel.yaml")
        await merge_and_redeliver(api)


async def merge_and_redeliver(api) -> None:
    await upload(api, J10.name, J10.read_bytes())
    report = await upload(api, "doublons.csv", doublon_list(MOUSSA_AGAIN))
    people = {p["ft_id"]: p["id"] for p in (await api.request("GET", "importer", "/beneficiaries")).json()}
    kept, other = people["2345678B"], people["8888888H"]
    assert any(f"doublon probable de la fiche {kept}" in m["message"] for m in report["messages"])
    await add_invoices(api, other)
    before = {s: await rows_naming(api, s, other) for s in FOLLOWERS}
    kept_before = {s: await rows_naming(api, s, kept) for s in FOLLOWERS}
    # What the doublon's import left in each service.
    assert before["planning"]["participants"] == before["planning"]["enrolments"] == 1
    assert before["affectation"]["participants"] == 1
    assert before["notify"]["contacts"] == before["notify"]["appointments"] == 1 and before["notify"]["messages"] >= 1
    assert before["billing"]["invoices"] == 2

    result = await beneficiary_cli.merge(api, kept, other)

    assert (result["kept_id"], result["merged_id"]) == (kept, other)
    services = result["services"]
    assert services["importer"] == {"inscriptions (parcours)": 1, "rendez-vous importés": 1}
    assert services["planning"]["parcours"] == 1 and services["planning"]["participations"] == 1
    assert services["affectation"] == {"participants des rendez-vous (affectations)": 1}
    assert services["notify"]["rendez-vous"] == 1 and services["notify"]["messages"] == before["notify"]["messages"]
    assert "contact (doublons retirés)" in services["notify"]  # the kept record's contact wins
    assert services["billing"] == {"factures à émettre": 1, "factures émises inchangées (jamais réécrites)": 1}
    after = {s: await rows_naming(api, s, other) for s in FOLLOWERS}
    # Nothing names the doublon any more, but the issued invoice (never rewritten).
    assert {s: {t: n for t, n in tables.items() if n} for s, tables in after.items()} == {
        "planning": {}, "affectation": {}, "notify": {}, "billing": {"invoices": 1}}
    kept_after = {s: await rows_naming(api, s, kept) for s in FOLLOWERS}
    assert kept_after["planning"]["enrolments"] == kept_before["planning"]["enrolments"] + 1
    assert kept_after["planning"]["participants"] == kept_before["planning"]["participants"] + 1
    assert kept_after["notify"]["messages"] == kept_before["notify"]["messages"] + before["notify"]["messages"]
    # What users see: the kept person is the participant of the doublon's appointment.
    actions = (await api.request("GET", "planning", "/actions")).json()
    [moved] = [a for a in actions if a["starts_at"].startswith("2025-01-16T10:00")]
    detail = (await api.request("GET", "planning", f"/actions/{moved['action_id']}")).json()
    assert [p["beneficiary_id"] for p in detail["participant_list"]] == [kept]
    invoices = orm_of("billing").invoices
    async with runtime(api, "billing").database.sessions() as session:
        owners = dict((await session.execute(select(invoices.c.id, invoices.c.beneficiary_id))).all())
    assert owners == {"inv-draft": kept, "inv-issued": other}

    # SEC-04: who merged is on record, for either record.
    for record in (kept, other):
        [merge_row] = [r for r in await who(api, record) if r["event"] == "BeneficiariesMerged"]
        assert merge_row["records"] == [other] and merge_row["actor"] and merge_row["service"] == "importer"

    # Redelivery: the same event (inbox), then the same merge under a new event id (already followed).
    [merged_event] = [e["envelope"] for e in (await api.request("GET", "importer", "/admin/events")).json()
                      if e["envelope"]["type"] == "BeneficiariesMerged"]
    digests = {s: (await runtime_digest(runtime(api, s)))["digest"] for s in FOLLOWERS}
    for again in (merged_event, merged_event | {"event_id": str(uuid.uuid4())}):
        for service in FOLLOWERS:
            await runtime(api, service).dispatcher(again, topics.IMPORT_EVENTS)
        assert {s: (await runtime_digest(runtime(api, s)))["digest"] for s in FOLLOWERS} == digests
    for service in FOLLOWERS:
        merges = (await api.request("GET", service, "/admin/merges")).json()
        assert [(m["kept_id"], m["merged_id"]) for m in merges] == [(kept, other)]
        assert (await api.request("GET", service, "/admin/dead-letters")).json() == []
