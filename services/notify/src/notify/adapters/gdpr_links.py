"""BEN-02: the personal link of the GDPR mail, taken from importer when the mail goes (importer owns
the *accord RGPD* and the secret that signs the links). Asked with notify's own credentials (SEC-03),
at the address and through the transport of the key source; never logged."""

import httpx

from servicekit.keys import HttpKeySource


class ImporterGdprLinks:
    def __init__(self, keys: HttpKeySource):
        self.keys = keys  # its base URL, transport (set late by the embedded runner) and credentials

    async def link(self, beneficiary_id: str) -> str | None:
        """The person's link, or None once an agreement is recorded (the mail then goes without one).
        Raises when importer does not answer: the mail waits."""
        async with httpx.AsyncClient(base_url=self.keys.base_url, transport=self.keys.transport,
                                     auth=self.keys.auth, timeout=30) as client:
            response = await client.post(f"/importer/beneficiaries/{beneficiary_id}/gdpr/link")
        response.raise_for_status()
        return response.json()["link"]
