"""SEC-02 antenne scope of notify, billing and the journey views, on the real PostgreSQL: an advisor of
DOUAISIS lists, reads and changes nothing of LILLE (messages, invoices, credit notes, exports, journeys,
the dashboard, alerts, deliverables, timelines), while LILLE's advisor, with the same rights, sees it.

One world is made once (the sample's J-10 list imported on LILLE's ressource, its journeys closed and
drafted by billing, one invoice issued); each route is then one case of a parametrised test: lists and
exports (filtered), records (404 as if they did not exist), changes (403 naming the site, nothing
changed)."""

import csv
import io
import uuid
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook

from prestaflow import import_cli, referential
from prestaflow.client import AccessRefused, Api
from servicekit.clock import FixedClock
from servicekit.pytest_plugin import PG_URL, drop_schemas
from servicekit.settings import ServiceSettings

from billing_support import close_imported_journeys
from cluster import SAMPLES

RIGHTS = "{planning: écriture, import: écriture, affectation: écriture, parcours: écriture, " \
         "facturation: écriture, notifications: écriture}"
PROFILES_YAML = f"""
profiles:
  - code: CONSEILLER-DOU
    name: Conseiller Douaisis
    rights: {RIGHTS}
    antennes: [DOUAISIS]
  - code: CONSEILLER-LIL
    name: Conseiller Lille
    rights: {RIGHTS}
    antennes: [LILLE]
users:
  - code: sub-dou
    profiles: [CONSEILLER-DOU]
  - code: sub-lil
    profiles: [CONSEILLER-LIL]
"""
DOUAISIS, LILLE = {"X-Prestaflow-User": "sub-dou"}, {"X-Prestaflow-User": "sub-lil"}
OUT_OF_SCOPE = "Accès refusé : le site « {site} » relève d'une antenne que votre profil ne couvre pas."
EVERY_ANTENNE = {
    "/chorus/deposit": "Accès refusé : le dépôt Chorus Pro porte sur toutes les antennes et votre profil n'en "
                       "couvre que certaines.",
    "/outbox/send": "Accès refusé : l'envoi des messages dus porte sur toutes les antennes et votre profil n'en "
                    "couvre que certaines."}
LILLE_SITES = ("ARM", "LIL", "DIST")  # the sample's sites of LILLE
APRIL = {"from": "2025-04-01", "to": "2025-04-30"}
JANUARY_WEEK = {"from": "2025-01-13", "to": "2025-01-17"}


@pytest.fixture(scope="module")
async def world(tmp_path_factory):
    """LILLE's data: imported people and their appointments, messages, journeys, drafts and an invoice."""
    prefix = f"t{uuid.uuid4().hex[:8]}_"
    tmp = tmp_path_factory.mktemp("scope")
    settings = ServiceSettings(database_url=PG_URL, db_schema_prefix=prefix, home=tmp, bus="memory://",
                               retry_backoff_seconds=0.01)
    with_profiles = tmp / "referentiel.yaml"
    with_profiles.write_text((SAMPLES / "referentiel.yaml").read_text(encoding="utf-8") + PROFILES_YAML,
                             encoding="utf-8")
    clock = FixedClock(datetime(2025, 1, 4, 9, 0, tzinfo=UTC))
    try:
        async with Api(settings, clock=clock) as api:
            await referential.load(api, with_profiles)
            await import_cli.upload(api, SAMPLES / "liste_inscrits_J-10.csv", "ACR2025-L12", False, None, "test")
            await api.request("POST", "notify", "/outbox/send")
            await close_imported_journeys(api)
            clock.at = datetime(2025, 4, 15, 9, 0, tzinfo=UTC)
            drafts = (await api.request("GET", "billing", "/invoices/pending")).json()
            issuable = [d for d in drafts if d["issuable"]]
            issued = (await api.request("POST", "billing", f"/invoices/{issuable[0]['id']}/issue")).json()
            journeys = (await api.request("GET", "planning", "/journeys")).json()
            # present at the initial interview, went on, no end recorded 90 days on: an alert (PRC-05)
            journey = (await api.request("GET", "planning", f"/journeys/{journeys[0]['id']}")).json()
            first = journey["actions"][0]
            presence = await api.request(
                "PUT", "planning", f"/actions/{first['action_id']}/participants/{journey['beneficiary_id']}/presence",
                json={"presence": "oui"})
            assert presence.status_code == 200, presence.text
            form = await api.request("PATCH", "planning", f"/journeys/{journey['id']}/form", json={
                "initial_interview_on": first["starts_at"][:10], "initial_outcome": "poursuivi"})
            assert form.status_code == 200, form.text
            messages = (await api.request("GET", "notify", "/outbox", params={"status": "sent"})).json()
            email = next(m for m in messages if m["channel"] == "email")
            yield api, {"draft": issuable[1]["id"], "number": issued["number"], "enrolment": journeys[0]["id"],
                        "site": journeys[0]["site"], "beneficiary": email["beneficiary_id"],
                        "message": email["message_id"]}
    finally:
        await drop_schemas(prefix)


def _rows(route: str, response) -> int:
    """What a list or an export holds: items, CSV lines or workbook rows with a value."""
    if route.endswith(".csv"):
        return len(list(csv.reader(io.StringIO(response.text), delimiter=";")))
    if route.endswith(".xlsx"):
        book = load_workbook(io.BytesIO(response.content))
        return sum(1 for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) if any(row))
    return len(response.json())


LISTS = [
    ("notify", "/outbox", {}),
    ("billing", "/invoices/pending", {}),
    ("billing", "/invoices/issued", {}),
    ("billing", "/chorus/status", {}),
    ("billing", "/journal.csv", APRIL),
    ("planning", "/journeys", {}),
    ("planning", "/dashboard", {"all": "true"}),
    ("planning", "/dashboard.xlsx", {"all": "true"}),
    ("planning", "/alerts", {}),
    ("planning", "/actions", JANUARY_WEEK),
    ("planning", "/planning-table/export.xlsx", JANUARY_WEEK),
    ("importer", "/beneficiaries", {}),
]


@pytest.mark.parametrize(("service", "route", "params"), LISTS, ids=[f"{s}{r}" for s, r, _ in LISTS])
async def test_SEC_02_douaisis_lists_and_exports_nothing_of_lille(world, service, route, params):
    """Every list and export: LILLE's advisor gets LILLE's rows, DOUAISIS's advisor none of them (an
    export keeps its headers: what the same export of an empty period holds)."""
    api, _ids = world
    own = await api.request("GET", service, route, params=params, headers=LILLE)
    other = await api.request("GET", service, route, params=params, headers=DOUAISIS)
    assert own.status_code == other.status_code == 200, (own.text, other.text)
    if route.endswith((".csv", ".xlsx")):
        empty = await api.request("GET", service, route, params={"from": "2030-01-01", "to": "2030-01-31"})
        headers = _rows(route, empty)
        assert _rows(route, own) > headers
        assert _rows(route, other) == headers
    else:
        assert _rows(route, own) > 0
        assert other.json() == []


RECORDS = [
    ("notify", "/messages/{message}", "Message « {message} » introuvable."),
    ("notify", "/messages/{message}/eml", "Message « {message} » introuvable."),
    ("notify", "/beneficiaries/{beneficiary}/messages", "Bénéficiaire « {beneficiary} » introuvable."),
    ("billing", "/invoices/{draft}/preview", "Facture « {draft} » inconnue."),
    ("billing", "/documents/{number}.pdf", "Facture ou avoir n° « {number} » inconnu."),
    ("planning", "/journeys/{enrolment}", "Parcours « {enrolment} » introuvable (voir journey list)."),
    ("planning", "/journeys/{enrolment}/deliverables", "Parcours « {enrolment} » introuvable (voir journey list)."),
    ("planning", "/journeys/{enrolment}/deliverables/bilan.pdf",
     "Parcours « {enrolment} » introuvable (voir journey list)."),
    ("planning", "/timeline/{beneficiary}", "Bénéficiaire « {beneficiary} » inconnu du planning."),
]


@pytest.mark.parametrize(("service", "route", "message"), RECORDS, ids=[f"{s}{r}" for s, r, _ in RECORDS])
async def test_SEC_02_douaisis_reads_no_record_of_lille(world, service, route, message):
    """A record of LILLE answers DOUAISIS's advisor 404, as if it did not exist; LILLE's advisor reads it."""
    api, ids = world
    path = route.format(**ids)
    own = await api.request("GET", service, path, headers=LILLE)
    other = await api.request("GET", service, path, headers=DOUAISIS)
    if route.endswith("bilan.pdf"):  # none generated: LILLE's advisor is told so, not that the journey is unknown
        assert own.status_code == 404 and "Aucun livrable" in own.json()["messages"][0]
    else:
        assert own.status_code == 200, own.text
    assert other.status_code == 404
    assert other.json()["messages"] == [message.format(**ids)]


CHANGES = [
    ("billing", "POST", "/invoices/{draft}/issue", None),
    ("billing", "POST", "/credit-notes", {"number": "{number}", "reason": "Erreur"}),
    ("planning", "PUT", "/journeys/{enrolment}/dates", {"start": "2025-01-14", "end": "2025-04-14"}),
    ("planning", "PATCH", "/journeys/{enrolment}/form", {"initial_outcome": "poursuivi"}),
    ("planning", "POST", "/journeys/{enrolment}/reopen", {"reason": "Erreur"}),
    ("planning", "POST", "/journeys/{enrolment}/deliverables", None),
    ("notify", "POST", "/beneficiaries/{beneficiary}/gdpr", None),
    ("notify", "POST", "/beneficiaries/{beneficiary}/virtual-office-logins", {}),
    ("billing", "POST", "/chorus/deposit", None),  # every antenne's documents
    ("notify", "POST", "/outbox/send", None),  # every antenne's due messages
]


@pytest.mark.parametrize(("service", "method", "route", "body"), CHANGES, ids=[f"{s}{r}" for s, _, r, _ in CHANGES])
async def test_SEC_02_douaisis_changes_nothing_of_lille(world, service, method, route, body):
    """A change to a record of LILLE answers DOUAISIS's advisor 403 naming LILLE's site, a run over every
    antenne (Chorus Pro deposit, sending what is due) 403 too; nothing changes (no service emits an event)."""
    api, ids = world
    before = {runtime.name: len((await api.request("GET", runtime.name, "/admin/events", params={"limit": 10000})).json())
              for runtime in api.embedded.runtimes}
    json = {k: v.format(**ids) for k, v in body.items()} if body is not None else None
    with pytest.raises(AccessRefused) as refused:
        await api.request(method, service, route.format(**ids), json=json, headers=DOUAISIS)
    assert refused.value.status == 403
    if route in EVERY_ANTENNE:
        assert refused.value.messages == [EVERY_ANTENNE[route]]
    else:
        assert refused.value.messages in [[OUT_OF_SCOPE.format(site=site)] for site in LILLE_SITES]
    after = {runtime.name: len((await api.request("GET", runtime.name, "/admin/events", params={"limit": 10000})).json())
             for runtime in api.embedded.runtimes}
    assert after == before
