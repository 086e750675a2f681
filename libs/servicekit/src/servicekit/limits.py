"""Limits on what a user can send (X-03): sizes a real structure never reaches, checked while reading.

Every limit is a ``PRESTAFLOW_LIMIT_*`` environment variable (``PRESTAFLOW_LIMIT_IMPORT_BYTES=...``);
the defaults are far above a real structure's files (a Prest@ppli list of a few thousand rows, a
referential of a few dozen sites) and far below what exhausts a service's memory.
"""

from collections.abc import Callable
from typing import TypeVar

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DATABASE_INT_MAX = 2**31 - 1  # PostgreSQL's integer: a number a request passes to a query stays below
MULTIPART_MARGIN = 1024 * 1024  # an upload's form fields and boundaries around the file


class Limits(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PRESTAFLOW_LIMIT_", extra="ignore")

    referential_bytes: int = Field(default=2_000_000, description="Size of a referential file (YAML).")
    referential_entries: int = Field(default=5_000, description="Entries in one section of the referential "
                                     "(sites, advisors, tariffs...).")
    referential_text_chars: int = Field(default=500, description="Characters of one value of the referential "
                                        "(a name, an address, a code), except the templates' texts.")
    template_chars: int = Field(default=20_000, description="Characters of a template's subject or body.")
    import_bytes: int = Field(default=40_000_000, description="Size of a Prest@ppli list (a 100,000-row list "
                              "is about 25 MB).")
    import_rows: int = Field(default=100_000, description="Rows of a Prest@ppli list.")
    import_messages: int = Field(default=200, description="Messages kept for one import; the others are counted.")
    name_chars: int = Field(default=100, description="Characters of a family or first name (Nom, Prénom).")
    text_chars: int = Field(default=300, description="Characters of the list's other text columns (market, lot, "
                            "provider, place, order, prescriber).")
    note_chars: int = Field(default=2_000, description="Characters of the Observations column.")

    @property
    def request_bytes(self) -> int:
        """Body of any HTTP request: the largest file plus its form (answered 413 above)."""
        return max(self.import_bytes, 4 * self.referential_bytes) + MULTIPART_MARGIN


def limits() -> Limits:
    """The limits as the environment sets them now."""
    return Limits()


def french_size(size: int) -> str:
    """1_500_000 -> '1,5 Mo' (decimal units, as file managers show them)."""
    for unit, scale in (("Go", 10**9), ("Mo", 10**6), ("ko", 10**3)):
        if size >= scale:
            return f"{size / scale:.1f}".rstrip("0").rstrip(".").replace(".", ",") + f" {unit}"
    return f"{size} octets"


def too_large(what: str, size: int, limit: int, setting: str) -> str:
    """'Fichier « x » trop volumineux (4,2 Mo ; 2 Mo au plus, PRESTAFLOW_LIMIT_...)'."""
    return f"{what} trop volumineux ({french_size(size)} ; {french_size(limit)} au plus, PRESTAFLOW_LIMIT_{setting})"


def french_count(count: int) -> str:
    """358927 -> '358 927' (narrow no-break space as the thousands separator)."""
    return f"{count:,}".replace(",", "\u202f")


def shorten(value: str, limit: int = 60) -> str:
    """A value quoted in a message, cut short (line breaks shown as spaces)."""
    value = value.replace("\r", " ").replace("\n", " ")
    return value if len(value) <= limit else value[: limit - 1] + "…"


T = TypeVar("T")


def capped(messages: list[T], keep: int, more: Callable[[int], T]) -> list[T]:
    """The first ``keep`` messages, then ``more(n)`` for the ``n`` others (if any)."""
    if len(messages) <= keep:
        return list(messages)
    return list(messages[:keep]) + [more(len(messages) - keep)]
