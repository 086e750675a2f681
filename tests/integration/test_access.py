"""SEC-01..SEC-03 across every service: each route declares its right, none answers without a token,
importer's keys answer services only."""

import json
import re

import httpx
import pytest

from servicekit import crypto
from servicekit.auth import (OPEN_PATHS, OidcAuthenticator, Public, StaticDirectory, WithAdministrators, api_routes,
                             declared_right, public_routes, routes_without_right)
from servicekit.logs import JsonFormatter
from servicekit.oidc_provider import LocalOpenIdProvider

from prestaflow.embedded import SERVICE_NAMES, Embedded


@pytest.fixture
def provider():
    with LocalOpenIdProvider() as p:
        yield p


def test_SEC_02_every_route_of_every_service_declares_its_right(sqlite_settings):
    """Fails on any route (of any service, or servicekit's admin routes) without ``right(...)``:
    add ``dependencies=[right("<module>", "read"|"write")]`` to the route."""
    app = Embedded(sqlite_settings, background_relays=False).app
    routes = api_routes(app.routes)
    assert routes_without_right(app.routes) == []
    # every service is there, each with its API and servicekit's admin routes
    for service in SERVICE_NAMES:
        assert any(r.path.startswith(f"/{service}/admin/") for r in routes), service
        assert sum(r.path.startswith(f"/{service}/") for r in routes) >= 5, service
    assert {r.path for r in routes if declared_right(r) is None} <= OPEN_PATHS
    # BEN-02: the one route opened without a token is the GDPR mail's personal link, declared public
    assert public_routes(app.routes) == ["GET /importer/rgpd/accord"]


def _sample_path(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


async def test_SEC_01_every_route_without_a_token_answers_401_and_health_stays_open(sqlite_settings, provider):
    auth = OidcAuthenticator(provider.issuer, provider.audience, provider.jwks_url, StaticDirectory({}),
                             jwks_cooldown=0)
    app = Embedded(sqlite_settings, background_relays=False, auth=lambda _directory: auth).app
    checked = 0
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        for route in api_routes(app.routes):
            if route.path in OPEN_PATHS or isinstance(declared_right(route), Public):
                continue  # health, metrics, and the public route (BEN-02, tested on its own)
            for method in route.methods:
                for headers in ({}, {"Authorization": "Bearer " + provider.token("x", aud="other")}):
                    response = await client.request(method, _sample_path(route.path), headers=headers)
                    assert response.status_code == 401, (method, route.path, response.text)
                    assert response.json() == {
                        "messages": ["Authentification requise : jeton d'accès absent, invalide ou expiré."]}
                    checked += 1
        assert (await client.get("/health/live")).status_code == 200
        assert (await client.get("/metrics")).status_code == 200
        assert (await client.get("/openapi.json")).status_code == 401
    assert checked > 100


async def _seed_people(embedded: Embedded) -> tuple[dict[str, str], str]:
    """Two records with their keys in importer: one kept, one due for purge. Their keys, and the
    id of the one due."""
    from datetime import UTC, date, datetime

    from sqlalchemy import insert

    from importer.adapters import orm

    importer = next(r for r in embedded.runtimes if r.name == "importer")
    keys = {"b-lea": crypto.new_key(), "b-etienne": crypto.new_key()}
    async with importer.database.sessions() as session, session.begin():
        for beneficiary_id, active in (("b-lea", True), ("b-etienne", False)):
            await session.execute(insert(orm.beneficiaries).values(
                id=beneficiary_id, created_by_import=True, active=active, created_at=datetime.now(UTC),
                purge_on=None if active else date(2025, 1, 17)))
            await session.execute(insert(orm.beneficiary_keys).values(beneficiary_id=beneficiary_id,
                                                                      key=keys[beneficiary_id]))
    return keys, "b-etienne"


async def test_SEC_03_importer_keys_answer_only_the_services_that_read_sealed_data(pg_settings, provider,
                                                                                  monkeypatch, caplog):
    """SEC-03: no person's token (not even an administrator's) opens importer's key endpoints; a
    service outside ``PRESTAFLOW_KEY_READERS`` (importer itself, by default) gets 403 in French; a key
    reader gets the keys asked, a purged person's never; who fetched how many is logged, no key."""
    clients = {"prestaflow-notify": "notify", "prestaflow-importer": "importer", "prestaflow-billing": "billing"}
    auth = OidcAuthenticator(provider.issuer, provider.audience, provider.jwks_url,
                             WithAdministrators(["admin"], StaticDirectory({})), services=clients, jwks_cooldown=0)
    embedded = Embedded(pg_settings, background_relays=False, auth=lambda _directory: auth)
    app = embedded.app
    async with app.router.lifespan_context(app):
        keys, due = await _seed_people(embedded)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            def bearer(token: str) -> dict[str, str]:
                return {"Authorization": "Bearer " + token}

            administrator = bearer(provider.token("admin"))  # every right, every antenne
            unknown_client = bearer(provider.service_token("someone-else"))
            for headers in (administrator, unknown_client):
                response = await client.post("/importer/beneficiaries/keys", json=["b-lea"], headers=headers)
                assert response.status_code == 403, response.text
                assert response.json()["messages"] == ["Accès refusé : réservé aux services de Prestaflow."]
                assert (await client.get("/importer/beneficiaries/b-lea/key", headers=headers)).status_code == 403
            # importer is a service (it asks planning for people's rights) but reads no key from its API
            importer = bearer(provider.service_token("prestaflow-importer"))
            for response in (await client.post("/importer/beneficiaries/keys", json=["b-lea"], headers=importer),
                             await client.get("/importer/beneficiaries/b-lea/key", headers=importer)):
                assert response.status_code == 403, response.text
                assert response.json()["messages"] == [
                    "Accès refusé : le service « importer » n'a pas le droit de lire les clés des bénéficiaires."]

            notify = bearer(provider.service_token("prestaflow-notify"))
            asked = ["b-lea", due, "b-unknown"]
            response = await client.post("/importer/beneficiaries/keys", json=asked, headers=notify)
            assert response.status_code == 200 and response.json() == {"b-lea": keys["b-lea"], due: keys[due]}
            assert (await client.post("/importer/purge", headers=administrator)).json() == {"purged": [due]}
            with caplog.at_level("INFO", logger="importer.keys"):
                response = await client.post("/importer/beneficiaries/keys", json=asked, headers=notify)
            assert response.json() == {"b-lea": keys["b-lea"]}  # the purged person's key is gone
            assert (await client.get(f"/importer/beneficiaries/{due}/key", headers=notify)).status_code == 404
            assert (await client.get("/importer/beneficiaries/b-lea/key", headers=notify)).json() == {
                "beneficiary_id": "b-lea", "key": keys["b-lea"]}
            served = [json.loads(JsonFormatter().format(r)) for r in caplog.records if r.name == "importer.keys"]
            assert [(line["service"], line["asked"], line["served"]) for line in served] == [("notify", 3, 1)]
            assert not any(key in json.dumps(served) for key in keys.values())

            # a service's token opens nothing else
            assert (await client.get("/importer/beneficiaries", headers=notify)).status_code == 403
            assert (await client.post("/importer/purge", headers=notify)).status_code == 403

            # the readers are the settings' (PRESTAFLOW_KEY_READERS), read at each call
            billing = bearer(provider.service_token("prestaflow-billing"))
            assert (await client.post("/importer/beneficiaries/keys", json=["b-lea"], headers=billing)).json() == {
                "b-lea": keys["b-lea"]}
            monkeypatch.setattr(embedded_settings(embedded), "key_readers", ["notify"])
            response = await client.post("/importer/beneficiaries/keys", json=["b-lea"], headers=billing)
            assert response.status_code == 403 and "« billing »" in response.json()["messages"][0]
            assert (await client.post("/importer/beneficiaries/keys", json=["b-lea"], headers=notify)).status_code == 200


def embedded_settings(embedded: Embedded):
    return next(r for r in embedded.runtimes if r.name == "importer").settings


def test_SEC_03_key_readers_default_to_the_deployments_consumers_of_sealed_data(monkeypatch):
    """The services deploy/ lets reach importer's keys (NetworkPolicy importer-keys-ingress) and the
    auditor's replay client; PRESTAFLOW_KEY_READERS narrows or widens them."""
    from importer.config import ImporterSettings

    monkeypatch.delenv("PRESTAFLOW_KEY_READERS", raising=False)
    assert ImporterSettings().key_readers == ["affectation", "billing", "notify", "planning", "replay"]
    monkeypatch.setenv("PRESTAFLOW_KEY_READERS", '["notify"]')
    assert ImporterSettings().key_readers == ["notify"]


PROFILES_YAML = """
profiles:
  - code: CONSEILLER-DOU
    name: Conseiller Douaisis
    rights: {planning: écriture, affectation: écriture, import: écriture}
    antennes: [DOUAISIS]
  - code: CONSEILLER-LIL
    name: Conseiller Lille
    rights: {planning: écriture, import: lecture}
    antennes: [LILLE]
  - code: ADMIN
    name: Administrateur
    rights: {administration: écriture, audit: lecture}
    antennes: toutes
users:
  - code: sub-dou
    advisor: kbenamar
    profiles: [CONSEILLER-DOU]
  - code: sub-lil
    advisor: cdurand
    profiles: [CONSEILLER-LIL]
  - code: sub-admin
    profiles: [ADMIN]
"""


async def test_SEC_02_rights_come_from_the_referentials_profiles_by_subject(sqlite_settings, tmp_path):
    from prestaflow import referential
    from prestaflow.client import AccessRefused, Api

    from cluster import SAMPLES

    with_profiles = tmp_path / "referentiel.yaml"
    with_profiles.write_text((SAMPLES / "referentiel.yaml").read_text(encoding="utf-8") + PROFILES_YAML,
                             encoding="utf-8")
    async with Api(sqlite_settings) as api:  # the local administrator loads it
        await referential.load(api, with_profiles)
    async with Api(sqlite_settings, user="sub-dou") as advisor:
        assert (await advisor.request("GET", "planning", "/actions")).status_code == 200
        assert (await advisor.request("GET", "importer", "/imports")).status_code == 200
        for method, service, path, module, access in [
                ("PUT", "planning", "/referential", "administration", "écriture"),  # only administrators
                ("GET", "billing", "/catalogue", "facturation", "lecture"),
                ("PUT", "notify", "/setup", "notifications", "écriture"),
                ("GET", "planning", "/admin/events", "audit", "lecture")]:
            try:
                await advisor.request(method, service, path, json={})
                raise AssertionError(f"{method} {path} answered")
            except AccessRefused as refused:
                assert refused.status == 403
                assert refused.messages == [f"Accès refusé : votre profil ne donne pas le droit « {access} » "
                                            f"sur le module « {module} »."]
    async with Api(sqlite_settings, user="sub-admin") as admin:
        assert (await admin.request("GET", "planning", "/admin/events")).status_code == 200
        assert (await admin.request("PUT", "planning", "/referential", params={"dry_run": "true"},
                                    json={})).status_code == 200


async def test_SEC_04_events_name_the_user_whose_command_caused_them_and_audit_who_lists_them(sqlite_settings,
                                                                                              tmp_path):
    from prestaflow import audit_who as audit, planning_cli, referential
    from prestaflow.client import Api

    from cluster import SAMPLES

    with_profiles = tmp_path / "referentiel.yaml"
    with_profiles.write_text((SAMPLES / "referentiel.yaml").read_text(encoding="utf-8") + PROFILES_YAML,
                             encoding="utf-8")
    async with Api(sqlite_settings) as api:
        await referential.load(api, with_profiles)
    async with Api(sqlite_settings, user="sub-lil") as advisor:
        action = await planning_cli.plan(advisor, {
            "advisor": "cdurand", "starts_at": "2025-01-14T09:00:00+01:00", "ends_at": "2025-01-14T10:00:00+01:00",
            "site": "ARM", "step": 1, "mode": "on_site"})
    async with Api(sqlite_settings) as api:
        everyone = await audit.who(api)
        mine = await audit.who(api, actor="sub-lil")
    assert [(r["actor"], r["service"], r["event"]) for r in everyone[:3]] == [
        ("administrateur-local", "planning", "ReferentialChanged"),
        ("administrateur-local", "billing", "CatalogueChanged"),
        ("administrateur-local", "notify", "NotificationSetupChanged")]
    assert [(r["event"], r["records"]) for r in mine if r["service"] == "planning"] == [
        ("ActionPlanned", [action["action_id"]])]
    assert all(r["actor"] == "sub-lil" for r in mine) and mine


async def test_SEC_02_an_advisor_of_douaisis_lists_reads_and_changes_nothing_of_lille(sqlite_settings, tmp_path):
    from prestaflow import planning_cli, referential
    from prestaflow.client import AccessRefused, Api

    from cluster import SAMPLES

    with_profiles = tmp_path / "referentiel.yaml"
    with_profiles.write_text((SAMPLES / "referentiel.yaml").read_text(encoding="utf-8") + PROFILES_YAML,
                             encoding="utf-8")
    slot = {"advisor": "cdurand", "starts_at": "2025-01-14T09:00:00+01:00", "ends_at": "2025-01-14T10:00:00+01:00",
            "site": "ARM", "step": 1, "mode": "on_site"}
    async with Api(sqlite_settings) as api:
        await referential.load(api, with_profiles)
        lille = await planning_cli.plan(api, slot)
    period = {"from": "2025-01-13", "to": "2025-01-17"}
    async with Api(sqlite_settings, user="sub-lil") as own:  # Lille's advisor sees it
        assert [a["action_id"] for a in (await own.request("GET", "planning", "/actions")).json()] == [
            lille["action_id"]]
        assert len((await own.request("GET", "planning", "/planning-table", params=period)).json()["sites"]) == 1
        lille_csv = (await own.request("GET", "planning", "/planning-table/export.csv", params=period)).text
    async with Api(sqlite_settings, user="sub-dou") as other:
        assert (await other.request("GET", "planning", "/actions")).json() == []
        assert (await other.request("GET", "planning", "/actions", params={"site": "ARM"})).json() == []
        assert (await other.request("GET", "planning", f"/actions/{lille['action_id']}")).status_code == 404
        assert (await other.request("GET", "planning", "/planning-table", params=period)).json()["sites"] == []
        csv = (await other.request("GET", "planning", "/planning-table/export.csv", params=period)).text
        assert len(csv.splitlines()) == len(lille_csv.splitlines()) - 1  # the header, without Lille's slot
        for method, path, body in [("POST", f"/actions/{lille['action_id']}/cancel", {}),
                                   ("PATCH", f"/actions/{lille['action_id']}", {"max_participants": 2}),
                                   ("POST", f"/actions/{lille['action_id']}/duplicate", {"starts": []}),
                                   ("POST", "/actions", slot)]:
            try:
                await other.request(method, "planning", path, json=body)
                raise AssertionError(f"{method} {path} answered")
            except AccessRefused as refused:
                assert refused.status == 403
                assert refused.messages == [
                    "Accès refusé : le site « ARM » relève d'une antenne que votre profil ne couvre pas."]
    async with Api(sqlite_settings) as api:  # nothing changed
        assert (await api.request("GET", "planning", f"/actions/{lille['action_id']}")).json()["status"] == \
            lille["status"]
        assert len((await api.request("GET", "planning", "/actions")).json()) == 1


async def test_SEC_02_douaisis_sees_no_beneficiary_import_or_appointment_of_lille(sqlite_settings, tmp_path):
    from datetime import UTC, datetime

    from prestaflow import referential
    from prestaflow.client import AccessRefused, Api
    from servicekit.clock import FixedClock

    from cluster import SAMPLES

    with_profiles = tmp_path / "referentiel.yaml"
    with_profiles.write_text((SAMPLES / "referentiel.yaml").read_text(encoding="utf-8") + PROFILES_YAML,
                             encoding="utf-8")
    j10 = (SAMPLES / "liste_inscrits_J-10.csv").read_bytes()
    clock = FixedClock(datetime(2025, 1, 4, 9, 0, tzinfo=UTC))
    async with Api(sqlite_settings, clock=clock) as api:
        await referential.load(api, with_profiles)
        imported = await api.request("POST", "importer", "/imports", files={"file": ("J-10.csv", j10)},
                                     data={"resource": "ACR2025-L12"})
        assert imported.status_code == 200 and imported.json()["counts"]["created"] == 6
    async with Api(sqlite_settings, clock=clock, user="sub-lil") as own:
        people = (await own.request("GET", "importer", "/beneficiaries")).json()
        assert len(people) == 6
        record = (await own.request("GET", "importer", f"/beneficiaries/{people[0]['id']}")).json()  # BEN-01 show
        assert record["id"] == people[0]["id"] and record["enrolments"][0]["resource_code"] == "ACR2025-L12"
        assert len((await own.request("GET", "importer", "/imports")).json()) == 1
    async with Api(sqlite_settings, clock=clock, user="sub-dou") as other:
        assert (await other.request("GET", "importer", "/beneficiaries")).json() == []
        assert (await other.request("GET", "importer", f"/beneficiaries/{people[0]['id']}")).status_code == 404
        assert (await other.request("GET", "importer", "/imports")).json() == []
        assert (await other.request("GET", "importer", f"/imports/{imported.json()['batch_id']}")).status_code == 404
        worklist = (await other.request("GET", "affectation", "/appointments")).json()
        assert worklist == []
        try:
            await other.request("POST", "importer", "/imports", files={"file": ("J-10.csv", j10)},
                                data={"resource": "ACR2025-L12"})
            raise AssertionError("imported")
        except AccessRefused as refused:
            assert refused.status == 403
            assert refused.messages == ["Accès refusé : la ressource « ACR2025-L12 » relève d'une antenne que votre "
                                        "profil ne couvre pas."]
    async with Api(sqlite_settings, clock=clock) as api:
        lille_worklist = (await api.request("GET", "affectation", "/appointments")).json()
        assert lille_worklist  # they exist
        assert len((await api.request("GET", "importer", "/imports")).json()) == 1  # nothing imported again
    async with Api(sqlite_settings, clock=clock, user="sub-dou") as other:
        entry = lille_worklist[0]
        try:
            await other.request("POST", "affectation", f"/appointments/{entry['action_id']}/assign",
                                json={"advisor": "kbenamar", "site": "DOU"})
            raise AssertionError("assigned")
        except AccessRefused as refused:
            assert refused.status == 403 and f"le site « {entry['site']} »" in refused.messages[0]
