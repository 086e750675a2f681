"""BEN-03 *doublons* in importer: an import reports them (same identifiant France Travail, or same name,
first name and birth date compared normalised), never merges them; staff list them and merge two records;
refusals leave everything as it was."""

from datetime import UTC, date, datetime

from sqlalchemy import insert, select, update

from importer.adapters import orm
from importer.adapters.identity import IdentitySecret
from importer.service_layer.duplicates import find_duplicates

from doublons import J10, MOUSSA_AGAIN, doublon_list, row, upload


def importer(api):
    return next(r for r in api.embedded.runtimes if r.name == "importer")


async def people(api) -> dict[str, dict]:
    return {p["ft_id"]: p for p in (await api.request("GET", "importer", "/beneficiaries")).json()}


async def test_ben03_import_reports_same_name_first_name_and_birth_date_never_merges(api):
    await upload(api, J10.name, J10.read_bytes())
    moussa = (await people(api))["2345678B"]
    # The same person twice more in one list: under a new identifiant, and again under a third one.
    report = await upload(api, "doublons.csv", doublon_list(
        MOUSSA_AGAIN, row(last_name="NDIAYE", ft_id="7777777K", starts_at="17/01/2025 10:00")))
    assert report["counts"]["created"] == 2
    found = await people(api)
    again, third = found["8888888H"], found["7777777K"]
    assert again["active"] and third["active"] and moussa["id"] != again["id"]  # reported, not merged
    messages = [m for m in report["messages"] if m["field"] == "Doublon"]
    assert [m["row"] for m in messages] == [2, 3, 3]
    assert messages[0]["message"] == (
        f"Ligne 2 : la fiche {again['id']} est un doublon probable de la fiche {moussa['id']} (mêmes nom, prénom et "
        f"date de naissance) : signalé, rien n'a été fusionné. Si c'est la même personne : prestaflow beneficiary "
        f"merge {moussa['id']} {again['id']}.")
    assert {moussa["id"], again["id"]} == {m["message"].split("fiche ")[2].split(" ")[0] for m in messages[1:]}
    assert "DIAYE" not in str(report["messages"]) and "8888888H" not in str(report["messages"])  # IMP-06
    # In the history as well.
    history = (await api.request("GET", "importer", f"/imports/{report['batch_id']}")).json()
    assert history["messages"] == report["messages"]
    # The blind indexes are stored, the names compared through them; the API never shows them.
    assert "identity_hash" not in again
    pairs = (await api.request("GET", "importer", "/beneficiaries/duplicates")).json()
    # Each pair once, the older record first (the two of the same import: either way round).
    assert sorted((p["keep"]["id"], p["other"]["id"], p["rules"]) for p in pairs[:2]) == sorted([
        (moussa["id"], again["id"], ["identity"]), (moussa["id"], third["id"], ["identity"])])
    assert {pairs[2]["keep"]["id"], pairs[2]["other"]["id"]} == {again["id"], third["id"]} and len(pairs) == 3


async def test_ben03_import_reports_same_identifiant_france_travail(pg_api):
    # A record entered before the lists were normalised: its identifiant in lower case, no blind index yet.
    runtime = importer(pg_api)
    async with runtime.database.sessions() as session, session.begin():
        await session.execute(insert(orm.beneficiaries).values(
            id="legacy-1", ft_id="9999999z", last_name="MARTIN", first_name="Claire", accepts_email=True,
            accepts_sms=True, created_by_import=False, active=True, created_at=datetime(2024, 6, 1, tzinfo=UTC)))
    report = await upload(pg_api, "liste.csv", doublon_list(row(ft_id="9999999Z", last_name="MARTIN-DURAND")))
    created = (await people(pg_api))["9999999Z"]
    [message] = [m for m in report["messages"] if m["field"] == "Doublon"]
    assert message["message"].startswith(f"Ligne 2 : la fiche {created['id']} est un doublon probable de la fiche "
                                         "legacy-1 (même identifiant France Travail)")
    async with runtime.database.sessions() as session:
        legacy = (await session.execute(select(orm.beneficiary_indexes).where(
            orm.beneficiary_indexes.c.beneficiary_id == "legacy-1"))).one()
    assert legacy.ft_id_hash and legacy.ft_id_hash == (await IdentitySecret(None, runtime.database.sessions).keys()
                                                       ).ft_id(" 9999999Z")
    # What a correction (BEN-01) calls: both rules at once, the record being corrected left out.
    async with runtime.uow_factory() as uow:
        keys = await IdentitySecret(None, runtime.database.sessions).keys()
        found = await find_duplicates(uow, keys, ft_id="9999 999Z", last_name="martin", first_name="CLAIRE",
                                      birth_date=None, beneficiary_id=created["id"])
    assert [(d.record_id, d.rules) for d in found] == [("legacy-1", ("ft_id",))]


async def test_ben03_a_later_list_with_a_merged_identifiant_goes_to_the_kept_record(pg_api):
    await upload(pg_api, J10.name, J10.read_bytes())
    await upload(pg_api, "doublons.csv", doublon_list(MOUSSA_AGAIN))
    found = await people(pg_api)
    kept, merged = found["2345678B"]["id"], found["8888888H"]["id"]
    answer = await pg_api.request("POST", "importer", f"/beneficiaries/{kept}/merge", json={"merged_id": merged})
    assert answer.status_code == 200 and answer.json()["changes"] == {"inscriptions (parcours)": 1,
                                                                      "rendez-vous importés": 1}
    after = await people(pg_api)
    assert (after["8888888H"]["active"], after["8888888H"]["merged_into"]) == (False, kept)
    assert len(after["2345678B"]["enrolments"]) == 2 and after["8888888H"]["enrolments"] == []
    assert (await pg_api.request("GET", "importer", "/beneficiaries/duplicates")).json() == []
    report = await upload(pg_api, "encore.csv", doublon_list(row(ft_id="8888888H", starts_at="20/01/2025 10:00")))
    assert report["counts"]["created"] == 0 and not [m for m in report["messages"] if m["field"] == "Doublon"]
    final = await people(pg_api)
    # The row went to the kept record (its open enrolment's appointment moved), the merged one stays inactive.
    starts = [e["registration"]["starts_at"][:10] for e in final["2345678B"]["enrolments"]]
    assert "2025-01-20" in starts and final["8888888H"]["active"] is False and final["8888888H"]["enrolments"] == []
    history = (await pg_api.request("GET", "importer", "/beneficiaries/merges")).json()
    assert [(m["kept_id"], m["merged_id"]) for m in history] == [(kept, merged)]


async def test_ben03_merge_refusals_change_nothing(pg_api):
    await upload(pg_api, J10.name, J10.read_bytes())
    await upload(pg_api, "doublons.csv", doublon_list(MOUSSA_AGAIN, row(ft_id="7777777K", starts_at="17/01/2025 10:00")))
    found = await people(pg_api)
    moussa, again, third = found["2345678B"]["id"], found["8888888H"]["id"], found["7777777K"]["id"]

    async def merge(keep: str, other: str):
        return await pg_api.request("POST", "importer", f"/beneficiaries/{keep}/merge", json={"merged_id": other})

    async def events() -> int:
        return len((await pg_api.request("GET", "importer", "/admin/events")).json())

    before = (await people(pg_api), await events())
    refused = await merge(moussa, moussa)
    assert refused.status_code == 422
    assert refused.json()["messages"] == [f"Impossible de fusionner la fiche {moussa} avec elle-même. "
                                          "Rien n'a été modifié."]
    unknown = await merge(moussa, "inconnu")
    assert unknown.status_code == 404 and "« inconnu » introuvable" in unknown.json()["messages"][0]
    assert (await people(pg_api), await events()) == before
    # A record waiting for its purge (IMP-06) is not the one to keep: the merged journeys would go with it.
    async with importer(pg_api).database.sessions() as session, session.begin():
        await session.execute(update(orm.beneficiaries).where(orm.beneficiaries.c.id == third).values(
            active=False, purge_on=date(2025, 1, 20)))
    to_purge = await merge(third, moussa)
    assert to_purge.status_code == 422 and to_purge.json()["messages"][0].startswith(
        f"La fiche à garder {third} est désactivée et sera purgée le 20/01/2025 : gardez plutôt la fiche {moussa}")
    before = (await people(pg_api), await events())

    assert (await merge(moussa, again)).status_code == 200
    after = (await people(pg_api), await events())
    twice = await merge(moussa, again)
    assert twice.status_code == 422 and twice.json()["messages"][0].startswith(
        f"La fiche à fusionner {again} est déjà fusionnée dans la fiche {moussa} (le ")
    into_merged = await merge(again, third)
    assert into_merged.status_code == 422 and f"La fiche à garder {again} est déjà fusionnée" in (
        into_merged.json()["messages"][0])
    assert (await people(pg_api), await events()) == after


async def test_ben03_a_correction_that_makes_a_doublon_reports_it_and_merges_nothing(pg_api):
    await upload(pg_api, J10.name, J10.read_bytes())
    found = await people(pg_api)
    lea, moussa = found["1234567A"]["id"], found["2345678B"]["id"]

    async def correct(**values) -> dict:
        answer = await pg_api.request("PATCH", "importer", f"/beneficiaries/{lea}", json=values)
        assert answer.status_code == 200, answer.json()
        return answer.json()

    assert (await correct(email="lea.martin@example.org"))["duplicates"] == []  # identity unchanged
    done = await correct(last_name="n'diaye", first_name="moussa", birth_date="02/11/1979")
    assert done["changed"] == ["last_name", "first_name", "birth_date"]
    assert done["duplicates"] == [
        f"La fiche {lea} est un doublon probable de la fiche {moussa} (mêmes nom, prénom et date de naissance) : "
        f"signalé, rien n'a été fusionné. Si c'est la même personne : prestaflow beneficiary merge {moussa} {lea}."]
    pairs = (await pg_api.request("GET", "importer", "/beneficiaries/duplicates")).json()
    assert [(p["keep"]["id"], p["other"]["id"]) for p in pairs] in ([(lea, moussa)], [(moussa, lea)])
    assert all(p["active"] for p in (await people(pg_api)).values())
