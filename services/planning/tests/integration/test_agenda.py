"""Agendas through planning's HTTP API, on SQLite and the real PostgreSQL (PLN-01..PLN-08, PRC-08)."""

import asyncio

from planning.service_layer import agenda

DIAG = {"advisor": "cdurand", "starts_at": "2025-01-14T09:00", "ends_at": "2025-01-14T10:00", "ods": "ACR2025",
        "step": 1, "resource": "ACR2025-L12", "site": "ARM"}


async def post(api, path, body):
    return await api.request("POST", "planning", path, json=body)


async def plan(api, **changes) -> dict:
    response = await post(api, "/actions", DIAG | changes)
    assert response.status_code == 201, response.json()
    return response.json()


async def refused(api, **changes) -> list[str]:
    response = await post(api, "/actions", DIAG | changes)
    assert response.status_code == 422, response.json()
    return response.json()["messages"]


async def events(api, type_: str) -> list[dict]:
    log = (await api.request("GET", "planning", "/admin/events")).json()
    return [e["envelope"] for e in log if e["envelope"]["type"] == type_]


async def test_pln01_an_individual_diagnostic_is_planned_and_announced(api):
    action = await plan(api)
    assert (action["nature"], action["max_participants"], action["action_type"]) == ("individual", 1, "diagnostic")
    assert action["starts_at"] == "2025-01-14T09:00:00+01:00"  # typed in Paris time, kept as such
    [planned] = await events(api, "ActionPlanned")
    assert planned["key"] == "bge"  # the structure
    [item] = planned["payload"]["items"]
    assert (item["action_id"], item["version"]) == (action["action_id"], 1)
    assert item["starts_at"] == "2025-01-14T08:00:00Z"


async def test_pln01_agendas_per_advisor_team_site_and_period(api):
    await plan(api)
    await plan(api, advisor="kbenamar", site="LIL", starts_at="2025-01-15T14:00", ends_at="2025-01-15T15:00")
    await plan(api, advisor="mpetit", site="LIL", starts_at="2025-02-03T14:00", ends_at="2025-02-03T15:00")

    async def codes(**params):
        rows = (await api.request("GET", "planning", "/actions", params=params)).json()
        return [(r["advisor"], r["starts_at"][:10]) for r in rows]

    assert await codes(advisor="cdurand") == [("cdurand", "2025-01-14")]
    assert await codes(advisor=["cdurand", "kbenamar"]) == [("cdurand", "2025-01-14"), ("kbenamar", "2025-01-15")]
    assert await codes(site="LIL") == [("kbenamar", "2025-01-15"), ("mpetit", "2025-02-03")]
    assert await codes(**{"from": "2025-02-01", "to": "2025-02-28"}) == [("mpetit", "2025-02-03")]


async def test_pln02_no_common_place_names_what_is_missing(api):
    assert await refused(api, site="LIL") == [
        "Pas de lieu commun : « Claire DURAND » ne travaille pas sur le site « Lille Liberté »."]
    assert await refused(api, advisor="jroux", site="DOU") == [
        "Pas de lieu commun : le site « Douai » n'est pas un lieu de l'ODS « Activ'Créa 2025 ».",
        "Pas de lieu commun : le site « Douai » (antenne DOUAISIS) n'appartient pas à l'antenne de la ressource "
        "« ACR2025-L12 » (LILLE)."]


async def test_pln03_a_diagnostic_range_is_refused_with_the_advice_to_plan_single_slots(api):
    [message] = await refused(api, ends_at="2025-01-14T12:00")
    assert "rendez-vous uniques de 60 minutes" in message
    assert "(09:00–10:00, 10:00–11:00, …)" in message
    # A collective workshop (étape 3) may last longer than an hour.
    workshop = await plan(api, step=3, starts_at="2025-01-14T13:00", ends_at="2025-01-14T16:00", max_participants=8)
    assert workshop["nature"] == "collective"


async def test_pln01_other_rules_site_times_period_double_booking_remote(api):
    assert await refused(api, site=None) == ["Site obligatoire (sauf pour une absence)."]
    assert await refused(api, ends_at="2025-01-14T08:00") == [
        "Le début (14/01/2025 09:00) doit précéder la fin (14/01/2025 08:00)."]
    assert await refused(api, starts_at="2024-12-20T09:00", ends_at="2024-12-20T10:00") == [
        "L'action du 20/12/2024 est hors de la période de la ressource « ACR2025-L12 » (01/01/2025 – 31/12/2028)."]
    assert await refused(api, step=3, starts_at="2025-01-14T13:00", ends_at="2025-01-14T16:00") == [
        "Nombre maximum de participants obligatoire pour une action collective."]
    await plan(api)
    assert await refused(api, starts_at="2025-01-14T09:30", ends_at="2025-01-14T10:30") == [
        "« Claire DURAND » a déjà une action le 14/01/2025 de 09:00 à 10:00."]
    absence = await post(api, "/actions", {"advisor": "cdurand", "starts_at": "2025-01-16T08:00",
                                           "ends_at": "2025-01-16T18:00", "absence": True})
    assert absence.status_code == 201 and absence.json()["site"] is None
    remote = await plan(api, advisor="kbenamar", site="DIST", mode="remote")
    assert remote["mode"] == "remote"
    assert await refused(api, site="DIST", mode="remote", starts_at="2025-01-17T09:00",
                         ends_at="2025-01-17T10:00") == ["« Claire DURAND » ne prend pas de rendez-vous 100 % à distance."]


async def test_pln04_duplication_creates_independent_copies_and_lists_refusals(api):
    original = await plan(api)
    response = await post(api, f"/actions/{original['action_id']}/duplicate", {"weekly": {
        "first_day": "2025-01-13", "last_day": "2025-01-19", "weekdays": [1, 2, 3, 4, 5], "times": ["09:00", "10:00"]}})
    result = response.json()
    assert len(result["created"]) == 9
    assert result["refused"] == [{"starts_at": "2025-01-14T09:00:00+01:00",
                                  "messages": ["« Claire DURAND » a déjà une action le 14/01/2025 de 09:00 à 10:00."]}]
    # The series is one command: one ActionPlanned for all its copies (the original's came before).
    [_, series] = await events(api, "ActionPlanned")
    assert [i["action_id"] for i in series["payload"]["items"]] == [a["action_id"] for a in result["created"]]
    assert {i["version"] for i in series["payload"]["items"]} == {1}
    copy = result["created"][0]
    cancelled = await post(api, f"/actions/{copy['action_id']}/cancel", {"reason": "test"})
    assert cancelled.json()["status"] == "cancelled"
    still = (await api.request("GET", "planning", f"/actions/{original['action_id']}")).json()
    assert still["status"] == "planned"  # sans liaison: the original does not follow its copy


async def test_pln04_a_long_series_is_one_command_and_its_copies_do_not_overlap_each_other(api):
    """A year of slots in one request: one transaction, its ActionPlanned cut only by the item limit;
    copies overlapping the agenda or an earlier copy of the series are refused and listed."""
    original = await plan(api)
    await plan(api, starts_at="2025-03-04T10:30", ends_at="2025-03-04T11:30")
    before = (await api.request("GET", "planning", "/admin/events")).json()[-1]["position"]
    response = await post(api, f"/actions/{original['action_id']}/duplicate", {
        "starts": ["2025-01-14T09:00", "2025-01-15T09:30"],  # the original's own time; a copy before the pattern
        "weekly": {"first_day": "2025-01-15", "last_day": "2025-12-31", "weekdays": [1, 2, 3, 4, 5],
                   "times": ["09:00", "10:00", "11:00", "14:00", "15:00"]}})
    assert response.status_code == 200, response.json()
    result = response.json()
    refused = {r["starts_at"]: r["messages"] for r in result["refused"]}
    assert refused["2025-01-14T09:00:00+01:00"] == [
        "« Claire DURAND » a déjà une action le 14/01/2025 de 09:00 à 10:00."]
    assert refused["2025-03-04T10:00:00+01:00"] == refused["2025-03-04T11:00:00+01:00"] == [
        "« Claire DURAND » a déjà une action le 04/03/2025 de 10:30 à 11:30."]
    # The pattern's 09:00 and 10:00 on the 15th overlap the copy at 09:30 made earlier in the series.
    assert refused["2025-01-15T09:00:00+01:00"] == refused["2025-01-15T10:00:00+01:00"] == [
        "« Claire DURAND » a déjà une action le 15/01/2025 de 09:30 à 10:30."]
    assert len(refused) == 5
    assert len(result["created"]) + len(refused) == 2 + 251 * 5
    log = (await api.request("GET", "planning", "/admin/events", params={"after": before})).json()
    assert [e["envelope"]["type"] for e in log] == ["ActionPlanned", "ActionPlanned"]
    items = [i for e in log for i in e["envelope"]["payload"]["items"]]
    assert [len(e["envelope"]["payload"]["items"]) for e in log] == [1000, len(result["created"]) - 1000]
    assert [i["action_id"] for i in items] == [a["action_id"] for a in result["created"]]
    assert len({e["envelope"]["causation_id"] for e in log}) == 1  # one command


async def test_pln04_cancelling_an_action_removes_its_participants_then_cancels_it(api):
    workshop = await plan(api, step=3, starts_at="2025-01-14T13:00", ends_at="2025-01-14T16:00", max_participants=8)
    for beneficiary in ("b-1", "b-2"):
        await post(api, f"/actions/{workshop['action_id']}/participants", {"beneficiary_id": beneficiary})
    before = (await api.request("GET", "planning", "/admin/events")).json()[-1]["position"]
    cancelled = (await post(api, f"/actions/{workshop['action_id']}/cancel", {"reason": "Conseiller absent"})).json()
    assert (cancelled["status"], cancelled["participants"]) == ("cancelled", 0)
    log = (await api.request("GET", "planning", "/admin/events", params={"after": before})).json()
    assert [(e["envelope"]["type"],
             [(i.get("beneficiary_id"), i["reason"]) for i in e["envelope"]["payload"]["items"]])
            for e in log] == [("ParticipantRemoved", [("b-1", "Action annulée"), ("b-2", "Action annulée")]),
                              ("ActionCancelled", [(None, "Conseiller absent")])]


async def test_pln05_participants_capacity_overrides_and_removal(api):
    action = await plan(api)
    path = f"/actions/{action['action_id']}/participants"
    assert (await post(api, path, {"beneficiary_id": "b-1"})).json() == {"added": True, "free_places": 0}
    assert (await post(api, path, {"beneficiary_id": "b-1"})).json()["added"] is False  # idempotent
    full = await post(api, path, {"beneficiary_id": "b-2"})
    assert full.status_code == 409
    assert full.json()["messages"] == ["Action du 14/01/2025 09:00 complète : 1 place(s) sur 1 déjà prise(s)."]

    removed = await api.request("DELETE", "planning", f"{path}/b-1", params={"reason": "Désinscrit"})
    assert removed.json() == {"removed": True}
    [event] = await events(api, "ParticipantRemoved")
    assert event["payload"] == {"items": [{"action_id": action["action_id"], "beneficiary_id": "b-1",
                                           "reason": "Désinscrit", "version": 3}]}  # planned, added, removed

    wrong = await post(api, path, {"beneficiary_id": "b-2", "ods": "NOPE"})
    assert wrong.json()["messages"] == ["ODS « NOPE » inconnue."]
    ok = await post(api, path, {"beneficiary_id": "b-2", "resource": "ACR2025-L12", "ods": "ACR2025"})
    assert ok.json()["added"] is True
    detail = (await api.request("GET", "planning", f"/actions/{action['action_id']}")).json()
    assert detail["participant_list"] == [{"beneficiary_id": "b-2", "resource": "ACR2025-L12", "ods": "ACR2025",
                                           "presence": None}]


async def test_pln06_actions_planned_under_a_changed_ressource_are_flagged_until_fixed(api, tmp_path):
    future = await plan(api, starts_at="2027-03-01T09:00", ends_at="2027-03-01T10:00")
    await plan(api, starts_at="2025-03-01T09:00", ends_at="2025-03-01T10:00")  # past: not listed
    assert (await api.request("GET", "planning", "/actions/flagged")).json() == []

    from cluster import SAMPLES
    from prestaflow import referential
    changed = tmp_path / "referentiel.yaml"
    changed.write_text((SAMPLES / "referentiel.yaml").read_text(encoding="utf-8")
                       .replace("Entretien initial de diagnostic, action_type: diagnostic, duration_min: 60",
                                "Entretien initial de diagnostic, action_type: diagnostic, duration_min: 90")
                       .replace("lot_number: \"12\"", "lot_number: \"13\""), encoding="utf-8")
    await referential.load(api, changed)

    [flag] = (await api.request("GET", "planning", "/actions/flagged")).json()
    assert flag["action"]["action_id"] == future["action_id"]
    assert flag["reasons"] == ["Ressource « ACR2025-L12 » modifiée depuis la planification (version 1 → 2).",
                               "Étapes de l'ODS « ACR2025 » modifiées depuis la planification."]
    fixed = await api.request("PATCH", "planning", f"/actions/{future['action_id']}", json={})
    assert fixed.status_code == 200
    assert (await api.request("GET", "planning", "/actions/flagged")).json() == []


async def test_pln08_presence_only_after_the_action_and_announced(api):
    past = await plan(api)
    future = await plan(api, starts_at="2027-03-01T09:00", ends_at="2027-03-01T10:00")
    for action in (past, future):
        await post(api, f"/actions/{action['action_id']}/participants", {"beneficiary_id": "b-1"})
    early = await api.request("PUT", "planning", f"/actions/{future['action_id']}/participants/b-1/presence",
                              json={"presence": "oui"})
    assert early.status_code == 422
    assert early.json()["messages"] == ["Action du 01/03/2027 09:00 pas encore terminée : la présence se valide "
                                        "après l'action."]
    bad = await api.request("PUT", "planning", f"/actions/{past['action_id']}/participants/b-1/presence",
                            json={"presence": "peut-être"})
    assert bad.status_code == 422 and "presence" in bad.json()["messages"][0]
    done = await api.request("PUT", "planning", f"/actions/{past['action_id']}/participants/b-1/presence",
                             json={"presence": "excusé"})
    assert done.json() == {"changed": True}
    [event] = await events(api, "PresenceValidated")
    [item] = event["payload"]["items"]
    assert (item["action_id"], item["beneficiary_id"], item["presence"]) == (past["action_id"], "b-1", "excusé")


async def test_pln07_planning_table_groups_diagnostic_slots_by_site_with_free_places(api):
    arm = await plan(api)
    await plan(api, advisor="kbenamar", site="LIL", starts_at="2025-01-15T14:00", ends_at="2025-01-15T15:00")
    await plan(api, step=3, starts_at="2025-01-14T13:00", ends_at="2025-01-14T16:00", max_participants=8)  # not étape 1
    await post(api, f"/actions/{arm['action_id']}/participants", {"beneficiary_id": "b-1"})

    table = (await api.request("GET", "planning", "/planning-table", params={"from": "2025-01-13", "to": "2025-01-19"})).json()
    assert [(s["name"], [a["free_places"] for a in s["actions"]]) for s in table["sites"]] == [
        ("Armentières", [0]), ("Lille Liberté", [1])]
    only = (await api.request("GET", "planning", "/planning-table",
                              params={"from": "2025-01-13", "to": "2025-01-19", "advisor": "kbenamar"})).json()
    assert [s["site"] for s in only["sites"]] == ["LIL"]
    too_long = await api.request("GET", "planning", "/planning-table", params={"from": "2025-01-01", "to": "2025-02-01"})
    assert too_long.status_code == 422
    assert too_long.json()["messages"] == ["Période de 32 jours : la planification couvre 31 jours au plus."]
    far = await api.request("GET", "planning", "/planning-table/export.csv", params={"from": "9999-12-31", "to": "9999-12-31"})
    assert far.status_code == 422  # was a 500: the next day's bound overflowed (found by the fuzz test)
    assert far.json()["messages"] == ["Date 31/12/9999 hors de la plage attendue (années 2000 à 2100)."]


async def test_pln05_two_bookings_of_the_last_place_at_once_one_wins(pg_api):
    """On the real PostgreSQL: the action's row lock serialises the two capacity checks."""
    action = (await pg_api.request("POST", "planning", "/actions", json=DIAG)).json()
    runtime = next(r for r in pg_api.embedded.runtimes if r.name == "planning")
    for round_ in range(5):
        results = await asyncio.gather(*[
            agenda.add_participant(agenda.AddParticipant(action["action_id"], f"b-{round_}-{i}"), runtime.uow_factory())
            for i in range(2)], return_exceptions=True)
        wins = [r for r in results if isinstance(r, dict) and r["added"]]
        losses = [r for r in results if isinstance(r, Exception)]
        assert len(wins) == 1 and len(losses) == 1
        assert "complète" in losses[0].messages[0]
        detail = (await pg_api.request("GET", "planning", f"/actions/{action['action_id']}")).json()
        assert detail["participants"] == 1
        winner = detail["participant_list"][0]["beneficiary_id"]
        await pg_api.request("DELETE", "planning", f"/actions/{action['action_id']}/participants/{winner}")


async def test_pln07_exports_through_the_api_read_back(api):
    import csv
    import io

    from openpyxl import load_workbook

    taken = await plan(api)
    await plan(api, advisor="kbenamar", site="LIL", starts_at="2025-01-15T14:00", ends_at="2025-01-15T15:00")
    await post(api, f"/actions/{taken['action_id']}/participants", {"beneficiary_id": "b-1"})
    week = {"from": "2025-01-13", "to": "2025-01-19"}
    response = await api.request("GET", "planning", "/planning-table/export.csv", params=week)
    assert response.headers["content-disposition"].endswith('planification_2025-01-13_2025-01-19.csv"')
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert rows[1:] == [["2024-FT-ACR-0042", "12", "45 BOULEVARD DE LA LIBERTE 59000 LILLE", "Présentiel",
                         "15/01/2025", "14:00", "15:00", "1"]]  # the full slot is not offered
    book = load_workbook(io.BytesIO((await api.request("GET", "planning", "/planning-table/export.xlsx",
                                                       params=week)).content))
    assert book.sheetnames == ["Armentières", "Lille Liberté"]
    assert book["Armentières"].cell(2, 6).value == 0
    too_long = await api.request("GET", "planning", "/planning-table/export.csv",
                                 params={"from": "2025-01-01", "to": "2025-03-01"})
    assert too_long.status_code == 422
