"""What an import of a Prest@ppli list does, decided without I/O (IMP-02, IMP-03, IMP-06).

Checks run on the whole file before anything changes: by default any error refuses the file
(as the reference CRM does); in partial mode recognised rows are imported and the others reported.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from typing import Literal

from servicekit.text import normalise_label

from importer.domain.records import RecordedRegistration
from importer.domain.registration_list import ParsedList, Registration, RowError

PURGE_DELAY = timedelta(days=5)
J2_MAX_DAYS = 3  # a list received at most this many days before its appointments is the validated (J-2) list
PROJECT = "Activ'Créa 2025"


@dataclass(frozen=True)
class ImportTarget:
    """The chosen ressource and what importer knows of the referential (its projection)."""

    resource_code: str
    market_number: str | None
    ods_codes: tuple[str, ...]
    active: bool
    structure_siret: str | None
    addresses: dict[str, tuple[str, bool]]  # normalised France Travail address -> (site code, remote)

    @cached_property
    def remote_sites(self) -> frozenset[str]:
        """Sites with an address that is à distance: read for every row of a list."""
        return frozenset(code for code, remote in self.addresses.values() if remote)

    def addresses_remote(self, site: str) -> bool:
        return site in self.remote_sites


@dataclass
class CheckedList:
    file_problems: list[str] = field(default_factory=list)
    row_errors: list[RowError] = field(default_factory=list)
    accepted: list[tuple[Registration, str]] = field(default_factory=list)  # with the recognised site
    skipped: int = 0

    @property
    def refused(self) -> bool:
        return bool(self.file_problems)


def check_list(parsed: ParsedList, target: ImportTarget, partial: bool) -> CheckedList:
    result = CheckedList(row_errors=list(parsed.errors))
    if not target.market_number:
        result.file_problems.append(f"Ressource « {target.resource_code} » inconnue.")
        return result
    if not target.active:
        result.file_problems.append(f"Ressource « {target.resource_code} » inactive : import impossible.")
    if len(target.ods_codes) != 1:
        result.file_problems.append(
            f"Ressource « {target.resource_code} » liée à {len(target.ods_codes)} ODS : une ressource Activ'Créa "
            "doit être liée à exactement une ODS.")
    if parsed.rows_read == 0:
        result.file_problems.append("Fichier vide : aucune inscription après l'en-tête.")
    markets = sorted({r.market_number for r in parsed.registrations} - {target.market_number})
    sites: dict[str, tuple[str, bool] | None] = {}
    if markets:
        result.file_problems.append(
            f"Référence du marché incorrecte : le fichier porte « {', '.join(markets)} », la ressource "
            f"« {target.resource_code} » a le marché « {target.market_number} ».")
    for registration in parsed.registrations:
        if target.structure_siret and registration.provider_siret != target.structure_siret:
            result.skipped += 1  # another provider's row: counted, never imported (IMP-03)
            continue
        if registration.place not in sites:  # a list names a few places, each on many rows
            sites[registration.place] = target.addresses.get(normalise_label(registration.place))
        site = sites[registration.place]
        if site is None:
            result.row_errors.append(RowError(
                registration.row, "Lieu RDV",
                f"Ligne {registration.row} : adresse non reconnue : « {registration.place} ». Ajoutez exactement "
                "cette adresse aux adresses dans fichiers France Travail du site concerné."))
            continue
        result.accepted.append((registration, site[0]))
    if result.row_errors and not partial:
        result.file_problems.append(
            f"{len(result.row_errors)} ligne(s) en erreur : fichier refusé en entier, rien n'a été importé "
            "(option « import partiel » pour importer les lignes reconnues).")
    result.row_errors.sort(key=lambda e: e.row)
    return result


def list_kind(parsed: ParsedList) -> Literal["J-10", "J-2"]:
    """The validated list arrives two days before the appointments, the temporary one ten days before."""
    gaps = [(r.starts_at.date() - r.list_date).days for r in parsed.registrations]
    return "J-2" if gaps and max(gaps) <= J2_MAX_DAYS else "J-10"


def purge_day(today: date) -> date:
    return today + PURGE_DELAY


def registration_to_cancel(candidates: list[RecordedRegistration], site: str,
                           order_number: str | None) -> RecordedRegistration | None:
    """The registration a ``Désinscrit`` row names, among the person's registrations at its time.

    A person may hold two at one time (two order numbers, or two sites): the row's order number, when
    it gives one, then its site decide, and a live registration goes before one already cancelled.
    Equal on all of these, the two are the same appointment twice; the first by id is taken."""
    def distance(registration: RecordedRegistration) -> tuple:
        return (bool(order_number) and registration.order_number != order_number,
                registration.site_code != site, registration.status == "cancelled", registration.id)

    return min(candidates, key=distance, default=None)
