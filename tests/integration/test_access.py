"""SEC-01..SEC-03 across every service: each route declares its right, none answers without a token,
importer's keys answer services only."""

import re

import httpx
import pytest

from servicekit.auth import (OPEN_PATHS, OidcAuthenticator, Public, StaticDirectory, api_routes, declared_right,
                             public_routes, routes_without_right)
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


async def test_SEC_03_importer_keys_answer_services_only(sqlite_settings, provider):
    everything = {(m, a) for m in ("import", "administration", "audit") for a in ("read", "write")}
    auth = OidcAuthenticator(provider.issuer, provider.audience, provider.jwks_url,
                             StaticDirectory({"admin": (everything, None)}), services={"prestaflow-notify": "notify"},
                             jwks_cooldown=0)
    embedded = Embedded(sqlite_settings, background_relays=False, auth=lambda _directory: auth)
    app = embedded.app
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            person = {"Authorization": "Bearer " + provider.token("admin")}
            service = {"Authorization": "Bearer " + provider.service_token("prestaflow-notify")}
            unknown_client = {"Authorization": "Bearer " + provider.service_token("someone-else")}
            for headers in (person, unknown_client):
                response = await client.post("/importer/beneficiaries/keys", json=["b1"], headers=headers)
                assert response.status_code == 403, response.text
                assert response.json()["messages"] == ["Accès refusé : réservé aux services de Prestaflow."]
                assert (await client.get("/importer/beneficiaries/b1/key", headers=headers)).status_code == 403
            response = await client.post("/importer/beneficiaries/keys", json=["b1"], headers=service)
            assert response.status_code == 200 and response.json() == {}
            # a person with the right reads the import history; a service's token opens nothing else
            assert (await client.get("/importer/imports", headers=person)).status_code == 200
            assert (await client.get("/importer/beneficiaries", headers=service)).status_code == 403
            assert (await client.post("/importer/purge", headers=service)).status_code == 403


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
