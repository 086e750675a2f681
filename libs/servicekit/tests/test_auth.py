"""SEC-01: bearer tokens of an OpenID provider (a real one on loopback), checked by every API."""

import base64
import hashlib
import hmac
import json
import logging
import time

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import APIRouter, FastAPI

from servicekit.auth import (AuthNotConfigured, LocalAdministrator, OidcAuthenticator, StaticDirectory,
                             authenticator_from_settings, public, public_matcher, public_routes, right,
                             routes_without_right)
from servicekit.http import install_handlers
from servicekit.oidc_provider import LocalOpenIdProvider
from servicekit.settings import ServiceSettings


@pytest.fixture
def provider():
    with LocalOpenIdProvider() as p:
        yield p


def make_app(provider: LocalOpenIdProvider) -> FastAPI:
    app = FastAPI()
    install_handlers(app)
    directory = StaticDirectory({"cdurand": ({("planning", "read")}, {"LILLE"}),
                                 "admin": ({("planning", "write")}, None)})
    app.state.auth = authenticator_from_settings(ServiceSettings(**provider.settings()), directory)
    router = APIRouter()

    @router.get("/things", dependencies=[right("planning", "read")])
    async def things() -> list[str]:
        return ["a"]

    @router.post("/things", dependencies=[right("planning", "write")])
    async def add_thing() -> dict[str, str]:
        return {"added": "b"}

    @app.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(router, prefix="/planning")
    return app


async def call(app: FastAPI, method: str, path: str, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        return await client.request(method, path, headers=headers)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged_hs256_with_public_key(provider: LocalOpenIdProvider, subject: str) -> str:
    """The classic confusion attack: HMAC-SHA256 keyed with the provider's public key (PEM)."""
    pem = provider.public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": provider.jwks()["keys"][0]["kid"]}).encode())
    payload = _b64(json.dumps(provider.claims(subject)).encode())
    signature = hmac.new(pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


async def test_SEC_01_a_valid_token_with_the_right_is_answered(provider):
    app = make_app(provider)
    response = await call(app, "GET", "/planning/things", provider.token("cdurand"))
    assert response.status_code == 200, response.text
    assert response.json() == ["a"]


async def test_SEC_01_no_token_or_a_malformed_one_is_401_in_french(provider):
    app = make_app(provider)
    for token in (None, "not-a-jwt", "a.b.c"):
        response = await call(app, "GET", "/planning/things", token)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["messages"] == ["Authentification requise : jeton d'accès absent, invalide ou expiré."]


@pytest.mark.parametrize("case", ["expired", "wrong audience", "wrong issuer", "bad signature", "alg none",
                                  "HS256 with the public key", "no subject", "unknown key"])
async def test_SEC_01_bad_tokens_are_refused_with_401(provider, case, caplog):
    app = make_app(provider)
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = provider.jwks()["keys"][0]["kid"]
    token = {
        "expired": lambda: provider.token("cdurand", exp=int(time.time()) - 120, iat=int(time.time()) - 600),
        "wrong audience": lambda: provider.token("cdurand", aud="another-app"),
        "wrong issuer": lambda: provider.token("cdurand", iss="http://127.0.0.1:1/realms/evil"),
        "bad signature": lambda: jwt.encode(provider.claims("cdurand"), other_key, algorithm="RS256",
                                            headers={"kid": kid}),
        "alg none": lambda: jwt.encode(provider.claims("cdurand"), None, algorithm="none", headers={"kid": kid}),
        "HS256 with the public key": lambda: forged_hs256_with_public_key(provider, "cdurand"),
        "no subject": lambda: jwt.encode({k: v for k, v in provider.claims("x").items() if k != "sub"},
                                         provider._keys[0][1], algorithm="RS256", headers={"kid": kid}),
        "unknown key": lambda: jwt.encode(provider.claims("cdurand"), other_key, algorithm="RS256",
                                          headers={"kid": "not-published"}),
    }[case]()
    with caplog.at_level(logging.INFO, logger="servicekit.auth"):
        response = await call(app, "GET", "/planning/things", token)
    assert response.status_code == 401, (case, response.text)
    assert token not in caplog.text  # the reason is logged, never the token


async def test_SEC_01_a_rotated_key_is_fetched_and_the_dropped_one_refused(provider):
    app = make_app(provider)
    old_token = provider.token("cdurand")
    assert (await call(app, "GET", "/planning/things", old_token)).status_code == 200
    fetched = provider.jwks_requests
    assert (await call(app, "GET", "/planning/things", provider.token("cdurand"))).status_code == 200
    assert provider.jwks_requests == fetched  # the JWKS is cached

    provider.rotate(keep_old=False)
    new_token = provider.token("cdurand")
    assert (await call(app, "GET", "/planning/things", new_token)).status_code == 200
    assert provider.jwks_requests == fetched + 1  # unknown kid: refetched once
    assert (await call(app, "GET", "/planning/things", old_token)).status_code == 401


async def test_SEC_01_SEC_02_without_the_right_is_403_in_french_and_nothing_runs(provider):
    app = make_app(provider)
    response = await call(app, "POST", "/planning/things", provider.token("cdurand"))
    assert response.status_code == 403
    assert response.json()["messages"] == [
        "Accès refusé : votre profil ne donne pas le droit « écriture » sur le module « planning »."]
    assert (await call(app, "POST", "/planning/things", provider.token("admin"))).json() == {"added": "b"}
    # someone the directory doesn't know is authenticated but has no right at all
    assert (await call(app, "GET", "/planning/things", provider.token("stranger"))).status_code == 403


async def test_SEC_01_health_stays_open(provider):
    assert (await call(make_app(provider), "GET", "/health/live")).status_code == 200


def test_SEC_01_a_service_without_oidc_settings_refuses_to_start():
    with pytest.raises(AuthNotConfigured, match="PRESTAFLOW_OIDC_ISSUER, PRESTAFLOW_OIDC_AUDIENCE, "
                                                "PRESTAFLOW_OIDC_JWKS_URL manquant"):
        authenticator_from_settings(ServiceSettings(http_host="0.0.0.0"))


def test_SEC_01_auth_off_binds_loopback_only_and_says_so(caplog):
    settings = ServiceSettings(auth="off", http_host="0.0.0.0")
    with caplog.at_level(logging.WARNING, logger="servicekit.auth"):
        auth = authenticator_from_settings(settings)
    assert isinstance(auth, LocalAdministrator)
    assert settings.http_host == "127.0.0.1"
    assert "PRESTAFLOW_AUTH=off" in caplog.text and "127.0.0.1 only" in caplog.text


def test_SEC_01_symmetric_or_none_algorithms_cannot_be_configured(provider):
    for algorithms in (["HS256"], ["none"], []):
        with pytest.raises(AuthNotConfigured):
            OidcAuthenticator(provider.issuer, "prestaflow", provider.jwks_url, algorithms=algorithms)


def test_SEC_02_the_route_enumeration_finds_a_route_without_a_right(provider):
    app = make_app(provider)
    assert routes_without_right(app.routes) == []

    @app.get("/planning/forgotten")
    async def forgotten() -> None:
        return None

    assert routes_without_right(app.routes) == ["GET /planning/forgotten"]


def test_SEC_02_a_public_route_is_declared_listed_apart_and_matched_exactly(provider):
    """BEN-02: a route opened without a token says so (``public``, with why); the middleware's matcher
    lets that method and path through and nothing else."""
    app = make_app(provider)

    @app.get("/importer/open/{token}", dependencies=[public("lien personnel")])
    async def opened(token: str) -> None:
        return None

    assert routes_without_right(app.routes) == []
    assert public_routes(app.routes) == ["GET /importer/open/{token}"]
    matches = public_matcher(app.routes)
    assert matches("GET", "/importer/open/abc")
    for method, path in [("POST", "/importer/open/abc"), ("GET", "/importer/open/abc/more"),
                         ("GET", "/importer/open"), ("GET", "/planning/things")]:
        assert not matches(method, path), (method, path)
    with pytest.raises(ValueError):
        public(" ")


async def test_SEC_02_rights_looked_up_from_planning_with_service_credentials_and_503_when_it_is_down(provider):
    """HttpDirectory: what a service other than planning does; planning answering 503 is told in French."""
    from servicekit.auth import HttpDirectory
    from servicekit.oidc_client import StaticToken

    asked = []

    async def planning(request: httpx.Request) -> httpx.Response:
        asked.append((request.url.path, request.headers["authorization"]))
        if request.url.path.endswith("/down"):
            return httpx.Response(503)
        return httpx.Response(200, json={"subject": "cdurand", "rights": {"planning": "read"}, "antennes": ["LILLE"]})

    directory = HttpDirectory("http://planning", StaticToken("service-token"), httpx.MockTransport(planning))
    app = make_app(provider)
    app.state.auth.directory = directory
    assert (await call(app, "GET", "/planning/things", provider.token("cdurand"))).status_code == 200
    assert (await call(app, "GET", "/planning/things", provider.token("cdurand"))).status_code == 200
    assert asked == [("/planning/access/cdurand", "Bearer service-token")]  # asked once, then cached
    response = await call(app, "GET", "/planning/things", provider.token("down"))
    assert response.status_code == 503
    assert response.json() == {"messages": ["Droits d'accès momentanément indisponibles : réessayez dans un instant."]}


async def test_SEC_02_a_scope_keeps_what_the_callers_antennes_cover_hides_the_rest_and_refuses_changes():
    from servicekit.auth import ADMINISTRATOR, Forbidden, Principal, Scope, scope_of
    from servicekit.errors import NotFound

    looked_up = []

    async def sites():
        looked_up.append(True)
        return [("ARM", "LILLE"), ("LIL", "LILLE"), ("DOU", "DOUAISIS")]

    everything = await scope_of(ADMINISTRATOR, sites)
    assert everything == Scope(None) and looked_up == []  # an administrator's scope reads nothing
    douai = await scope_of(Principal("sub-dou", antennes=frozenset({"DOUAISIS"})), sites)
    assert douai.codes == {"DOU"}
    rows = [{"site": "ARM"}, {"site": "DOU"}, {"site": None}]
    assert douai.keep(rows, "site") == [{"site": "DOU"}] and everything.keep(rows, "site") == rows
    assert douai.keep([["ARM", "DOU"], ["LIL"]], lambda codes: codes) == [["ARM", "DOU"]]  # any of its codes
    assert douai.only([]) == ["DOU"] and douai.only(["ARM"]) is None and everything.only(["ARM"]) == ["ARM"]
    douai.readable("DOU", "ARM", not_found="absent")
    with pytest.raises(NotFound) as hidden:
        douai.readable("ARM", not_found="Action « a » introuvable.")
    assert hidden.value.messages == ["Action « a » introuvable."]
    with pytest.raises(Forbidden) as refused:
        douai.changeable("DOU", "ARM")  # a record and the site it moves to: each must be covered
    assert refused.value.messages == [
        "Accès refusé : le site « ARM » relève d'une antenne que votre profil ne couvre pas."]
    with pytest.raises(Forbidden) as refused:
        Scope(frozenset(), "la ressource").changeable(None)
    assert refused.value.messages == [
        "Accès refusé : la ressource « aucun » relève d'une antenne que votre profil ne couvre pas."]
    everything.every_antenne("le dépôt Chorus Pro")
    with pytest.raises(Forbidden) as refused:
        douai.every_antenne("le dépôt Chorus Pro")
    assert "porte sur toutes les antennes" in refused.value.messages[0]
