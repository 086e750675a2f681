"""Importing the Prest@ppli lists through importer's API, every service in-process, on SQLite and
the real PostgreSQL (IMP-01..IMP-08, X-03, X-04)."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from prestaflow import referential
from prestaflow.client import Api
from servicekit import crypto
from servicekit.clock import FixedClock

from importer.adapters.orm import import_progress
from importer.adapters.staged import StagedPeople

from cluster import SAMPLES
from scans import database_text

J10, J2 = SAMPLES / "liste_inscrits_J-10.csv", SAMPLES / "liste_inscrits_J-2.csv"
ETIENNE = ("ÉTIENNE", "François", "4567890D", "+33320112233")


async def upload(api, name: str, data: bytes, **form) -> tuple[int, dict]:
    response = await api.request("POST", "importer", "/imports", files={"file": (name, data)},
                                 data={"resource": "ACR2025-L12"} | form)
    return response.status_code, response.json()


async def items(api, service: str, event_type: str) -> list[dict]:
    """The items of every ``event_type`` event ``service`` emitted, in order, without their version."""
    log = (await api.request("GET", service, "/admin/events")).json()
    return [{k: v for k, v in item.items() if k != "version"}
            for e in log if e["envelope"]["type"] == event_type for item in e["envelope"]["payload"]["items"]]


async def state(api) -> dict:
    """Everything an import may change, to prove a refused one changed nothing."""
    people = (await api.request("GET", "importer", "/beneficiaries")).json()
    actions = (await api.request("GET", "planning", "/actions")).json()
    events = {r.name: len((await api.request("GET", r.name, "/admin/events")).json()) for r in api.embedded.runtimes}
    return {"people": people, "actions": actions, "events": events}


async def test_imp04_imp05_j10_creates_records_and_attaches_appointments(api):
    planned = (await api.request("POST", "planning", "/actions", json={
        "advisor": "cdurand", "site": "ARM", "starts_at": "2025-01-14T09:00", "ends_at": "2025-01-14T10:00",
        "ods": "ACR2025", "step": 1, "resource": "ACR2025-L12"})).json()
    status, report = await upload(api, J10.name, J10.read_bytes())
    assert status == 200 and report["status"] == "imported" and report["list_kind"] == "J-10"
    assert report["counts"] | {} == {"read": 7, "created": 6, "updated": 0, "unchanged": 0, "confirmed": 0,
                                      "not_confirmed": 0, "cancelled": 0, "skipped": 1, "errors": 0}
    people = {p["ft_id"]: p for p in (await api.request("GET", "importer", "/beneficiaries")).json()}
    assert "7890123G" not in people  # another provider's row (SIRET), never imported
    lea = people["1234567A"]
    assert (lea["civility"], lea["last_name"], lea["first_name"], lea["birth_date"], lea["email"], lea["phone"]) == (
        "Mme", "DUPONT", "Léa", "1988-05-23", "lea.dupont@example.org", "+33612345678")
    [enrolment] = lea["enrolments"]
    assert (enrolment["order_number"], enrolment["agency_code"], enrolment["prescriber_name"], enrolment["project"],
            enrolment["virtual_office_access"], enrolment["site_code"]) == (
        None, "59123", "MARTIN Paul", "Activ'Créa 2025", True, "ARM")

    actions = {(a["site"], a["starts_at"]): a for a in (await api.request("GET", "planning", "/actions")).json()}
    joined = actions[("ARM", "2025-01-14T09:00:00+01:00")]
    assert joined["action_id"] == planned["action_id"] and joined["participants"] == 1  # the planned slot
    created = actions[("ARM", "2025-01-14T10:00:00+01:00")]
    assert created["to_assign"] and created["advisor"] is None and created["participants"] == 1  # AFF-01
    remote = actions[("DIST", "2025-01-15T11:00:00+01:00")]
    assert remote["mode"] == "remote" and remote["to_assign"]
    assert sum(a["participants"] for a in actions.values()) == 6


async def test_imp06_j2_confirms_and_the_unconfirmed_record_is_purged_five_days_later(tmp_path, pg_settings):
    clock = FixedClock(datetime(2025, 1, 12, 18, 0, tzinfo=UTC))
    async with Api(pg_settings, clock=clock) as api:
        await referential.load(api, SAMPLES / "referentiel.yaml")
        await upload(api, J10.name, J10.read_bytes())
        clock.at += timedelta(minutes=5)
        status, report = await upload(api, J2.name, J2.read_bytes())
        assert report["list_kind"] == "J-2"
        assert (report["counts"]["confirmed"], report["counts"]["not_confirmed"]) == (4, 1)
        changes = {d["beneficiary"]: d["change"] for d in report["differences"]}
        assert changes == {"DUPONT Léa": "confirmé", "N'DIAYE Moussa": "confirmé",
                           "LEFEBVRE-HERMAN Anne-Sophie": "confirmé", "ÉTIENNE François": "non confirmé",
                           "KOWALSKI Piotr": "confirmé"}
        people = {p["ft_id"]: p for p in (await api.request("GET", "importer", "/beneficiaries")).json()}
        assert people["1234567A"]["enrolments"][0]["order_number"] == "BDC-2025-000101"
        assert people["1234567A"]["enrolments"][0]["registration"]["status"] == "confirmed"
        etienne = people["4567890D"]
        assert not etienne["active"] and etienne["purge_on"] == "2025-01-17"

        slot = next(a for a in (await api.request("GET", "planning", "/actions")).json()
                    if a["starts_at"] == "2025-01-15T09:30:00+01:00")
        assert slot["participants"] == 0  # removed from the appointment
        removed = await items(api, "planning", "ParticipantRemoved")
        assert removed == [{"action_id": slot["action_id"], "beneficiary_id": etienne["id"],
                            "reason": "Non confirmé à J-2"}]

        clock.at += timedelta(days=4)
        assert (await api.request("POST", "importer", "/purge")).json() == {"purged": []}
        clock.at += timedelta(days=1)
        assert (await api.request("POST", "importer", "/purge")).json() == {"purged": [etienne["id"]]}

        # nothing identifies him any more, in any service's database or in the readable log.
        for runtime in api.embedded.runtimes:
            text = await database_text(runtime.database.engine)
            for value in ETIENNE:
                assert value not in text, f"{value} still in {runtime.name}'s database"
        assert (await api.request("GET", "importer", f"/beneficiaries/{etienne['id']}/key")).status_code == 404
        sealed = [i["sealed"] for i in await items(api, "importer", "BeneficiaryRegistered")
                  if i["beneficiary_id"] == etienne["id"]]
        assert sealed
        with pytest.raises(crypto.KeyDestroyed):
            crypto.unseal(None, sealed[0])
        history = (await api.request("GET", "importer", "/imports")).json()
        assert [h["counts"]["not_confirmed"] for h in history] == [1, 0]  # anonymous counts stay
        lea = next(p for p in (await api.request("GET", "importer", "/beneficiaries")).json() if p["ft_id"] == "1234567A")
        assert lea["active"]  # confirmed people are untouched



async def test_imp07_the_same_file_uploaded_twice_at_once_is_imported_once(api):
    """A double click: two uploads of one file run together. Imports take turns (an advisory lock on
    PostgreSQL, the write lock on SQLite), so the second finds the first in the history."""
    (first, one), (second, other) = await asyncio.gather(upload(api, J10.name, J10.read_bytes()),
                                                         upload(api, J10.name, J10.read_bytes()))
    assert (first, second) == (200, 200), (one, other)
    assert sorted([one["status"], other["status"]]) == ["already_imported", "imported"]
    people = (await api.request("GET", "importer", "/beneficiaries")).json()
    assert len(people) == 6 and sum(len(p["enrolments"]) for p in people) == 6
    actions = (await api.request("GET", "planning", "/actions")).json()
    assert sum(a["participants"] for a in actions) == 6


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_imp06_purges_running_together_purge_each_record_once(backend, sqlite_settings, pg_settings):
    """The hourly purge and a purge asked by hand at the same moment: each record is purged and
    announced (BeneficiaryPurged) once."""
    clock = FixedClock(datetime(2025, 1, 12, 18, 0, tzinfo=UTC))
    async with Api(sqlite_settings if backend == "sqlite" else pg_settings, clock=clock) as api:
        await referential.load(api, SAMPLES / "referentiel.yaml")
        await upload(api, J10.name, J10.read_bytes())
        clock.at += timedelta(minutes=5)
        await upload(api, J2.name, J2.read_bytes())
        clock.at += timedelta(days=5)
        answers = await asyncio.gather(*(api.request("POST", "importer", "/purge") for _ in range(3)))
        purged = [b for a in answers for b in a.json()["purged"]]
        etienne = next(p for p in (await api.request("GET", "importer", "/beneficiaries")).json() if p["purged_at"])
        assert purged == [etienne["id"]]
        announced = [e for e in (await api.request("GET", "importer", "/admin/events")).json()
                     if e["envelope"]["type"] == "BeneficiaryPurged"]
        assert len(announced) == 1  # the purges that found nothing announced nothing
        assert [i["beneficiary_id"] for i in await items(api, "importer", "BeneficiaryPurged")] == [etienne["id"]]


async def test_imp07_the_same_file_twice_changes_nothing_and_says_so(api):
    await upload(api, J10.name, J10.read_bytes())
    before = await state(api)
    status, report = await upload(api, "copie.csv", J10.read_bytes())
    assert status == 200 and report["status"] == "already_imported"
    assert "Fichier déjà importé" in report["messages"][0]["message"]
    assert await state(api) == before
    # Same rows, another encoding: a different file, but every row is already there.
    status, report = await upload(api, "resaved.csv", J10.read_bytes().decode("cp1252").encode("utf-8-sig"))
    assert report["status"] == "imported" and report["counts"]["unchanged"] == 6 and report["counts"]["created"] == 0
    after = await state(api)
    assert after["people"] == before["people"] and after["actions"] == before["actions"]


async def test_imp07_a_new_order_number_for_the_same_person_opens_a_second_enrolment(api):
    await upload(api, J10.name, J10.read_bytes())
    await upload(api, J2.name, J2.read_bytes())
    text = J2.read_bytes().decode("cp1252")
    second = text.replace("BDC-2025-000101", "BDC-2025-000999").replace("14/01/2025 09:00", "21/01/2025 09:00")
    second = second.replace("12/01/2025;Inscrit;Mme;23/05/1988", "19/01/2025;Inscrit;Mme;23/05/1988")
    status, report = await upload(api, "second.csv", second.encode("cp1252"), kind="J-2")
    assert status == 200, report
    lea = next(p for p in (await api.request("GET", "importer", "/beneficiaries")).json() if p["ft_id"] == "1234567A")
    assert sorted(e["order_number"] for e in lea["enrolments"]) == ["BDC-2025-000101", "BDC-2025-000999"]


@pytest.mark.parametrize("case", ["market", "empty", "not_csv", "header", "resource"])
async def test_imp02_file_level_errors_import_nothing(api, case):
    text = J10.read_bytes().decode("cp1252")
    header = text.splitlines()[0]
    data, resource, expected = {
        "market": (text.replace("2024-FT-ACR-0042", "2023-FT-XXX-0001").encode("cp1252"), "ACR2025-L12",
                   "Référence du marché incorrecte : le fichier porte « 2023-FT-XXX-0001 », la ressource « ACR2025-L12 » "
                   "a le marché « 2024-FT-ACR-0042 »."),
        "empty": ((header + "\r\n").encode("cp1252"), "ACR2025-L12", "Fichier vide : aucune inscription après l'en-tête."),
        "not_csv": (b"%PDF-1.7\n\x00\x01binary", "ACR2025-L12", "n'est pas un export CSV de Prest@ppli"),
        "header": (text.replace("Code postal", "CP", 1).encode("cp1252"), "ACR2025-L12", "« Code postal »"),
        "resource": (J10.read_bytes(), "NOPE", "Ressource « NOPE » inconnue."),
    }[case]
    before = await state(api)
    status, report = await upload(api, f"{case}.csv", data, resource=resource)
    assert status == 422 and report["status"] == "refused"
    assert any(expected in m["message"] for m in report["messages"]), report["messages"]
    after = await state(api)
    assert after["people"] == before["people"] and after["actions"] == before["actions"]
    assert after["events"] == before["events"]


async def test_imp03_unknown_address_refuses_the_file_by_default_or_imports_the_rest_in_partial_mode(api):
    lines = J10.read_bytes().decode("cp1252").splitlines()
    lines[1] = lines[1].replace("12 RUE DE LILLE 59280 ARMENTIERES", "12 rue de Lille  59280 Armentières.")  # same site
    lines[2] = lines[2].replace("12 RUE DE LILLE 59280 ARMENTIERES", "7 RUE INCONNUE 59800 LILLE")
    data = "\r\n".join(lines).encode("cp1252")
    before = await state(api)
    status, report = await upload(api, "liste.csv", data)
    assert status == 422
    assert {"row": 3, "field": "Lieu RDV", "message": "Ligne 3 : adresse non reconnue : « 7 RUE INCONNUE 59800 LILLE ». "
            "Ajoutez exactement cette adresse aux adresses dans fichiers France Travail du site concerné."} in report["messages"]
    assert (await state(api))["people"] == before["people"]

    status, report = await upload(api, "liste.csv", data, partial="true")
    assert status == 200 and report["status"] == "imported"
    assert (report["counts"]["created"], report["counts"]["errors"], report["counts"]["skipped"]) == (5, 1, 1)
    assert [m["row"] for m in report["messages"]] == [3]


async def test_imp08_history_keeps_file_hash_ressource_user_counts_and_messages(api):
    await upload(api, J10.name, J10.read_bytes(), user="mpetit")
    await upload(api, "adresse.csv", (SAMPLES / "liste_inscrits_adresse_inconnue.csv").read_bytes(), user="mpetit")
    history = (await api.request("GET", "importer", "/imports")).json()
    refused, imported = history
    # SEC-04: the user is the authenticated caller (here the embedded local administrator), not the form's field
    assert (imported["file_name"], imported["resource"], imported["user"], imported["status"]) == (
        J10.name, "ACR2025-L12", "administrateur-local", "imported")
    assert len(imported["sha256"]) == 64 and imported["counts"]["created"] == 6
    assert refused["status"] == "refused" and refused["messages"][-1]["row"] == 2
    [event] = [e["envelope"] for e in (await api.request("GET", "importer", "/admin/events")).json()
               if e["envelope"]["type"] == "InscritsImported"]
    assert event["payload"]["counts"] == imported["counts"]


async def test_desinscrit_row_removes_the_participant(api):
    await upload(api, J10.name, J10.read_bytes())
    lines = J10.read_bytes().decode("cp1252").splitlines()
    cancelled = "\r\n".join([lines[0], lines[1].replace(";Inscrit;", ";Désinscrit;")]).encode("cp1252")
    status, report = await upload(api, "desinscription.csv", cancelled)
    assert report["counts"]["cancelled"] == 1
    slot = next(a for a in (await api.request("GET", "planning", "/actions")).json()
                if a["starts_at"] == "2025-01-14T09:00:00+01:00")
    assert slot["participants"] == 0


async def test_imp06_an_appointment_moved_between_j10_and_j2_follows_in_planning(api):
    await upload(api, J10.name, J10.read_bytes())
    moved = J2.read_bytes().decode("cp1252").replace("14/01/2025 09:00;12 RUE DE LILLE", "14/01/2025 11:00;12 RUE DE LILLE")
    status, report = await upload(api, "j2-moved.csv", moved.encode("cp1252"))
    changes = [(d["change"], d["beneficiary"], d["starts_at"][:16]) for d in report["differences"]
               if d["beneficiary"] == "DUPONT Léa"]
    assert changes == [("déplacé", "DUPONT Léa", "2025-01-14T11:00"), ("confirmé", "DUPONT Léa", "2025-01-14T11:00")]
    slots = {a["starts_at"][:16]: a for a in (await api.request("GET", "planning", "/actions")).json()
             if a["site"] == "ARM"}
    assert slots["2025-01-14T09:00"]["participants"] == 0
    assert slots["2025-01-14T11:00"]["participants"] == 1


async def test_imp08_an_upload_reports_its_progress_while_the_import_runs(api, tmp_path, monkeypatch):
    from lists import generated_list

    from prestaflow.import_cli import upload as upload_list

    listing = tmp_path / "liste.csv"
    listing.write_bytes(generated_list(400))
    seen: list[tuple[int, int]] = []
    reported = asyncio.Event()
    flush = StagedPeople.flush

    runtime = next(r for r in api.embedded.runtimes if r.name == "importer")
    elsewhere: list[tuple[int, int]] = []

    async def flush_once_reported(self):
        # 400 rows are applied faster than the uploader polls: hold the import (its rows applied,
        # nothing written yet) until the uploader has seen its progress.
        await reported.wait()
        if runtime.database.engine.dialect.name == "postgresql":
            # Another replica reads the progress in the database, outside the import's transaction.
            async with runtime.database.sessions() as session:
                elsewhere.extend((r.done, r.total) for r in await session.execute(select(import_progress)))
        await flush(self)

    def progress(done: int, total: int) -> None:
        seen.append((done, total))
        reported.set()

    monkeypatch.setattr(StagedPeople, "flush", flush_once_reported)
    report = await upload_list(api, listing, "ACR2025-L12", False, None, "test", progress)
    assert report["counts"]["created"] == 400
    assert seen and all(total == 400 and 0 <= done < total for done, total in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    if runtime.database.engine.dialect.name == "postgresql":
        assert len(elsewhere) == 1 and elsewhere[0][1] == 400 and 0 <= elsewhere[0][0] < 400
        async with runtime.database.sessions() as session:
            assert (await session.execute(select(import_progress))).all() == []  # over: gone
    assert (await api.request("GET", "importer", "/imports/progress/whatever")).status_code == 404
