"""BEN-03 *doublons*: two records for one person, by the same identifiant France Travail or the same
last name, first name and birth date, compared normalised (case, accents, spaces, hyphens and
apostrophes ignored).

Records are compared by blind index: a keyed hash (HMAC-SHA256 with a server secret) of the
normalised values, stored beside the record, so that the comparison needs no clear name and an
index serves it. Without the secret the hashes say nothing of the person.
"""

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from servicekit.text import normalise_label

Rule = Literal["ft_id", "identity"]
RULES: dict[Rule, str] = {"ft_id": "même identifiant France Travail",
                          "identity": "mêmes nom, prénom et date de naissance"}
_IGNORED = re.compile(r"[\s\-'’]+")


def normalise_name(text: str) -> str:
    return _IGNORED.sub("", normalise_label(text))


def normalise_ft_id(ft_id: str) -> str:
    return re.sub(r"\s+", "", ft_id).upper()


@dataclass(frozen=True)
class IdentityKeys:
    """The blind indexes of a record, computed with the server's secret."""

    secret: bytes

    def _hash(self, kind: str, text: str) -> str:
        return hmac.new(self.secret, f"{kind}:{text}".encode(), hashlib.sha256).hexdigest()

    def identity(self, last_name: str | None, first_name: str | None, birth_date: date | None) -> str | None:
        if not (last_name and first_name and birth_date):
            return None  # a record without a birth date is compared by its identifiant only
        return self._hash("identity", f"{normalise_name(last_name)}|{normalise_name(first_name)}|"
                                      f"{birth_date.isoformat()}")

    def ft_id(self, ft_id: str | None) -> str | None:
        return self._hash("ft_id", normalise_ft_id(ft_id)) if ft_id and ft_id.strip() else None

    def of(self, ft_id: str | None, last_name: str | None, first_name: str | None,
           birth_date: date | None) -> dict[str, str | None]:
        """The record's index columns."""
        return {"ft_id_hash": self.ft_id(ft_id), "identity_hash": self.identity(last_name, first_name, birth_date)}


@dataclass(frozen=True)
class Duplicate:
    """An existing record that looks like the same person, and by which rule."""

    record_id: str
    rules: tuple[Rule, ...]

    def reason(self) -> str:
        return " et ".join(RULES[r] for r in self.rules)

    def message(self, row: int | None, record_id: str) -> str:
        # Never the name or the identifiant: import messages outlive the personal data (IMP-06).
        where = f"Ligne {row} : la fiche {record_id}" if row else f"La fiche {record_id}"
        return (f"{where} est un doublon probable de la fiche {self.record_id} ({self.reason()}) : signalé, rien "
                f"n'a été fusionné. Si c'est la même personne : prestaflow beneficiary merge {self.record_id} "
                f"{record_id}.")


def duplicates_of(record_id: str | None, ft_hash: str | None, identity_hash: str | None,
                  by_ft: dict[str, set[str]], by_identity: dict[str, set[str]]) -> list[Duplicate]:
    """The other records sharing ``record_id``'s indexes, each with the rules it meets, by id."""
    found: dict[str, list[Rule]] = {}
    for rule, value, index in (("ft_id", ft_hash, by_ft), ("identity", identity_hash, by_identity)):
        for other in sorted(index.get(value, ())) if value else ():
            if other != record_id:
                found.setdefault(other, []).append(rule)
    return [Duplicate(other, tuple(rules)) for other, rules in sorted(found.items())]
