"""An import applies its rows in memory and writes them at the end (adapters/staged.py): rows that
interact within one list must give what applying them one by one gave, and an import must cost a
bounded number of statements whatever its size (IMP-04, IMP-06, IMP-07, IMP-08), on SQLite and
the real PostgreSQL."""

import json
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import event

from servicekit import crypto
from servicekit.faults import InjectedFault

from importer.domain.records import Identity

from cluster import SAMPLES

HEADER = (SAMPLES / "liste_inscrits_J-10.csv").read_bytes().decode("cp1252").splitlines()[0]
ARM, LILLE = "12 RUE DE LILLE 59280 ARMENTIERES", "45 BOULEVARD DE LA LIBERTE 59000 LILLE"
DAY = date(2025, 2, 3)
LEA = ("1234567A", "Mme", "DUPONT", "Léa", "06 12 34 56 78")
MOUSSA = ("2345678B", "M.", "N'DIAYE", "Moussa", "07 11 22 33 44")
ETIENNE = ("4567890D", "M.", "ÉTIENNE", "François", "03 20 11 22 33")
PIOTR = ("5678901E", "M.", "KOWALSKI", "Piotr", "06 55 44 33 22")
ZOE = ("6789012F", "Mme", "MARTIN", "Zoé", "06 01 02 03 04")


def line(person: tuple[str, ...], hour: int, *, order: str = "", status: str = "Inscrit", before: int = 10,
         place: str = ARM, day: date = DAY) -> str:
    ft_id, civility, last_name, first_name, phone = person
    received = day - timedelta(days=before)
    return ";".join((
        "2024-FT-ACR-0042", "12", "ACTIV'CREA", "BGE HAUTS-DE-FRANCE", "41234567800019", "Présentiel",
        f"{day:%d/%m/%Y} {hour:02d}:00", place, f"{received:%d/%m/%Y}", status, civility, "01/01/1980", "59000",
        last_name, first_name, ft_id, order, f"{ft_id.lower()}@example.org", phone, f"{received:%d/%m/%Y}",
        "59123 - MARTIN Paul", ""))


def listing(*lines: str) -> bytes:
    return ("\r\n".join((HEADER, *lines)) + "\r\n").encode("cp1252")


async def upload(api, data: bytes, name: str = "liste.csv", settle: bool = True, **form) -> dict:
    response = await api.request("POST", "importer", "/imports", settle=settle, files={"file": (name, data)},
                                 data={"resource": "ACR2025-L12"} | form)
    assert response.status_code == 200, response.text
    return response.json()


async def people(api) -> dict[str, dict]:
    return {p["ft_id"]: p for p in (await api.request("GET", "importer", "/beneficiaries")).json()}


async def events_of(api, batch_id: str) -> list[tuple[str, list[dict] | dict]]:
    """Importer's events of one import, in order (those emitted in the transaction of ``batch_id``):
    a list event's items (without their version), a whole event's payload."""
    log = [e["envelope"] for e in (await api.request("GET", "importer", "/admin/events")).json()]
    return [(e["type"], [{k: v for k, v in i.items() if k != "version"} for i in e["payload"]["items"]]
             if "items" in e["payload"] else e["payload"])
            for e in log if e["correlation_id"] == f"import-{batch_id}"]


def shape(emitted: list[tuple[str, list[dict] | dict]]) -> list[tuple[str, int | None]]:
    """Each event's type and how many items it has (None for a whole event)."""
    return [(t, len(p) if isinstance(p, list) else None) for t, p in emitted]


def changes(report: dict) -> list[tuple[int | None, str, str]]:
    return [(d["row"], d["change"], d["beneficiary"]) for d in report["differences"]]


def counts(**nonzero: int) -> dict[str, int]:
    return dict.fromkeys(("read", "created", "updated", "unchanged", "confirmed", "not_confirmed", "cancelled",
                          "skipped", "errors"), 0) | nonzero


async def test_imp07_the_same_person_twice_with_two_order_numbers_gets_two_enrolments(api):
    report = await upload(api, listing(line(LEA, 9, order="BDC-1", before=2), line(LEA, 14, order="BDC-2", before=2)))
    assert report["list_kind"] == "J-2"
    assert report["counts"] == counts(read=2, created=1, confirmed=2)
    assert changes(report) == [(2, "nouveau", "DUPONT Léa"), (2, "confirmé", "DUPONT Léa"),
                               (3, "nouveau", "DUPONT Léa"), (3, "confirmé", "DUPONT Léa")]
    lea = (await people(api))["1234567A"]
    enrolments = sorted(lea["enrolments"], key=lambda e: e["order_number"])
    assert [(e["order_number"], e["registration"]["order_number"], e["registration"]["status"],
             e["registration"]["starts_at"]) for e in enrolments] == [
        ("BDC-1", "BDC-1", "confirmed", "2025-02-03T08:00:00+00:00"),
        ("BDC-2", "BDC-2", "confirmed", "2025-02-03T13:00:00+00:00")]
    emitted = await events_of(api, report["batch_id"])
    assert shape(emitted) == [("BeneficiaryRegistered", 1), ("RegistrationRecorded", 2), ("ParticipantConfirmed", 2),
                              ("InscritsImported", None)]  # the second row found her: no second record
    registrations = {e["order_number"]: e["registration"]["id"] for e in lea["enrolments"]}
    assert [i["registration_id"] for i in emitted[1][1]] == [registrations["BDC-1"], registrations["BDC-2"]]
    assert [i["registration_id"] for i in emitted[2][1]] == [registrations["BDC-1"], registrations["BDC-2"]]


async def test_imp04_a_person_known_from_an_earlier_import_is_updated_and_her_open_enrolment_gets_the_order(api):
    first = await upload(api, listing(line(LEA, 9)), "j10.csv")
    assert first["counts"] == counts(read=1, created=1)
    moved_phone = LEA[:4] + ("06 99 99 99 99",)
    report = await upload(api, listing(line(moved_phone, 9, order="BDC-1", before=2)), "j2.csv")
    assert report["counts"] == counts(read=1, updated=1, confirmed=1)
    assert changes(report) == [(2, "confirmé", "DUPONT Léa")]
    lea = (await people(api))["1234567A"]
    assert (lea["phone"], lea["active"]) == ("+33699999999", True)
    [enrolment] = lea["enrolments"]
    assert (enrolment["order_number"], enrolment["agency_code"], enrolment["prescriber_name"]) == (
        "BDC-1", "59123", "MARTIN Paul")
    assert (enrolment["registration"]["status"], enrolment["registration"]["order_number"],
            enrolment["registration"]["batch_id"]) == ("confirmed", "BDC-1", first["batch_id"])
    emitted = await events_of(api, report["batch_id"])
    assert shape(emitted) == [("BeneficiaryRegistered", 1), ("ParticipantConfirmed", 1), ("InscritsImported", None)]
    key = (await api.request("GET", "importer", f"/beneficiaries/{lea['id']}/key")).json()["key"]
    assert crypto.unseal(key, emitted[0][1][0]["sealed"])["phone"] == "+33699999999"


async def test_desinscrit_row_cancels_a_registration_made_earlier_in_the_same_list(api):
    report = await upload(api, listing(line(LEA, 9), line(MOUSSA, 10), line(LEA, 9, status="Désinscrit")))
    assert report["counts"] == counts(read=3, created=2, cancelled=1)
    assert changes(report) == [(2, "nouveau", "DUPONT Léa"), (3, "nouveau", "N'DIAYE Moussa"),
                               (4, "désinscrit", "DUPONT Léa")]
    found = await people(api)
    [lea_enrolment] = found["1234567A"]["enrolments"]
    assert (lea_enrolment["registration"]["status"], lea_enrolment["registration"]["batch_id"]) == (
        "cancelled", report["batch_id"])
    assert found["2345678B"]["enrolments"][0]["registration"]["status"] == "registered"
    emitted = await events_of(api, report["batch_id"])
    # The cancellation comes after the registration it cancels, in the phase after every registration.
    assert shape(emitted) == [("BeneficiaryRegistered", 2), ("RegistrationRecorded", 2),
                              ("RegistrationCancelled", 1), ("InscritsImported", None)]
    assert [i["beneficiary_id"] for i in emitted[1][1]] == [found["1234567A"]["id"], found["2345678B"]["id"]]
    assert emitted[2][1] == [{"registration_id": lea_enrolment["registration"]["id"],
                              "beneficiary_id": found["1234567A"]["id"], "starts_at": "2025-02-03T08:00:00Z"}]


@pytest.mark.parametrize("desinscrit, cancelled", [
    (dict(place=LILLE), "BDC-2"),  # the row's site tells which
    (dict(place=ARM, order="BDC-1"), "BDC-1"),  # its order number too
    (dict(place=LILLE, order="BDC-1"), "BDC-1"),  # and the order number wins over the site
])
async def test_desinscrit_row_cancels_the_registration_at_its_site_or_order_when_two_share_the_time(
        api, desinscrit, cancelled):
    """One person with two registrations at the same time (two order numbers at two sites, IMP-07):
    a Désinscrit row cancels the one its order number, or else its site, names; the other stays."""
    first = await upload(api, listing(line(LEA, 9, order="BDC-1", place=ARM), line(LEA, 9, order="BDC-2", place=LILLE)),
                         "j10.csv")
    assert first["counts"] == counts(read=2, created=1)
    report = await upload(api, listing(line(LEA, 9, status="Désinscrit", **desinscrit)), "désinscrit.csv")
    assert report["counts"] == counts(read=1, cancelled=1)
    statuses = {e["order_number"]: (e["registration"]["status"], e["registration"]["site_code"])
                for e in (await people(api))["1234567A"]["enrolments"]}
    assert statuses == {"BDC-1": ("cancelled" if cancelled == "BDC-1" else "registered", "ARM"),
                        "BDC-2": ("cancelled" if cancelled == "BDC-2" else "registered", "LIL")}


async def test_imp06_a_j2_list_confirms_some_and_leaves_the_others_not_confirmed(api):
    j10 = await upload(api, listing(line(LEA, 9), line(MOUSSA, 10), line(ETIENNE, 11, place=LILLE),
                                    line(PIOTR, 9, order="BDC-P1"), line(PIOTR, 16, order="BDC-P2")), "j10.csv")
    assert j10["counts"] == counts(read=5, created=4)
    # Léa confirmed, Moussa without order number, Étienne absent, Piotr confirmed at 09:00 but
    # absent at 16:00 (he keeps a live registration), Zoé new and confirmed.
    report = await upload(api, listing(line(LEA, 9, order="BDC-L", before=2), line(MOUSSA, 10, before=2),
                                       line(PIOTR, 9, order="BDC-P1", before=2), line(ZOE, 12, order="BDC-Z", before=2)),
                          "j2.csv")
    assert report["list_kind"] == "J-2"
    assert report["counts"] == counts(read=4, created=1, updated=1, confirmed=3, not_confirmed=3)
    assert changes(report) == [
        (2, "confirmé", "DUPONT Léa"), (3, "non confirmé", "N'DIAYE Moussa"), (4, "confirmé", "KOWALSKI Piotr"),
        (5, "nouveau", "MARTIN Zoé"), (5, "confirmé", "MARTIN Zoé"),
        (None, "non confirmé", None), (None, "non confirmé", None)]
    assert [(d["site"], d["starts_at"]) for d in report["differences"][-2:]] == [
        ("LIL", "2025-02-03T11:00:00+01:00"), ("ARM", "2025-02-03T16:00:00+01:00")]

    found = await people(api)
    status = {(ft_id, e["order_number"]): e["registration"]["status"]
              for ft_id, p in found.items() for e in p["enrolments"]}
    assert status == {("1234567A", "BDC-L"): "confirmed", ("2345678B", None): "not_confirmed",
                      ("4567890D", None): "not_confirmed", ("5678901E", "BDC-P1"): "confirmed",
                      ("5678901E", "BDC-P2"): "not_confirmed", ("6789012F", "BDC-Z"): "confirmed"}
    purge_on = (datetime.fromisoformat(report["imported_at"]).date() + timedelta(days=5)).isoformat()
    assert {ft_id: (p["active"], p["purge_on"]) for ft_id, p in found.items()} == {
        "1234567A": (True, None), "2345678B": (False, purge_on), "4567890D": (False, purge_on),
        "5678901E": (True, None), "6789012F": (True, None)}

    emitted = await events_of(api, report["batch_id"])
    assert [(t, [i.get("reason") for i in p] if isinstance(p, list) else None) for t, p in emitted] == [
        ("BeneficiaryRegistered", [None]), ("RegistrationRecorded", [None]), ("ParticipantConfirmed", [None] * 3),
        ("ParticipantNotConfirmed", ["no_order_number", "absent_from_j2", "absent_from_j2"]),
        ("BeneficiaryDeactivated", [None, None]), ("InscritsImported", None)]
    ids = {ft_id: p["id"] for ft_id, p in found.items()}
    assert [i["beneficiary_id"] for i in emitted[2][1]] == [ids["1234567A"], ids["5678901E"], ids["6789012F"]]
    assert [i["beneficiary_id"] for i in emitted[3][1]] == [ids["2345678B"], ids["4567890D"], ids["5678901E"]]
    assert [i["beneficiary_id"] for i in emitted[4][1]] == [ids["2345678B"], ids["4567890D"]]

    # A deactivated person on a later list is active again, with the record he had; his enrolment
    # still waiting for an order number takes this one, its appointment moved and confirmed.
    again = await upload(api, listing(line(MOUSSA, 10, order="BDC-M", before=2, day=DAY + timedelta(days=7))),
                         "j2-suivante.csv")
    assert again["counts"] == counts(read=1, updated=1, confirmed=1)
    assert changes(again) == [(2, "déplacé", "N'DIAYE Moussa"), (2, "confirmé", "N'DIAYE Moussa")]
    moussa = (await people(api))["2345678B"]
    assert (moussa["id"], moussa["active"], moussa["purge_on"]) == (found["2345678B"]["id"], True, None)
    assert [(e["order_number"], e["registration"]["status"], e["registration"]["starts_at"])
            for e in moussa["enrolments"]] == [("BDC-M", "confirmed", "2025-02-10T09:00:00+00:00")]


def count_statements(api) -> list[str]:
    """Every statement importer's database runs from now on (one per executemany or COPY batch)."""
    runtime = next(r for r in api.embedded.runtimes if r.name == "importer")
    statements: list[str] = []
    event.listen(runtime.database.engine.sync_engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *args: statements.append(statement))
    return statements


async def test_imp04_imp06_an_import_runs_a_bounded_number_of_statements_whatever_its_size(api):
    """500 new rows, then a J-2 list confirming, updating and leaving out some of them: per-row SQL
    ran about nine statements a row."""
    team = [(f"{3000000 + n:07d}K", "Mme", f"NOM{n:03d}", "Prénom", f"06{n:08d}") for n in range(500)]
    days = [DAY + timedelta(days=n // 8) for n in range(500)]
    j10 = listing(*(line(p, 9 + n % 8, day=d) for n, (p, d) in enumerate(zip(team, days, strict=True))))
    statements = count_statements(api)
    report = await upload(api, j10, "j10.csv", settle=False)
    assert report["counts"] == counts(read=500, created=500)
    assert len(statements) <= 40, json.dumps(statements[:60], indent=1)

    # 400 of them on the J-2 list (349 with an order number, 51 without, 100 with a new phone), 100 absent.
    j2 = listing(*(line(p[:4] + ("07" + p[4][2:] if n % 5 == 0 else p[4],), 9 + n % 8, day=d, before=2,
                        order="" if n % 8 == 0 else f"BDC-{n:04d}")
                   for n, (p, d) in enumerate(zip(team, days, strict=True)) if n % 5 != 4))
    statements.clear()
    report = await upload(api, j2, "j2.csv", settle=False, kind="J-2")
    assert report["counts"] == counts(read=400, updated=349, confirmed=349, not_confirmed=151)
    assert len(statements) <= 40, json.dumps(statements[:60], indent=1)
    found = await people(api)
    assert sum(not p["active"] for p in found.values()) == 151
    assert sum(p["phone"].startswith("+337") for p in found.values()) == 100


async def test_imp04_imp06_a_large_list_is_a_handful_of_events_with_every_item_once(api):
    """2,500 rows: each kind of change is one run of items cut into events of at most 1,000, not an
    event (or four) per row; every record and registration is in exactly one item."""
    team = [(f"{4000000 + n:07d}K", "M.", f"NOM{n:04d}", "Prénom", f"06{n:08d}") for n in range(2500)]
    days = [DAY + timedelta(days=n // 8) for n in range(2500)]
    rows = list(enumerate(zip(team, days, strict=True)))
    j10 = await upload(api, listing(*(line(p, 9 + n % 8, day=d) for n, (p, d) in rows)), "j10.csv", settle=False)
    assert j10["counts"] == counts(read=2500, created=2500)
    emitted = await events_of(api, j10["batch_id"])
    assert shape(emitted) == [("BeneficiaryRegistered", 1000), ("BeneficiaryRegistered", 1000),
                              ("BeneficiaryRegistered", 500), ("RegistrationRecorded", 1000),
                              ("RegistrationRecorded", 1000), ("RegistrationRecorded", 500), ("InscritsImported", None)]
    found = await people(api)
    registered = [i["beneficiary_id"] for t, p in emitted if t == "BeneficiaryRegistered" for i in p]
    assert len(registered) == len(set(registered)) == 2500 and set(registered) == {p["id"] for p in found.values()}
    recorded = [i["registration_id"] for t, p in emitted if t == "RegistrationRecorded" for i in p]
    registrations = {p["enrolments"][0]["registration"]["id"]: p["id"] for p in found.values()}
    assert len(recorded) == len(set(recorded)) == 2500 and set(recorded) == set(registrations)
    # Each registration's item names its person, in the order of the list's rows.
    assert [i["beneficiary_id"] for t, p in emitted if t == "RegistrationRecorded" for i in p] == registered
    log = (await api.request("GET", "importer", "/admin/events")).json()
    assert [i["version"] for e in log if e["envelope"]["type"] == "BeneficiaryRegistered"
            for i in e["envelope"]["payload"]["items"]] == [1] * 2500  # stamped by servicekit at commit

    # The J-2 list confirms them all: three events of confirmations, nothing else but the report.
    j2 = await upload(api, listing(*(line(p, 9 + n % 8, day=d, before=2, order=f"BDC-{n:05d}") for n, (p, d) in rows)),
                      "j2.csv", settle=False, kind="J-2")
    assert j2["counts"] == counts(read=2500, updated=2500, confirmed=2500)
    emitted = await events_of(api, j2["batch_id"])
    assert shape(emitted) == [("ParticipantConfirmed", 1000), ("ParticipantConfirmed", 1000),
                              ("ParticipantConfirmed", 500), ("InscritsImported", None)]
    confirmed = [i["registration_id"] for _, p in emitted[:3] for i in p]
    assert len(confirmed) == len(set(confirmed)) == 2500 and set(confirmed) == set(registrations)


async def test_imp06_a_person_not_confirmed_then_confirmed_later_in_the_same_list_ends_confirmed(api):
    """Row 2 leaves Moussa without an order number (not confirmed, record deactivated); row 3 brings
    him back with one at another time. Phases alone would announce the confirmation before the
    refusal: what follows the deactivation goes in a second round, after it."""
    report = await upload(api, listing(line(MOUSSA, 10, before=2), line(MOUSSA, 14, order="BDC-M", before=2)),
                          kind="J-2")
    assert report["counts"] == counts(read=2, created=1, updated=1, confirmed=1, not_confirmed=1)
    emitted = await events_of(api, report["batch_id"])
    assert shape(emitted) == [
        ("BeneficiaryRegistered", 1), ("RegistrationRecorded", 1), ("ParticipantNotConfirmed", 1),
        ("BeneficiaryDeactivated", 1), ("BeneficiaryRegistered", 1), ("RegistrationRecorded", 1),
        ("ParticipantConfirmed", 1), ("InscritsImported", None)]
    moussa = (await people(api))["2345678B"]
    [enrolment] = moussa["enrolments"]
    assert (moussa["active"], moussa["purge_on"]) == (True, None)
    assert (enrolment["order_number"], enrolment["registration"]["status"],
            enrolment["registration"]["starts_at"]) == ("BDC-M", "confirmed", "2025-02-03T13:00:00+00:00")
    assert emitted[5][1][0]["moved_from"] == "2025-02-03T09:00:00Z"
    # Planning applied them in that order: he is in the 14:00 appointment, not in the 10:00 one.
    slots = {a["starts_at"][11:16]: a["participants"] for a in (await api.request("GET", "planning", "/actions")).json()
             if a["starts_at"].startswith("2025-02-03")}
    assert slots == {"10:00": 0, "14:00": 1}


async def test_imp07_an_import_failing_halfway_leaves_nothing_and_a_rerun_imports_once(api, tmp_path, monkeypatch):
    """The whole import is one transaction, and the halfway fault point still fires mid-list."""
    data = listing(*(line((f"{3100000 + n:07d}K", "M.", f"NOM{n}", "Prénom", f"06{n:08d}"), 9 + n % 8,
                          day=DAY + timedelta(days=n // 8)) for n in range(40)))
    faults = tmp_path / "faults.json"
    faults.write_text(json.dumps({"fail": ["importer.import.halfway"]}))
    monkeypatch.setenv("PRESTAFLOW_FAULTS_FILE", str(faults))
    with pytest.raises(InjectedFault):  # the in-process transport hands the server's error over
        await api.request("POST", "importer", "/imports", files={"file": ("liste.csv", data)},
                          data={"resource": "ACR2025-L12"})
    assert await people(api) == {}
    assert [e["envelope"]["type"] for e in (await api.request("GET", "importer", "/admin/events")).json()] == []

    faults.write_text("{}")
    report = await upload(api, data)
    assert report["counts"] == counts(read=40, created=40)
    assert len(await people(api)) == 40


async def test_imp04_staged_records_answer_like_the_database_before_and_after_their_flush(api):
    """What an import has not preloaded is loaded when asked for; what it changed is what later
    questions see, and exactly what ``flush`` writes in the transaction."""
    j10 = await upload(api, listing(line(LEA, 9), line(MOUSSA, 10, order="BDC-M")))
    runtime = next(r for r in api.embedded.runtimes if r.name == "importer")
    known = await people(api)
    lea_registration = known["1234567A"]["enrolments"][0]["registration"]
    async with runtime.uow_factory() as uow:
        staged = uow.staged_people()
        statements = count_statements(api)
        lea = await staged.by_ft_id("1234567A")  # not preloaded: loaded now, with her records
        assert (lea.id, lea.last_name) == (known["1234567A"]["id"], "DUPONT")
        assert await staged.by_ft_id(ZOE[0]) is None
        assert (await staged.enrolment_by_order("BDC-M")).beneficiary_id == known["2345678B"]["id"]
        assert [r.id for r in await staged.registrations_at(
            lea.id, "ACR2025-L12", datetime.fromisoformat("2025-02-03T09:00:00+01:00"))] == [lea_registration["id"]]
        loaded = len(statements)
        assert await staged.has_live_registration(lea.id)
        changed = await staged.update_registration(lea_registration["id"], status="not_confirmed")
        assert (changed.id, changed.status) == (lea_registration["id"], "not_confirmed")
        assert not await staged.has_live_registration(lea.id)
        zoe = await staged.create_beneficiary(Identity(ft_id=ZOE[0], civility="Mme", last_name="MARTIN",
                                                       first_name="Zoé", birth_date=date(1990, 1, 1),
                                                       postcode="59000", email=None, phone=None),
                                              datetime.fromisoformat(j10["imported_at"]))
        assert (await staged.by_ft_id(ZOE[0])).id == zoe.id and await staged.key(zoe.id)
        assert len(statements) == loaded  # answered from memory
        await staged.flush()
        await uow.commit()
    after = await people(api)
    assert after["1234567A"]["enrolments"][0]["registration"]["status"] == "not_confirmed"
    assert after[ZOE[0]]["id"] == zoe.id and after[ZOE[0]]["enrolments"] == []
    assert (await api.request("GET", "importer", f"/beneficiaries/{zoe.id}/key")).status_code == 200


@pytest.mark.parametrize("part_rows", [None, 1], ids=["one-part", "a-part-per-row"])
async def test_imp04_imp06_a_list_applied_in_parts_ends_as_applied_at_once(api, monkeypatch, part_rows):
    """The import applies a long list in parts of ``PART_ROWS`` rows (memory stays bounded), all in
    its one transaction: rows whose records an earlier part wrote (a person not confirmed then back
    with an order number, an absent J-10 registration found after the last part) give the same
    records, counts and per-person order of events as one part."""
    from importer.service_layer import imports

    await upload(api, listing(line(LEA, 9), line(MOUSSA, 10), line(ETIENNE, 11, place=LILLE)), "j10.csv")
    if part_rows:
        monkeypatch.setattr(imports, "PART_ROWS", part_rows)
    report = await upload(api, listing(line(LEA, 9, order="BDC-L", before=2), line(MOUSSA, 10, before=2),
                                       line(MOUSSA, 14, order="BDC-M", before=2),
                                       line(ZOE, 12, order="BDC-Z", before=2)), "j2.csv")
    assert report["counts"] == counts(read=4, created=1, updated=2, confirmed=3, not_confirmed=2)
    assert changes(report) == [
        (2, "confirmé", "DUPONT Léa"), (3, "non confirmé", "N'DIAYE Moussa"), (4, "déplacé", "N'DIAYE Moussa"),
        (4, "confirmé", "N'DIAYE Moussa"), (5, "nouveau", "MARTIN Zoé"), (5, "confirmé", "MARTIN Zoé"),
        (None, "non confirmé", None)]
    found = await people(api)
    assert {ft_id: (p["active"], [(e["order_number"], e["registration"]["status"]) for e in p["enrolments"]])
            for ft_id, p in found.items()} == {
        "1234567A": (True, [("BDC-L", "confirmed")]), "2345678B": (True, [("BDC-M", "confirmed")]),
        "4567890D": (False, [(None, "not_confirmed")]), "6789012F": (True, [("BDC-Z", "confirmed")])}
    by_person: dict[str, list[str]] = {}
    for event_type, items in await events_of(api, report["batch_id"]):
        for item in items if isinstance(items, list) else []:
            by_person.setdefault(item["beneficiary_id"], []).append(event_type)
    ids = {ft_id: p["id"] for ft_id, p in found.items()}
    assert by_person == {
        ids["1234567A"]: ["ParticipantConfirmed"],
        ids["2345678B"]: ["ParticipantNotConfirmed", "BeneficiaryDeactivated", "BeneficiaryRegistered",
                          "RegistrationRecorded", "ParticipantConfirmed"],
        ids["6789012F"]: ["BeneficiaryRegistered", "RegistrationRecorded", "ParticipantConfirmed"],
        ids["4567890D"]: ["ParticipantNotConfirmed", "BeneficiaryDeactivated"]}
    slots = {a["starts_at"][11:16]: a["participants"] for a in (await api.request("GET", "planning", "/actions")).json()
             if a["starts_at"].startswith("2025-02-03")}
    assert (slots["09:00"], slots["10:00"], slots["12:00"], slots["14:00"]) == (1, 0, 1, 1)
