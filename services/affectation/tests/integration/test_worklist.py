"""Assignment of imported appointments (AFF-01..AFF-03), every service in-process, SQLite and PostgreSQL."""

import asyncio

from contracts.affectation import ParticipantAssigned, ParticipantAssignedItem
from prestaflow import audit
from servicekit.keys import HttpKeySource
from servicekit.errors import Conflict

from affectation.domain.worklist import Assignment
from affectation.service_layer import handlers
from cluster import SAMPLES

J10 = SAMPLES / "liste_inscrits_J-10.csv"


async def plan(api, advisor, site, start, mode="on_site", **extra) -> dict:
    day, hour = start.split("T")
    end = f"{day}T{int(hour[:2]) + 1:02d}:{hour[3:]}"
    response = await api.request("POST", "planning", "/actions", json={
        "advisor": advisor, "site": site, "starts_at": start, "ends_at": end, "ods": "ACR2025", "step": 1,
        "resource": "ACR2025-L12", "mode": mode} | extra)
    assert response.status_code == 201, response.json()
    return response.json()


async def import_j10(api) -> None:
    response = await api.request("POST", "importer", "/imports", files={"file": (J10.name, J10.read_bytes())},
                                 data={"resource": "ACR2025-L12"})
    assert response.json()["status"] == "imported"


async def worklist(api, **params) -> dict[str, dict]:
    rows = (await api.request("GET", "affectation", "/appointments", params=params)).json()
    return {f"{r['site']} {r['starts_at'][:16]}": r for r in rows}


async def assign(api, entry, **body):
    return await api.request("POST", "affectation", f"/appointments/{entry['action_id']}/assign", json=body)


async def planning_action(api, action_id) -> dict:
    return (await api.request("GET", "planning", f"/actions/{action_id}")).json()


async def test_aff01_worklist_lists_imported_appointments_with_names_and_filters(api):
    await import_j10(api)
    rows = await worklist(api)
    assert sorted(rows) == ["ARM 2025-01-14T09:00", "ARM 2025-01-14T10:00", "ARM 2025-01-16T09:00",
                            "DIST 2025-01-15T11:00", "LIL 2025-01-14T14:00", "LIL 2025-01-15T09:30"]
    lea = rows["ARM 2025-01-14T09:00"]
    assert (lea["resource"], lea["ods"], lea["site_name"]) == ("ACR2025-L12", "ACR2025", "Armentières")
    assert [(b["last_name"], b["first_name"]) for b in lea["beneficiaries"]] == [("DUPONT", "Léa")]
    assert sorted(await worklist(api, site="LIL")) == ["LIL 2025-01-14T14:00", "LIL 2025-01-15T09:30"]
    assert await worklist(api, resource="AUTRE") == {}


async def test_aff02_the_four_categories_and_their_effects(api):
    await import_j10(api)
    same_time = await plan(api, "kbenamar", "ARM", "2025-01-16T09:00")  # planned after the import: category 1
    other_time = await plan(api, "cdurand", "ARM", "2025-01-14T15:00")
    rows = await worklist(api)

    lea = rows["ARM 2025-01-14T09:00"]
    by_category = {}
    for c in lea["candidates"]:
        by_category.setdefault(c["category"], []).append((c["advisor"], c["effect"], c["target_action_id"], c["site"]))
    assert by_category == {
        2: [("cdurand", "join", other_time["action_id"], "ARM")],
        3: [("cdurand", "move", None, "ARM"), ("kbenamar", "move", None, "ARM")],
        4: [("mpetit", "create", None, "LIL")],
    }
    assert lea["candidates"][0]["label"] == "a réservé une plage sur le lieu d'action à une autre heure"
    assert all(c["advisor"] != "jroux" for r in rows.values() for c in r["candidates"])  # Douai: no common place

    benali = rows["ARM 2025-01-16T09:00"]
    assert benali["candidates"][0]["category"] == 1
    assert benali["candidates"][0]["label"] == "a réservé une plage sur le lieu d'action et à l'heure d'arrivée"
    answer = (await assign(api, benali, advisor="kbenamar", target_action_id=same_time["action_id"])).json()
    assert answer["category"] == 1 and answer["duplicate"] is False
    assert (await planning_action(api, same_time["action_id"]))["participants"] == 1

    answer = (await assign(api, lea, advisor="cdurand", target_action_id=other_time["action_id"])).json()
    assert answer["duplicate"] is True and "doublon à supprimer" in answer["effect"]
    assert (await planning_action(api, other_time["action_id"]))["participants"] == 1
    flagged = await planning_action(api, lea["action_id"])
    assert (flagged["participants"], flagged["duplicate_of"], flagged["to_assign"]) == (0, other_time["action_id"], False)

    moussa = rows["ARM 2025-01-14T10:00"]
    await assign(api, moussa, advisor="kbenamar", site="ARM")  # category 3: moves to his agenda
    moved = await planning_action(api, moussa["action_id"])
    assert (moved["advisor"], moved["to_assign"], moved["participants"]) == ("kbenamar", False, 1)

    anne = rows["LIL 2025-01-14T14:00"]
    answer = (await assign(api, anne, advisor="cdurand", site="ARM")).json()  # category 4: new action at her site
    assert answer["category"] == 4 and answer["duplicate"] is True
    created = [a for a in (await api.request("GET", "planning", "/actions", params={"advisor": "cdurand"})).json()
               if a["starts_at"].startswith("2025-01-14T14:00")]
    assert [(a["site"], a["participants"]) for a in created] == [("ARM", 1)]
    assert (await planning_action(api, anne["action_id"]))["duplicate_of"] == created[0]["action_id"]

    left = await worklist(api)
    assert sorted(left) == ["DIST 2025-01-15T11:00", "LIL 2025-01-15T09:30"]


async def test_aff02_remote_appointments_list_remote_advisors_with_their_status(api):
    await import_j10(api)
    await plan(api, "mpetit", "LIL", "2025-01-15T11:00")  # busy at that time
    await api.request("POST", "planning", "/actions", json={"advisor": "kbenamar", "absence": True,
                                                          "starts_at": "2025-01-15T08:00", "ends_at": "2025-01-15T09:00"})
    remote = (await worklist(api))["DIST 2025-01-15T11:00"]
    assert [(c["advisor"], c["status"]) for c in remote["candidates"]] == [
        ("kbenamar", "ne travaille pas ce jour-là"), ("mpetit", "occupé")]


async def test_aff02_inactive_advisors_never_appear(api, tmp_path):
    from prestaflow import referential
    text = (SAMPLES / "referentiel.yaml").read_text(encoding="utf-8").replace(
        "    sites: [ARM]\n    remote: false", "    sites: [ARM]\n    remote: false\n    active: false")
    (tmp_path / "ref.yaml").write_text(text, encoding="utf-8")
    await referential.load(api, tmp_path / "ref.yaml")
    await import_j10(api)
    advisors = {c["advisor"] for r in (await worklist(api)).values() for c in r["candidates"]}
    assert "cdurand" not in advisors and "kbenamar" in advisors


async def test_aff03_assigning_twice_is_idempotent_and_a_planning_refusal_comes_back(api):
    await import_j10(api)
    entry = (await worklist(api))["ARM 2025-01-16T09:00"]
    first = (await assign(api, entry, advisor="cdurand", site="ARM")).json()
    again = (await assign(api, entry, advisor="cdurand", site="ARM")).json()
    assert again == {"assignment_id": first["assignment_id"], "status": "assigned", "already": True}
    other = await assign(api, entry, advisor="kbenamar", site="ARM")
    assert other.status_code == 409

    # cdurand is now busy on 16/01 09:00: a stale choice for her is refused by planning and comes back.
    benali_slot = entry
    lea = (await worklist(api))["ARM 2025-01-14T09:00"]
    await plan(api, "cdurand", "ARM", "2025-01-14T09:00")  # after the worklist was read
    runtime = next(r for r in api.embedded.runtimes if r.name == "affectation")
    async with runtime.uow_factory() as uow:
        await uow.worklist.claim(lea["action_id"], "stale-1")
        uow.emit_items(ParticipantAssigned, [ParticipantAssignedItem(
            assignment_id="stale-1", action_id=lea["action_id"], advisor="cdurand", category=3, effect="move",
            site="ARM", assigned_by="test")])
        await uow.worklist.add_assignment(Assignment(
            id="stale-1", action_id=lea["action_id"], advisor_code="cdurand", category=3, effect="move",
            target_action_id=None, site_code="ARM", assigned_by="test", assigned_at=uow.clock.now()))
        await uow.commit()
    await api.embedded.settle()
    back = (await worklist(api))["ARM 2025-01-14T09:00"]
    assert back["status"] == "open"
    assert back["refusal"] == ["« Claire DURAND » a déjà une action le 14/01/2025 de 09:00 à 10:00."]
    assert benali_slot["action_id"] not in [r["action_id"] for r in (await worklist(api)).values()]


async def test_aff03_two_users_assign_one_appointment_at_once_one_wins(pg_api):
    await import_j10(pg_api)
    entry = (await worklist(pg_api))["ARM 2025-01-16T09:00"]
    runtime = next(r for r in pg_api.embedded.runtimes if r.name == "affectation")
    results = await asyncio.gather(*[
        handlers.assign(handlers.Assign(entry["action_id"], advisor, site="ARM", user=advisor), runtime.uow_factory(),
                        runtime.key_source) for advisor in ("cdurand", "kbenamar")], return_exceptions=True)
    wins = [r for r in results if isinstance(r, dict)]
    losses = [r for r in results if isinstance(r, Conflict)]
    assert len(wins) == 1 and len(losses) == 1
    assert "autre utilisateur" in losses[0].messages[0]
    await pg_api.embedded.settle()
    moved = await planning_action(pg_api, entry["action_id"])
    assert moved["advisor"] in ("cdurand", "kbenamar") and not moved["to_assign"]
    assert moved["participants"] == 1


async def test_aff01_worklist_rebuilt_from_the_event_log_is_identical(api, tmp_path):
    """The audit's replay (OPS-04) of the log into a fresh affectation: its input events rebuild the
    worklist and projections, its own ParticipantAssigned the assignment the command made; every table
    has the live digest."""
    await plan(api, "cdurand", "ARM", "2025-01-14T15:00")
    await import_j10(api)
    entry = (await worklist(api))["ARM 2025-01-16T09:00"]
    await assign(api, entry, advisor="cdurand", site="ARM")
    log = audit.in_order(await audit.from_outboxes(api))
    rebuilt = (await audit.rebuild(log, tmp_path, HttpKeySource("http://importer", transport=api.transport),
                                   only=("affectation",)))["affectation"]
    live = (await api.request("GET", "affectation", "/admin/digest")).json()
    runtime = next(r for r in api.embedded.runtimes if r.name == "affectation")
    assert rebuilt["refused"] is None
    inputs = [e for e in log if e.type in runtime.dispatcher.handlers]
    assert rebuilt["applied"] == len(inputs) + 1 > 4  # and its own ParticipantAssigned
    assert live["tables"]["worklist"]["rows"] == 6 and live["tables"]["actions"]["rows"] > 1
    assert live["tables"]["assignments"]["rows"] == 1
    for table, digest in live["tables"].items():
        assert rebuilt["tables"][table] == digest, table
    assert rebuilt["digest"] == live["digest"]
