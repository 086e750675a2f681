"""SEC-01, SEC-02: every service's OpenAPI fuzzed with schemathesis, in process (the ASGI app of the
five services on the real PostgreSQL, the sample referential loaded, tokens of a local OpenID provider).

For each operation of each service, schemathesis generates requests from the schema (valid ones and a
few that break it): without a token each answers 401 (SEC-01) before anything is read (the routes declared
public, BEN-02's agreement link, answer without one and never a server error); with a valid
administrator's token (SEC-02: every right on every antenne) none answers a server error. The number of
examples is kept small (``MAX_EXAMPLES`` per operation) so that a run takes a couple of minutes."""

import time
import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.python import asgi

from prestaflow import referential
from prestaflow.client import Api
from prestaflow.embedded import SERVICE_NAMES, Embedded
from servicekit.http import DATA_REFUSED
from servicekit.auth import OPEN_PATHS, OidcAuthenticator, WithAdministrators, public_matcher
from servicekit.oidc_provider import LocalOpenIdProvider
from servicekit.pytest_plugin import PG_URL, drop_schemas
from servicekit.settings import ServiceSettings

from cluster import SAMPLES

MAX_EXAMPLES = 15
ADMIN = "fuzz-admin"
UNAUTHENTICATED = {"messages": ["Authentification requise : jeton d'accès absent, invalide ou expiré."]}


@pytest.fixture(scope="module")
async def fuzzed(tmp_path_factory):
    """The five services' app with the sample referential, an OIDC provider, and its schema."""
    prefix = f"t{uuid.uuid4().hex[:8]}_"
    settings = ServiceSettings(database_url=PG_URL, db_schema_prefix=prefix, home=tmp_path_factory.mktemp("fuzz"),
                               bus="memory://", retry_backoff_seconds=0.01)
    try:
        async with Api(settings) as api:
            await referential.load(api, SAMPLES / "referentiel.yaml")
        with LocalOpenIdProvider() as provider:
            auth = OidcAuthenticator(provider.issuer, provider.audience, provider.jwks_url, jwks_cooldown=0,
                                     directory=WithAdministrators([ADMIN]))
            app = Embedded(settings, background_relays=False, auth=lambda _directory: auth).app
            token = provider.token(ADMIN, exp=int(time.time()) + 3600)
            schema = schemathesis.openapi.from_asgi("/openapi.json", app,
                                                    headers={"Authorization": f"Bearer {token}"})
            try:
                yield schema, {"Authorization": f"Bearer {token}"}, public_matcher(app.routes)
            finally:
                asgi.shutdown_lifespans()  # schemathesis started the app's lifespan in its own event loop
    finally:
        await drop_schemas(prefix)


def _operations(schema, service: str) -> list:
    found = [result.ok() for result in schema.get_all_operations()]
    return [op for op in found if op.path.startswith(f"/{service}/") and op.path not in OPEN_PATHS]


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_SEC_01_SEC_02_fuzzed_operations_answer_401_without_a_token_and_no_server_error_to_an_administrator(
        fuzzed, service):
    """SEC-01: every generated request without a token answers 401 with the French message; SEC-02: the
    same request under a valid administrator's token never answers 5xx. Failures are collected over
    every operation of the service, then reported together."""
    schema, admin, public = fuzzed
    operations = _operations(schema, service)
    assert len(operations) >= 5, [op.label for op in operations]
    if service == "importer":  # BEN-02's public route is fuzzed too
        assert any(public(op.method.upper(), op.path) for op in operations)
    failures: list[str] = []
    calls: list[str] = []
    for operation in operations:

        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy() | operation.as_strategy(GenerationMode.NEGATIVE))
        def check(case):
            calls.append(case.method)
            anonymous = case.call(headers={"Authorization": ""})
            if public(case.method, case.formatted_path):  # BEN-02's link page: open, never a server error
                if anonymous.status_code in (401, 403) or anonymous.status_code >= 500:
                    failures.append(f"{case.method} {case.formatted_path} (public): {anonymous.status_code}")
            elif anonymous.status_code != 401 or anonymous.json() != UNAUTHENTICATED:
                failures.append(f"{case.method} {case.formatted_path} without a token: {anonymous.status_code}")
            request = f"{case.method} {case.formatted_path}"
            try:
                answered = case.call(headers=admin)
            except Exception as exc:  # the app raised: a 500 behind a server
                failures.append(f"{request}: {type(exc).__name__} {str(exc).splitlines()[0][:200]}")
                return
            if answered.status_code >= 500:
                failures.append(f"{request}: {answered.status_code} {answered.text[:200]}")

        check()
    assert failures == [], "\n".join(dict.fromkeys(failures))
    assert len(calls) >= 3 * len(operations)  # examples were generated for every operation


async def test_SEC_01_a_value_the_database_refuses_answers_422_not_500(pg_settings):
    """What the fuzzing found: a NUL character in a text, a number beyond PostgreSQL's integer reach the
    database as data exceptions; they answer 422 with a French message, never 500."""
    async with Api(pg_settings) as api:
        await referential.load(api, SAMPLES / "referentiel.yaml")
        response = await api.request("GET", "planning", "/actions", params={"advisor": "a\x00b"})
        assert response.status_code == 422 and response.json() == {"messages": [DATA_REFUSED]}
        response = await api.request("GET", "planning", "/admin/events", params={"after": 2**40})
        assert response.status_code == 422 and "after" in response.text
        assert (await api.request("GET", "planning", "/actions", params={"advisor": "cdurand"})).status_code == 200
