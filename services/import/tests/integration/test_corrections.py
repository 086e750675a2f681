"""BEN-01: correcting a *fiche entrepreneur* through importer's API (PATCH /importer/beneficiaries/{id}),
every service in-process, on SQLite and the real PostgreSQL: values checked and normalised, the
history of who changed what (personal values sealed in the database), each consent's source and
date; a wrong value is refused with a French message naming the field, nothing changed."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from prestaflow import referential
from prestaflow.client import Api
from servicekit.clock import FixedClock

from importer.adapters.orm import beneficiary_changes

from cluster import SAMPLES
from scans import database_text

J10, J2 = SAMPLES / "liste_inscrits_J-10.csv", SAMPLES / "liste_inscrits_J-2.csv"


async def imported(api, path, ft_id: str) -> dict:
    """Import the list at ``path``; the record of ``ft_id`` after it."""
    response = await api.request("POST", "importer", "/imports", files={"file": (path.name, path.read_bytes())},
                                 data={"resource": "ACR2025-L12"})
    assert response.status_code == 200, response.text
    return next(p for p in (await api.request("GET", "importer", "/beneficiaries")).json() if p["ft_id"] == ft_id)


async def imported_lea(api) -> dict:
    return await imported(api, J10, "1234567A")


async def corrected_events(api) -> list[dict]:
    return [e["envelope"] for e in (await api.request("GET", "importer", "/admin/events")).json()
            if e["envelope"]["type"] == "BeneficiaryCorrected"]


def importer_runtime(api):
    return next(r for r in api.embedded.runtimes if r.name == "importer")


async def test_ben01_edit_normalises_records_the_history_and_the_consents_source(api):
    lea = await imported_lea(api)
    assert (lea["email_consent_source"], lea["sms_consent_source"], lea["email_consent_at"]) == (
        "prescription France Travail", "prescription France Travail", lea["created_at"])

    response = await api.request("PATCH", "importer", f"/beneficiaries/{lea['id']}", json={
        "civility": "mme", "email": " Lea.Nouvelle@Example.ORG ", "phone": "07 11 22 33 44", "birth_date": "23/05/1988",
        "address": "12 rue de la Paix, 59000 Lille", "accepts_sms": False})
    assert response.status_code == 200, response.text
    # Civilité and birth date were already these: only what really changed is recorded.
    assert response.json()["changed"] == ["address", "email", "phone", "accepts_sms"]

    record = (await api.request("GET", "importer", f"/beneficiaries/{lea['id']}")).json()
    assert (record["email"], record["phone"], record["address"], record["accepts_sms"], record["accepts_email"]) == (
        "lea.nouvelle@example.org", "+33711223344", "12 rue de la Paix, 59000 Lille", False, True)
    assert (record["sms_consent_source"], record["sms_consent_by"]) == ("personnel", "administrateur-local")
    assert record["sms_consent_at"] > lea["created_at"]
    assert (record["email_consent_source"], record["email_consent_by"]) == ("prescription France Travail", None)
    history = [(h["actor"], h["field"], h["old"], h["new"]) for h in record["history"]]
    assert history == [("administrateur-local", "address", None, "12 rue de la Paix, 59000 Lille"),
                       ("administrateur-local", "email", "lea.dupont@example.org", "lea.nouvelle@example.org"),
                       ("administrateur-local", "phone", "+33612345678", "+33711223344"),
                       ("administrateur-local", "accepts_sms", "oui", "non")]

    # In the database the personal values are sealed with the person's key; the consents are not.
    async with importer_runtime(api).database.sessions() as session:
        rows = (await session.execute(select(beneficiary_changes))).mappings().all()
    stored = " ".join(f"{r['old_value']} {r['new_value']}" for r in rows)
    assert "lea.dupont@example.org" not in stored and "nouvelle" not in stored and "Paix" not in stored
    assert {(r["field"], r["sealed"]) for r in rows} == {("address", True), ("email", True), ("phone", True),
                                                          ("accepts_sms", False)}

    [event] = await corrected_events(api)
    [item] = event["payload"]["items"]
    assert item["changed"] == ["address", "email", "phone", "accepts_sms"]
    assert (item["sms"]["accepted"], item["sms"]["source"], item["email"]["source"]) == (
        False, "personnel", "prescription France Travail")

    # The same values again: nothing changes, no history, no event.
    again = await api.request("PATCH", "importer", f"/beneficiaries/{lea['id']}", json={"phone": "+33711223344"})
    assert again.json()["changed"] == [] and len(await corrected_events(api)) == 1
    assert len((await api.request("GET", "importer", f"/beneficiaries/{lea['id']}")).json()["history"]) == 4


async def test_ben01_wrong_values_are_refused_with_the_field_named_and_nothing_changes(api):
    lea = await imported_lea(api)
    response = await api.request("PATCH", "importer", f"/beneficiaries/{lea['id']}", json={
        "email": "pas-une-adresse", "phone": "12 34", "last_name": "DURAND", "postcode": "59-000",
        "birth_date": "31/02/1988"})
    assert response.status_code == 422
    messages = response.json()["messages"]
    assert [m.split(" : ")[0] for m in messages] == ["Date de naissance", "Code postal", "E-mail", "Téléphone"]
    assert any("« pas-une-adresse » n'est pas une adresse e-mail valide" in m for m in messages)

    emptied = await api.request("PATCH", "importer", f"/beneficiaries/{lea['id']}", json={"last_name": " "})
    assert emptied.status_code == 422 and emptied.json()["messages"] == [
        "Nom : valeur obligatoire, elle ne peut pas être vidée."]
    unknown = await api.request("PATCH", "importer", f"/beneficiaries/{lea['id']}", json={"ft_id": "9999999Z"})
    assert unknown.status_code == 422

    record = (await api.request("GET", "importer", f"/beneficiaries/{lea['id']}")).json()
    assert (record["last_name"], record["email"], record["phone"], record["history"]) == (
        "DUPONT", "lea.dupont@example.org", "+33612345678", [])
    assert await corrected_events(api) == []

    missing = await api.request("PATCH", "importer", "/beneficiaries/inconnu", json={"email": "a@example.org"})
    assert missing.status_code == 404 and "introuvable" in missing.json()["messages"][0]


async def test_ben01_a_later_list_keeps_what_staff_corrected(api):
    """The list still has the old e-mail: the corrected one stays; what staff did not correct follows the list."""
    lea = await imported_lea(api)
    response = await api.request("PATCH", "importer", f"/beneficiaries/{lea['id']}",
                                 json={"email": "lea.martin@example.org"})
    assert response.status_code == 200
    again = J10.read_bytes().replace(b"06 12 34 56 78", b"07 99 88 77 66")  # a new phone number in the list
    response = await api.request("POST", "importer", "/imports", files={"file": ("liste2.csv", again)},
                                 data={"resource": "ACR2025-L12"})
    assert response.status_code == 200 and response.json()["status"] == "imported", response.text
    record = (await api.request("GET", "importer", f"/beneficiaries/{lea['id']}")).json()
    assert (record["email"], record["phone"]) == ("lea.martin@example.org", "+33799887766")


RIGHTS_YAML = """
profiles:
  - {code: LECTURE-LIL, name: Lecture Lille, rights: {import: lecture}, antennes: [LILLE]}
  - {code: IMPORT-DOU, name: Import Douaisis, rights: {import: écriture}, antennes: [DOUAISIS]}
users:
  - {code: sub-lecture, profiles: [LECTURE-LIL]}
  - {code: sub-douaisis, profiles: [IMPORT-DOU]}
"""


async def test_ben01_correcting_needs_the_import_write_right_on_the_persons_antenne(sqlite_settings, tmp_path):
    from prestaflow import referential
    from prestaflow.client import AccessRefused, Api

    with_rights = tmp_path / "referentiel.yaml"
    with_rights.write_text((SAMPLES / "referentiel.yaml").read_text(encoding="utf-8") + RIGHTS_YAML, encoding="utf-8")
    async with Api(sqlite_settings) as api:
        await referential.load(api, with_rights)
        lea = await imported_lea(api)
    path, body = f"/beneficiaries/{lea['id']}", {"email": "autre@example.org"}
    async with Api(sqlite_settings, user="sub-lecture") as reader:  # Lille, read only: 403
        try:
            await reader.request("PATCH", "importer", path, json=body)
            raise AssertionError("PATCH answered")
        except AccessRefused as refused:
            assert refused.status == 403 and "écriture" in refused.messages[0]
    async with Api(sqlite_settings, user="sub-douaisis") as other:  # another antenne: as if it did not exist
        response = await other.request("PATCH", "importer", path, json=body)
        assert response.status_code == 404
    async with Api(sqlite_settings) as api:
        record = (await api.request("GET", "importer", path)).json()
        assert (record["email"], record["history"]) == ("lea.dupont@example.org", [])


async def test_ben01_x04_a_purge_leaves_nothing_readable_of_the_corrections(pg_settings):
    """Étienne's record corrected, then not confirmed at J-2 and purged: the corrected values are gone
    from every database, the history keeps who changed which field, when, without the values."""
    clock = FixedClock(datetime(2025, 1, 12, 18, 0, tzinfo=UTC))
    async with Api(pg_settings, clock=clock) as api:
        await referential.load(api, SAMPLES / "referentiel.yaml")
        etienne = await imported(api, J10, "4567890D")
        response = await api.request("PATCH", "importer", f"/beneficiaries/{etienne['id']}", json={
            "email": "francois.etienne.nouveau@example.org", "address": "7 impasse des Tilleuls"})
        assert response.status_code == 200, response.text
        clock.at += timedelta(minutes=5)
        assert not (await imported(api, J2, "4567890D"))["active"]  # not confirmed at J-2
        clock.at += timedelta(days=5)
        assert (await api.request("POST", "importer", "/purge")).json() == {"purged": [etienne["id"]]}

        for runtime in api.embedded.runtimes:
            text = await database_text(runtime.database.engine)
            for value in ("francois.etienne.nouveau", "Tilleuls"):
                assert value not in text, f"{value} still in {runtime.name}'s database"
        history = (await api.request("GET", "importer", f"/beneficiaries/{etienne['id']}")).json()["history"]
        assert [(h["field"], h["old"], h["new"]) for h in history] == [("address", None, None), ("email", None, None)]
