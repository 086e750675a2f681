"""Reading personal data sealed in events: the beneficiary's key comes from importer's API (X-04)."""

from typing import Any

import httpx

from servicekit.crypto import KeyDestroyed, unseal


class HttpKeySource:
    """Keys served by importer (``GET /importer/beneficiaries/{id}/key``); ``None`` once purged.

    ``transport`` lets the embedded runner answer in-process (``httpx.ASGITransport``); it may be
    set after construction, since the app that serves keys is built after the services.
    """

    def __init__(self, base_url: str | None, transport: httpx.AsyncBaseTransport | None = None):
        self.base_url = (base_url or "http://importer").rstrip("/")
        self.transport = transport

    async def key(self, beneficiary_id: str) -> str | None:
        async with httpx.AsyncClient(base_url=self.base_url, transport=self.transport, timeout=10) as client:
            response = await client.get(f"/importer/beneficiaries/{beneficiary_id}/key")
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()["key"]

    async def unseal(self, beneficiary_id: str, token: str) -> dict[str, Any] | None:
        """The sealed fields, or ``None`` when the person was purged."""
        try:
            return unseal(await self.key(beneficiary_id), token)
        except KeyDestroyed:
            return None
