"""BEN-02: the personal link of the GDPR mail, signed and expiring (PyJWT, HS256 with a server secret).

The token names the beneficiary and carries a random link id (``jti``, single use: importer records
the ids used) and its expiry, checked against the service's clock, not the wall clock. Tokens are
never logged nor put on the bus; the link is handed to notify only, over its service credentials.
"""

import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import jwt

from servicekit.ids import new_uuid

from importer.config import ImporterSettings
from importer.domain.gdpr import LinkRefused

ALGORITHM = "HS256"
AUDIENCE = "prestaflow-gdpr-agreement"  # a token of no other use is ever accepted here
ROUTE = "/importer/rgpd/accord"
SECRET_FILE = "importer-gdpr-link.secret"


@dataclass(frozen=True)
class LinkClaims:
    beneficiary_id: str
    link_id: str
    expires_at: datetime


class AgreementLinks:
    def __init__(self, secret: str, days: int, public_url: str):
        if len(secret) < 32:
            raise ValueError("PRESTAFLOW_GDPR_LINK_SECRET: 32 caractères au moins")
        self._secret = secret
        self.days = days
        self.public_url = public_url.rstrip("/")

    def mint(self, beneficiary_id: str, now: datetime) -> tuple[str, datetime]:
        """The link and when it expires."""
        expires = now + timedelta(days=self.days)
        token = jwt.encode({"sub": beneficiary_id, "jti": new_uuid(), "iat": int(now.timestamp()),
                            "exp": int(expires.timestamp()), "aud": AUDIENCE}, self._secret, algorithm=ALGORITHM)
        return f"{self.public_url}{ROUTE}?{urlencode({'jeton': token})}", expires

    def read(self, token: str) -> LinkClaims:
        """The link's claims if its signature is ours (whatever its expiry), else ``LinkRefused("forged")``."""
        try:
            claims = jwt.decode(token, self._secret, algorithms=[ALGORITHM], audience=AUDIENCE,
                                options={"require": ["sub", "jti", "exp", "aud"], "verify_exp": False,
                                         "verify_iat": False})
            return LinkClaims(str(claims["sub"]), str(claims["jti"]),
                              datetime.fromtimestamp(int(claims["exp"]), tz=UTC))
        except (jwt.PyJWTError, ValueError, TypeError, OverflowError):
            raise LinkRefused("forged") from None


def links_from_settings(settings: ImporterSettings) -> AgreementLinks:
    """The setting's secret, or (embedded default) one generated once and kept under the home folder."""
    if settings.gdpr_link_secret is not None:
        secret = settings.gdpr_link_secret.get_secret_value()
    else:
        secret = _home_secret(Path(settings.home) / SECRET_FILE)
    return AgreementLinks(secret, settings.gdpr_link_days, settings.public_url)


def _home_secret(path: Path) -> str:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first
        else:
            with os.fdopen(fd, "w", encoding="ascii") as file:
                file.write(secrets.token_urlsafe(48))
    return path.read_text(encoding="ascii").strip()
