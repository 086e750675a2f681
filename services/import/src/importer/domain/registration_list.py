"""Parser of France Travail's Prest@ppli "Liste des inscrits" CSV export (IMP-01..IMP-03).

Pure function of the file's bytes: no I/O, no database, no logging (the rows hold personal
data). The layout is documented in ``shared/prestappli/FORMAT.md``.

Two kinds of failure:

- file-level (:class:`RegistrationListError`): nothing can be imported (empty file, not a CSV,
  unknown encoding, wrong header);
- row-level (:class:`RowError`): the row is reported and left out of ``registrations``; the
  other rows are still returned, the service decides what to do with them.

Messages are in French and never quote the value of a personal-data column (name, birth date,
identifiant, e-mail, phone...), because they are kept in the import history (IMP-08) longer
than the personal data itself (IMP-06).
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Literal

from servicekit.clock import PARIS
from servicekit.contact import normalise_email, normalise_phone
from servicekit.limits import Limits, french_count, limits, too_large

__all__ = [
    "EXPECTED_HEADER",
    "ParsedList",
    "Registration",
    "RegistrationListError",
    "RowError",
    "normalise_phone",
    "parse_registration_list",
]


EXPECTED_HEADER: tuple[str, ...] = (
    "Référence marché",
    "Lot",
    "Prestation",
    "Prestataire",
    "SIRET prestataire",
    "Modalité",
    "Date et heure RDV",
    "Lieu RDV",
    "Liste reçue le",
    "Statut",
    "Civilité",
    "Date de naissance",
    "Code postal",
    "Nom",
    "Prénom",
    "Identifiant France Travail",
    "N° de commande",
    "Mail",
    "Téléphone",
    "Date de prescription",
    "Prescripteur",
    "Observations",
)

(
    COL_MARKET,
    COL_LOT,
    COL_PRESTATION,
    COL_PROVIDER,
    COL_SIRET,
    COL_MODALITY,
    COL_STARTS_AT,
    COL_PLACE,
    COL_LIST_DATE,
    COL_STATUS,
    COL_CIVILITY,
    COL_BIRTH_DATE,
    COL_POSTCODE,
    COL_LAST_NAME,
    COL_FIRST_NAME,
    COL_FT_ID,
    COL_ORDER,
    COL_EMAIL,
    COL_PHONE,
    COL_PRESCRIPTION_DATE,
    COL_PRESCRIBER,
    COL_OBSERVATIONS,
) = EXPECTED_HEADER

MODALITY_ON_SITE = "Présentiel"
MODALITY_REMOTE = "100% à distance"
STATUSES = ("Inscrit", "Désinscrit")
CIVILITIES = ("M.", "Mme")

MSG_EMPTY = "Fichier vide : aucune ligne à importer."
MSG_ENCODING = "Fichier illisible : encodage non reconnu (UTF-8 ou Windows-1252 attendu)."
MSG_NOT_CSV = "Ce fichier n'est pas un export CSV de Prest@ppli"
MSG_EXCEL = "Fichier Excel reçu : exportez la liste au format CSV depuis Prest@ppli."
MSG_ODS = "Fichier de tableur OpenDocument reçu : exportez la liste au format CSV depuis Prest@ppli."


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class Registration:
    """One accepted row of the list."""

    row: int
    market_number: str
    lot: str
    provider_name: str
    provider_siret: str
    remote: bool
    starts_at: datetime
    place: str
    list_date: date
    status: Literal["Inscrit", "Désinscrit"]
    civility: Literal["M.", "Mme"] | None
    birth_date: date | None
    postcode: str | None
    last_name: str
    first_name: str
    ft_id: str
    order_number: str | None
    email: str | None
    phone: str | None
    prescription_date: date | None
    prescriber_agency: str | None
    prescriber_name: str | None
    observations: str | None


@dataclass(frozen=True)
class RowError:
    """A refused row: ``field`` is the column header, None when the whole row is wrong."""

    row: int
    field: str | None
    message: str


@dataclass(frozen=True)
class ParsedList:
    encoding: str
    registrations: tuple[Registration, ...]
    errors: tuple[RowError, ...]
    rows_read: int


class RegistrationListError(Exception):
    """The file cannot be imported at all; ``messages`` are in French, for the user."""

    def __init__(self, *messages: str | list[str] | tuple[str, ...]) -> None:
        flat: list[str] = []
        for message in messages:
            if isinstance(message, (list, tuple)):
                flat.extend(str(m) for m in message)
            else:
                flat.append(str(message))
        self.messages: list[str] = flat
        super().__init__(*flat)

    def __str__(self) -> str:
        return "\n".join(self.messages)


# --------------------------------------------------------------------------- entry point


def parse_registration_list(data: bytes, bounds: Limits | None = None) -> ParsedList:
    """Parse a Prest@ppli "Liste des inscrits" export.

    Raises :class:`RegistrationListError` (and nothing else) when the file as a whole is
    unusable; row problems are returned in ``ParsedList.errors``. ``bounds``: the limits on sizes
    (default: the ``PRESTAFLOW_LIMIT_*`` settings).
    """
    bounds = bounds or limits()
    data = bytes(data)
    _check_size(len(data), bounds)
    _reject_non_text(data)
    encoding = _encoding(data)
    lines = _lines(data, encoding)
    first = next(lines, "")
    if not first.strip() and all(not line.strip() for line in lines):
        raise RegistrationListError(MSG_EMPTY)
    _check_first_line(first)

    records = _records(itertools.chain((first,), lines))
    try:
        _, header = next(records)
    except StopIteration:  # pragma: no cover - the text is not blank, so there is a record
        raise RegistrationListError(MSG_EMPTY) from None
    if isinstance(header, str):
        raise RegistrationListError(f"{MSG_NOT_CSV} (ligne d'en-tête illisible).")
    _check_header(header)

    registrations: list[Registration] = []
    errors: list[RowError] = []
    rows_read = 0
    for row, fields in records:
        if isinstance(fields, str):  # the csv module refused the record
            rows_read += 1
            errors.append(RowError(row, None, f"Ligne {row} : {fields}"))
            continue
        if all(not f.strip() for f in fields):  # blank line, or only separators
            continue
        rows_read += 1
        if rows_read > bounds.import_rows:
            raise RegistrationListError(_too_many_rows(bounds))
        if len(fields) != len(EXPECTED_HEADER):
            errors.append(RowError(row, None, _column_count_message(row, fields)))
            continue
        registration, row_errors = _parse_row(row, fields, bounds)
        if row_errors:
            errors.extend(row_errors)
        else:
            assert registration is not None
            registrations.append(registration)

    return ParsedList(
        encoding=encoding,
        registrations=tuple(registrations),
        errors=tuple(errors),
        rows_read=rows_read,
    )


# --------------------------------------------------------------------------- file level

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_OLE2_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls
_PDF_SIGNATURE = b"%PDF"
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f]")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _check_size(size: int, bounds: Limits) -> None:
    if size > bounds.import_bytes:
        raise RegistrationListError(too_large("Fichier", size, bounds.import_bytes, "IMPORT_BYTES")
                                    + " : une liste Prest@ppli est bien plus petite, vérifiez le fichier.")


def _too_many_rows(bounds: Limits) -> str:
    return (f"Fichier trop long : plus de {french_count(bounds.import_rows)} lignes "
            "(PRESTAFLOW_LIMIT_IMPORT_ROWS) ; rien n'est importé.")


def _reject_non_text(data: bytes) -> None:
    if not data.removeprefix(_UTF8_BOM).strip():
        raise RegistrationListError(MSG_EMPTY)
    if data.startswith(_UTF16_BOMS):
        raise RegistrationListError(MSG_ENCODING)
    if data.startswith(_ZIP_SIGNATURES):
        if b"application/vnd.oasis.opendocument.spreadsheet" in data[:200]:
            raise RegistrationListError(MSG_ODS)
        raise RegistrationListError(MSG_EXCEL)
    if data.startswith(_OLE2_SIGNATURE):
        raise RegistrationListError(MSG_EXCEL)
    if data.lstrip().startswith(_PDF_SIGNATURE):
        raise RegistrationListError(f"{MSG_NOT_CSV} (fichier PDF reçu).")
    if b"\x00" in data:
        raise RegistrationListError(f"{MSG_NOT_CSV} (contenu binaire).")


def _encoding(data: bytes) -> str:
    """UTF-8 (with or without BOM) when the whole file is valid UTF-8, else Windows-1252."""
    if data.startswith(_UTF8_BOM):
        if _decodes(data, "utf-8-sig"):
            return "utf-8-sig"
        raise RegistrationListError(MSG_ENCODING)
    for encoding in ("utf-8", "cp1252"):
        if _decodes(data, encoding):
            return encoding
    raise RegistrationListError(MSG_ENCODING)


def _decodes(data: bytes, encoding: str, piece: int = 1 << 20) -> bool:
    """Whether ``data`` is valid in ``encoding``, checked a piece at a time (no copy of the whole text)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        for start in range(0, len(data), piece):
            decoder.decode(data[start:start + piece])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _lines(data: bytes, encoding: str) -> Iterator[str]:
    """The file's lines, decoded and in NFC one at a time (line breaks kept, as ``csv`` wants them):
    a large list is never held as one decoded text."""
    for line in io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline=""):
        yield unicodedata.normalize("NFC", line)


def _check_first_line(text: str) -> None:
    first = _LINE_BREAK.split(text, maxsplit=1)[0]
    if _CONTROL_CHARS.search(first):
        raise RegistrationListError(f"{MSG_NOT_CSV} (contenu binaire).")
    if ";" not in first:
        found = next((name for sep, name in ((",", "« , »"), ("\t", "tabulation")) if sep in first), None)
        detail = f"séparateur « ; » attendu, {found} trouvé" if found else "séparateur « ; » attendu"
        raise RegistrationListError(f"{MSG_NOT_CSV} ({detail}).")


def _records(lines: Iterable[str]) -> Iterator[tuple[int, list[str] | str]]:
    """Yield (line where the record starts, fields); fields is a French message on a CSV error."""
    reader = csv.reader(lines, delimiter=";", quotechar='"', doublequote=True, strict=True)
    while True:
        start = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield start, _csv_error_message(str(error))
            continue
        # A line break inside a quoted value is rare: most records have no "\r" to unify.
        yield start, [_clean(f) for f in fields] if "\r" in "".join(fields) else fields


def _csv_error_message(error: str) -> str:
    if "end of data" in error:
        return "guillemet « \" » ouvert et jamais fermé : la suite du fichier a été lue comme une seule valeur."
    if "field limit" in error:
        return "valeur trop longue, ligne illisible."
    return "ligne mal formée (guillemet « \" » mal placé)."


def _clean(value: str) -> str:
    """Unify line breaks inside quoted fields so CRLF and LF files give the same values."""
    return value.replace("\r\n", "\n").replace("\r", "\n")


def _check_header(found_raw: list[str]) -> None:
    found = tuple(name.strip().strip("\ufeff").strip() for name in found_raw)
    if found == EXPECTED_HEADER:
        return
    messages = [_first_difference(found)]
    if not set(found) & set(EXPECTED_HEADER):
        messages.append(
            "Aucune des colonnes attendues n'a été trouvée : "
            "ce fichier n'est sans doute pas la « Liste des inscrits » de Prest@ppli."
        )
        messages.append("En-tête attendu : " + ";".join(EXPECTED_HEADER))
        messages.append("En-tête trouvé : " + _shorten(";".join(found), 400))
        raise RegistrationListError(messages)
    missing = [name for name in EXPECTED_HEADER if name not in found]
    unexpected = [name for name in found if name not in EXPECTED_HEADER]
    if missing:
        messages.append("Colonnes manquantes : " + _names(missing) + ".")
    if unexpected:
        messages.append("Colonnes inattendues : " + _names(unexpected) + ".")
    if not missing and not unexpected and sorted(found) == sorted(EXPECTED_HEADER):
        messages.append("Les colonnes attendues sont présentes mais dans un autre ordre.")
    messages.append("En-tête attendu : " + ";".join(EXPECTED_HEADER))
    messages.append("En-tête trouvé : " + _shorten(";".join(_shorten(n) for n in found), 400))
    raise RegistrationListError(messages)


def _names(names: list[str], shown: int = 10) -> str:
    """At most ``shown`` column names, then how many others (a header may have a million columns)."""
    listed = ", ".join(_q(n) for n in names[:shown])
    return listed if len(names) <= shown else f"{listed} et {french_count(len(names) - shown)} autre(s)"


def _first_difference(found: tuple[str, ...]) -> str:
    intro = "En-tête non conforme (l'export Prest@ppli ne doit pas être modifié) : "
    for index, expected in enumerate(EXPECTED_HEADER):
        position = f"colonne {index + 1} ({_letter(index)})"
        if index >= len(found):
            return f"{intro}{position} {_q(expected)} attendue, absente."
        if found[index] != expected:
            return f"{intro}{position} {_q(expected)} attendue, {_q(found[index])} trouvée."
    index = len(EXPECTED_HEADER)
    return (
        f"{intro}colonne {index + 1} ({_letter(index)}) {_q(found[index])} en trop "
        f"({len(EXPECTED_HEADER)} colonnes attendues, {len(found)} trouvées)."
    )


def _letter(index: int) -> str:
    """Spreadsheet column letter of a 0-based index: 0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _column_count_message(row: int, fields: list[str]) -> str:
    count = len(fields)
    noun = "colonne" if count == 1 else "colonnes"
    message = f"Ligne {row} : {count} {noun} au lieu de {len(EXPECTED_HEADER)}."
    if any("\n" in f for f in fields):
        message += " Un guillemet « \" » n'est peut-être pas fermé."
    return message


# --------------------------------------------------------------------------- row level

_DATE_RE = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")
_DATETIME_RE = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})\s+([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?")
_SIRET_RE = re.compile(r"[0-9]{14}")
_FT_ID_RE = re.compile(r"[0-9]{7}[A-Z0-9]")
_PRESCRIBER_RE = re.compile(r"(?P<agency>\S.*?)\s+-\s+(?P<name>.*\S)", re.DOTALL)
_PRESCRIBER_COMPACT_RE = re.compile(r"(?P<agency>[0-9][0-9A-Za-z]*)\s*-\s*(?P<name>.*\S)", re.DOTALL)


class _Row:
    """Collects the errors of one row while reading its fields."""

    def __init__(self, row: int, fields: list[str]) -> None:
        self.row = row
        self.values = dict(zip(EXPECTED_HEADER, map(str.strip, fields)))
        self.errors: list[RowError] = []

    def error(self, column: str, detail: str) -> None:
        self.errors.append(RowError(self.row, column, f"Ligne {self.row}, colonne « {column} » : {detail}"))

    def text(self, column: str) -> str:
        return self.values[column]

    def optional(self, column: str) -> str | None:
        return self.values[column] or None

    def required(self, column: str) -> str:
        value = self.values[column]
        if not value:
            self.error(column, "valeur obligatoire manquante.")
        return value

    def one_of(self, column: str, allowed: tuple[str, ...], what: str, *, empty_ok: bool = False) -> str | None:
        value = self.values[column]
        if not value and empty_ok:
            return None
        if value in allowed:
            return value
        choices = [_q(a) for a in allowed] + (["vide"] if empty_ok else [])
        expected = ", ".join(choices[:-1]) + " ou " + choices[-1]
        if not value:
            self.error(column, f"valeur obligatoire manquante ({expected} attendu).")
            return None
        agreement = "e" if what.startswith("une ") else ""
        self.error(column, f"{_q(value)} n'est pas {what} reconnu{agreement} ({expected} attendu).")
        return None

    def date(self, column: str, *, required: bool, personal: bool = False) -> date | None:
        value = self.values[column]
        if not value:
            if required:
                self.error(column, "valeur obligatoire manquante (date JJ/MM/AAAA attendue).")
            return None
        parsed = _parse_date(value)
        if parsed is None:
            if personal:
                self.error(column, "la valeur n'est pas une date JJ/MM/AAAA.")
            else:
                self.error(column, f"{_q(value)} n'est pas une date JJ/MM/AAAA.")
        return parsed

    def datetime(self, column: str) -> datetime | None:
        value = self.values[column]
        if not value:
            self.error(column, "valeur obligatoire manquante (date et heure JJ/MM/AAAA HH:MM attendue).")
            return None
        match = _DATETIME_RE.fullmatch(value)
        if match is None:
            self.error(column, f"{_q(value)} n'est pas une date et heure JJ/MM/AAAA HH:MM.")
            return None
        day, month, year, hour, minute, second = (int(g) if g else 0 for g in match.groups())
        try:
            naive = datetime(year, month, day, hour, minute, second)
            aware = naive.replace(tzinfo=PARIS)
            round_trip = aware.astimezone(timezone.utc).astimezone(PARIS)
        except (ValueError, OverflowError):
            self.error(column, f"{_q(value)} n'est pas une date et heure JJ/MM/AAAA HH:MM.")
            return None
        if round_trip.replace(tzinfo=None) != naive:
            self.error(column, f"{_q(value)} n'existe pas à l'heure de Paris (passage à l'heure d'été).")
            return None
        return aware


# Identity fields: a control character (a line break in a name...) would end up in a mail's headers.
IDENTITY = (COL_CIVILITY, COL_BIRTH_DATE, COL_POSTCODE, COL_LAST_NAME, COL_FIRST_NAME, COL_FT_ID, COL_EMAIL,
            COL_PHONE)
_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _lengths(bounds: Limits) -> dict[str, tuple[int, str]]:
    """Longest value of each free-text column, with its setting (the others have a fixed format)."""
    names = (bounds.name_chars, "NAME_CHARS")
    texts = (bounds.text_chars, "TEXT_CHARS")
    return {COL_LAST_NAME: names, COL_FIRST_NAME: names, COL_MARKET: texts, COL_LOT: texts,
            COL_PRESTATION: texts, COL_PROVIDER: texts, COL_PLACE: texts, COL_ORDER: texts, COL_PRESCRIBER: texts,
            COL_OBSERVATIONS: (bounds.note_chars, "NOTE_CHARS")}


def _hostile_values(r: "_Row", bounds: Limits) -> None:
    """Over-long values and control characters in identity fields: the value is not quoted (personal data,
    or too long to be of use), the column and the limit are named."""
    for column, (longest, setting) in _lengths(bounds).items():
        if len(r.values[column]) > longest:
            r.error(column, f"valeur trop longue ({french_count(len(r.values[column]))} caractères ; "
                            f"{french_count(longest)} au plus, PRESTAFLOW_LIMIT_{setting}).")
    for column in IDENTITY:
        if _ANY_CONTROL.search(r.values[column]):
            r.error(column, "caractère de contrôle (retour à la ligne, tabulation...) non accepté dans ce champ.")


def _parse_row(row: int, fields: list[str], bounds: Limits) -> tuple[Registration | None, list[RowError]]:
    r = _Row(row, fields)
    _hostile_values(r, bounds)
    if r.errors:  # the row is refused: its other checks would only repeat these columns
        return None, r.errors

    market_number = r.required(COL_MARKET)

    siret = re.sub(r"\s", "", r.text(COL_SIRET))
    if not siret:
        r.error(COL_SIRET, "valeur obligatoire manquante (SIRET de 14 chiffres attendu).")
    elif not _SIRET_RE.fullmatch(siret):
        r.error(COL_SIRET, f"{_q(r.text(COL_SIRET))} n'est pas un SIRET (14 chiffres attendus).")

    modality = r.one_of(COL_MODALITY, (MODALITY_ON_SITE, MODALITY_REMOTE), "une modalité")
    starts_at = r.datetime(COL_STARTS_AT)
    place = r.required(COL_PLACE)
    list_date = r.date(COL_LIST_DATE, required=True)
    status = r.one_of(COL_STATUS, STATUSES, "un statut")
    civility = r.one_of(COL_CIVILITY, CIVILITIES, "une civilité", empty_ok=True)
    birth_date = r.date(COL_BIRTH_DATE, required=False, personal=True)
    last_name = r.required(COL_LAST_NAME)
    first_name = r.required(COL_FIRST_NAME)

    ft_id = r.text(COL_FT_ID).upper()
    if not ft_id:
        r.error(COL_FT_ID, "valeur obligatoire manquante (7 chiffres suivis d'une lettre ou d'un chiffre attendus).")
    elif not _FT_ID_RE.fullmatch(ft_id):
        r.error(
            COL_FT_ID,
            "la valeur n'est pas un identifiant France Travail "
            "(7 chiffres suivis d'une lettre ou d'un chiffre attendus, par exemple 1234567A).",
        )

    email = r.optional(COL_EMAIL)
    if email is not None:
        email = normalise_email(email)
        if email is None:
            r.error(COL_EMAIL, "la valeur n'est pas une adresse e-mail valide (nom@domaine.fr attendu).")

    phone = None
    raw_phone = r.optional(COL_PHONE)
    if raw_phone is not None:
        phone = normalise_phone(raw_phone)
        if phone is None:
            r.error(
                COL_PHONE,
                "la valeur n'est pas un numéro de téléphone français valide "
                "(par exemple 06 12 34 56 78 ou +33 6 12 34 56 78).",
            )

    prescription_date = r.date(COL_PRESCRIPTION_DATE, required=False)
    prescriber_agency, prescriber_name = _split_prescriber(r.optional(COL_PRESCRIBER))

    if r.errors:
        return None, r.errors
    assert starts_at is not None and list_date is not None
    return (
        Registration(
            row=row,
            market_number=market_number,
            lot=r.text(COL_LOT),
            provider_name=r.text(COL_PROVIDER),
            provider_siret=siret,
            remote=modality == MODALITY_REMOTE,
            starts_at=starts_at,
            place=place,
            list_date=list_date,
            status=status,  # type: ignore[arg-type]
            civility=civility,  # type: ignore[arg-type]
            birth_date=birth_date,
            postcode=r.optional(COL_POSTCODE),
            last_name=last_name,
            first_name=first_name,
            ft_id=ft_id,
            order_number=r.optional(COL_ORDER),
            email=email,
            phone=phone,
            prescription_date=prescription_date,
            prescriber_agency=prescriber_agency,
            prescriber_name=prescriber_name,
            observations=r.optional(COL_OBSERVATIONS),
        ),
        [],
    )


def _parse_date(value: str) -> date | None:
    match = _DATE_RE.fullmatch(value)
    if match is None:
        return None
    day, month, year = (int(g) for g in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _split_prescriber(value: str | None) -> tuple[str | None, str | None]:
    """"59123 - MARTIN Paul" -> ("59123", "MARTIN Paul"); without " - ": (None, whole text)."""
    if value is None:
        return None, None
    match = _PRESCRIBER_RE.fullmatch(value) or _PRESCRIBER_COMPACT_RE.fullmatch(value)
    if match is None:
        return None, value
    return match["agency"].strip(), match["name"].strip()


# --------------------------------------------------------------------------- helpers


def _q(value: str) -> str:
    return f"« {_shorten(value)} »" if value else "« » (vide)"


def _shorten(value: str, limit: int = 60) -> str:
    value = value.replace("\n", " ")
    return value if len(value) <= limit else value[: limit - 1] + "…"
