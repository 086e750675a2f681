"""Reading personal data sealed in events: the beneficiary's key comes from importer's API (X-04)."""

from typing import Any

import httpx

from servicekit.crypto import KeyDestroyed, unseal


class HttpKeySource:
    """Keys served by importer (``POST /importer/beneficiaries/keys``, several at once); a purged
    person's key is missing.

    ``transport`` lets the embedded runner answer in-process (``httpx.ASGITransport``); it may be
    set after construction, since the app that serves keys is built after the services.
    """

    def __init__(self, base_url: str | None, transport: httpx.AsyncBaseTransport | None = None,
                 auth: httpx.Auth | None = None):
        self.base_url = (base_url or "http://importer").rstrip("/")
        self.transport = transport
        self.auth = auth  # SEC-03: the service's own client credentials (servicekit.oidc_client)

    async def keys(self, beneficiary_ids: list[str]) -> dict[str, str]:
        """Several keys in one request; purged people are missing from the answer."""
        if not beneficiary_ids:
            return {}
        async with httpx.AsyncClient(base_url=self.base_url, transport=self.transport, auth=self.auth,
                                     timeout=30) as client:
            response = await client.post("/importer/beneficiaries/keys", json=sorted(set(beneficiary_ids)))
        response.raise_for_status()
        return response.json()

    async def unseal_all(self, sealed: dict[str, str]) -> dict[str, dict[str, Any] | None]:
        """Each beneficiary's sealed fields, or ``None`` for a purged person."""
        keys = await self.keys(list(sealed))
        opened: dict[str, dict[str, Any] | None] = {}
        for beneficiary_id, token in sealed.items():
            try:
                opened[beneficiary_id] = unseal(keys.get(beneficiary_id), token)
            except KeyDestroyed:
                opened[beneficiary_id] = None
        return opened


class NoKeys:
    """No keys to ask for: every sealed field reads as erased. Importer's own source for an audit
    replay, which the audit replaces with the live importer's (``HttpKeySource``) when it has one."""

    transport: httpx.AsyncBaseTransport | None = None

    async def keys(self, beneficiary_ids: list[str]) -> dict[str, str]:
        return {}

    async def unseal_all(self, sealed: dict[str, str]) -> dict[str, dict[str, Any] | None]:
        return dict.fromkeys(sealed)
