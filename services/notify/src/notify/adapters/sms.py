"""SMS channel (NOT-06): a provider's HTTP API chosen in the settings, or files in a folder.

- ``http``: a generic JSON webhook, ``POST <url>`` with ``{"to", "text", "sender", "reference"}``
  and ``Authorization: Bearer <key>``;
- ``brevo``: Brevo's transactional SMS API (``POST /v3/transactionalSMS/sms``, header ``api-key``).

2xx is sent; 408, 425, 429, 5xx and network errors are temporary; any other answer is permanent.
"""

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx

from notify.adapters.email import _write_atomically
from notify.domain.messages import DeliveryResult, Outgoing

BREVO_URL = "https://api.brevo.com/v3/transactionalSMS/sms"
TEMPORARY = {408, 425, 429}


def _classify(response: httpx.Response) -> DeliveryResult:
    answer = f"{response.status_code} {response.text[:500]}".strip()
    if response.is_success:
        return DeliveryResult("sent", answer)
    if response.status_code in TEMPORARY or response.status_code >= 500:
        return DeliveryResult("temporary", answer)
    return DeliveryResult("permanent", answer)


class HttpSms:
    def __init__(self, provider: str, url: str | None, api_key: str | None, sender: str,
                 transport: httpx.AsyncBaseTransport | None = None, timeout: float = 20):
        if provider == "http" and not url:
            raise ValueError("PRESTAFLOW_SMS_URL est obligatoire avec PRESTAFLOW_SMS_PROVIDER=http")
        self.provider, self.url = provider, url or BREVO_URL
        self.api_key, self.sender, self.transport, self.timeout = api_key, sender[:11], transport, timeout

    def _request(self, outgoing: Outgoing) -> tuple[dict[str, str], dict[str, Any]]:
        if self.provider == "brevo":
            return ({"api-key": self.api_key or "", "accept": "application/json"},
                    {"sender": self.sender, "recipient": outgoing.to.lstrip("+"), "content": outgoing.text,
                     "type": "transactional", "tag": outgoing.template})
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        return headers, {"to": outgoing.to, "text": outgoing.text, "sender": self.sender,
                         "reference": outgoing.message_id}

    async def send(self, outgoing: Outgoing) -> DeliveryResult:
        headers, body = self._request(outgoing)
        try:
            async with httpx.AsyncClient(transport=self.transport, timeout=self.timeout) as client:
                response = await client.post(self.url, headers=headers, json=body)
        except httpx.HTTPError as exc:
            return DeliveryResult("temporary", f"{type(exc).__name__}: {exc}")
        return _classify(response)


class FolderSms:
    def __init__(self, folder: Path):
        self.folder = folder

    async def send(self, outgoing: Outgoing) -> DeliveryResult:
        data = json.dumps({"to": outgoing.to, "text": outgoing.text, "template": outgoing.template},
                          ensure_ascii=False, indent=2).encode()
        try:
            await asyncio.to_thread(_write_atomically, self.folder / f"{outgoing.message_id}.sms.json", data)
        except OSError as exc:
            return DeliveryResult("temporary", f"écriture impossible : {exc.strerror}")
        return DeliveryResult("sent", f"écrit dans {outgoing.message_id}.sms.json")
