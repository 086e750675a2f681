"""SEC-03: a service (or the CLI) gets its token with OAuth2 client credentials from the provider."""

import httpx
import jwt
import pytest

from servicekit.oidc_client import ClientCredentials, TokenUnavailable
from servicekit.oidc_provider import LocalOpenIdProvider


@pytest.fixture
def provider():
    with LocalOpenIdProvider(clients={"prestaflow-notify": "s3cret"}) as p:
        yield p


async def test_SEC_03_client_credentials_token_found_by_discovery_cached_and_renewed_on_401(provider):
    seen: list[str] = []
    refuse_next = [False]

    def api(request: httpx.Request) -> httpx.Response:
        token = request.headers["authorization"].removeprefix("Bearer ")
        seen.append(token)
        if refuse_next[0]:
            refuse_next[0] = False
            return httpx.Response(401)
        return httpx.Response(200, json=jwt.decode(token, options={"verify_signature": False}))

    auth = ClientCredentials("prestaflow-notify", "s3cret", issuer=provider.issuer)  # token URL by discovery
    async with httpx.AsyncClient(transport=httpx.MockTransport(api), auth=auth, base_url="http://importer") as client:
        first = (await client.get("/x")).json()
        await client.get("/x")
        assert first["azp"] == "prestaflow-notify" and first["aud"] == "prestaflow"
        assert provider.token_requests == 1 and seen[0] == seen[1]  # cached
        refuse_next[0] = True
        assert (await client.get("/x")).status_code == 200  # renewed once and retried
    assert provider.token_requests == 2 and len(seen) == 4 and seen[3] != seen[2]


async def test_SEC_03_a_refused_client_is_told_in_french(provider):
    auth = ClientCredentials("prestaflow-notify", "wrong", token_url=provider.token_url)
    with pytest.raises(TokenUnavailable, match="Le fournisseur d'identité refuse le client « prestaflow-notify » "
                                               r"\(401\)"):
        await auth.token()
