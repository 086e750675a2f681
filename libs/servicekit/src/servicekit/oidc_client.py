"""Calling an API with a bearer token (SEC-03, the command line): a given token, or one obtained
with OAuth2 client credentials from the provider's token endpoint, cached until shortly before it
expires and renewed once if the API answers 401."""

import asyncio
import time
from collections.abc import AsyncGenerator

import httpx

from servicekit.settings import ServiceSettings


class TokenUnavailable(Exception):
    """The provider refused the client's credentials, or could not be reached."""


class StaticToken(httpx.Auth):
    def __init__(self, token: str):
        self._token = token

    def auth_flow(self, request: httpx.Request):
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request


class ClientCredentials(httpx.Auth):
    """``token_url`` or, if None, the ``token_endpoint`` of ``issuer``'s discovery document."""

    def __init__(self, client_id: str, client_secret: str, token_url: str | None = None,
                 issuer: str | None = None, scope: str | None = None, margin_seconds: float = 30):
        if not token_url and not issuer:
            raise ValueError("token_url or issuer needed")
        self.client_id, self._secret, self.scope = client_id, client_secret, scope
        self.token_url, self.issuer, self.margin = token_url, issuer, margin_seconds
        self._token: str | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()

    async def _endpoint(self, client: httpx.AsyncClient) -> str:
        if not self.token_url:
            response = await client.get(f"{self.issuer.rstrip('/')}/.well-known/openid-configuration")
            response.raise_for_status()
            self.token_url = response.json()["token_endpoint"]
        return self.token_url

    async def token(self, renew: bool = False) -> str:
        async with self._lock:
            if renew or self._token is None or time.monotonic() >= self._expires:
                form = {"grant_type": "client_credentials", "client_id": self.client_id,
                        "client_secret": self._secret} | ({"scope": self.scope} if self.scope else {})
                try:
                    async with httpx.AsyncClient(timeout=15) as client:
                        response = await client.post(await self._endpoint(client), data=form)
                except httpx.HTTPError as exc:
                    raise TokenUnavailable(f"Fournisseur d'identité injoignable : {type(exc).__name__}") from exc
                if response.status_code != 200:
                    raise TokenUnavailable(f"Le fournisseur d'identité refuse le client « {self.client_id} » "
                                           f"({response.status_code}).")
                body = response.json()
                self._token = body["access_token"]
                self._expires = time.monotonic() + max(float(body.get("expires_in", 60)) - self.margin, 1)
            return self._token

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        request.headers["Authorization"] = f"Bearer {await self.token()}"
        response = yield request
        if response.status_code == 401:  # revoked or rotated early: one new token, one retry
            request.headers["Authorization"] = f"Bearer {await self.token(renew=True)}"
            yield request


def auth_from_settings(settings: ServiceSettings, token: str | None = None) -> httpx.Auth | None:
    """A given token, else the client credentials in the settings, else nothing (embedded, AUTH=off)."""
    if token:
        return StaticToken(token)
    if settings.client_id and settings.client_secret:
        return ClientCredentials(settings.client_id, settings.client_secret.get_secret_value(),
                                 settings.oidc_token_url, settings.oidc_issuer)
    return None
