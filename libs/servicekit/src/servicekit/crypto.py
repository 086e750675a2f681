"""Per-person encryption of personal data in events (crypto-shredding, X-04).

Each beneficiary has a key; events carry their personal fields sealed with it. Destroying the key
makes every copy in the immutable log unreadable.
"""

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken


class KeyDestroyed(LookupError):
    """The person was purged: the sealed data can no longer be read."""


def new_key() -> str:
    return Fernet.generate_key().decode()


def seal(key: str, data: dict[str, Any]) -> str:
    return Fernet(key.encode()).encrypt(json.dumps(data, default=str, sort_keys=True).encode()).decode()


def unseal(key: str | None, token: str) -> dict[str, Any]:
    if key is None:
        raise KeyDestroyed("key destroyed")
    try:
        return json.loads(Fernet(key.encode()).decrypt(token.encode()))
    except InvalidToken as exc:
        raise KeyDestroyed("wrong or destroyed key") from exc
