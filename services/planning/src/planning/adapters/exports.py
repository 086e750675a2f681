"""The two PLN-07 exports (format: shared/prestappli/PLANNING_FORMAT.md). Pure writers, no database."""

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter

from servicekit.clock import PARIS

CSV_HEADER = ("Référence marché", "Lot", "Lieu RDV", "Modalité", "Date RDV", "Heure début", "Heure fin", "Places")
SHEET_HEADER = ("Date", "Début", "Fin", "Conseiller", "Modalité", "Places libres", "Capacité", "Lieu RDV")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORBIDDEN_IN_TITLES = str.maketrans({c: " " for c in ":\\/?*[]"})


@dataclass(frozen=True)
class PlanningSlot:
    site_code: str
    site_name: str
    ft_address: str
    remote: bool
    market_number: str
    lot_number: str
    starts_at: datetime
    ends_at: datetime
    advisor_name: str | None
    free_places: int
    capacity: int

    @property
    def modality(self) -> str:
        return "100% à distance" if self.remote else "Présentiel"


def _ordered(slots: Sequence[PlanningSlot]) -> list[PlanningSlot]:
    return sorted(slots, key=lambda s: (s.site_name, s.site_code, s.starts_at))


def france_travail_csv(slots: Sequence[PlanningSlot]) -> bytes:
    """The upload file: UTF-8 with BOM, ';', CRLF; one line per slot with a free place."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(CSV_HEADER)
    for s in _ordered(slots):
        if s.free_places <= 0:
            continue
        start, end = s.starts_at.astimezone(PARIS), s.ends_at.astimezone(PARIS)
        writer.writerow((s.market_number, s.lot_number, s.ft_address, s.modality, f"{start:%d/%m/%Y}",
                         f"{start:%H:%M}", f"{end:%H:%M}", s.free_places))
    return out.getvalue().encode("utf-8-sig")


def safe_sheet_titles(names: Sequence[str]) -> list[str]:
    """Excel's rules: 31 characters at most, none of : \\ / ? * [ ], no apostrophe at either end,
    not the reserved "History", unique (case-insensitively)."""
    titles: list[str] = []
    taken: set[str] = set()
    for name in names:
        cleaned = ILLEGAL_CHARACTERS_RE.sub("", name).translate(FORBIDDEN_IN_TITLES).strip(" '")
        base = cleaned[:31].rstrip(" '") or "Site"
        if base.casefold() == "history":
            base = "Site History"
        title, n = base, 2
        while title.casefold() in taken:
            suffix = f" ({n})"
            title, n = base[:31 - len(suffix)] + suffix, n + 1
        taken.add(title.casefold())
        titles.append(title)
    return titles


def _text(cell, value: str | None) -> None:
    """User text is never evaluated: a value starting like a formula stays a string cell (same visible
    text, no quote prefix). Control characters XML cannot hold are dropped instead of failing the export."""
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    cell.value = value
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        cell.data_type = "s"


def planning_workbook(slots: Sequence[PlanningSlot], period_start: date, period_end: date) -> bytes:
    """The table as a workbook: one sheet per site, real dates and times, frozen header."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    workbook.properties.title = (f"Planification Activ'Créa 2025 du {period_start:%d/%m/%Y} "
                                 f"au {period_end:%d/%m/%Y}")
    ordered = _ordered(slots)
    sites: dict[str, list[PlanningSlot]] = {}
    for s in ordered:
        sites.setdefault(s.site_code, []).append(s)
    titles = safe_sheet_titles([rows[0].site_name for rows in sites.values()])
    for title, rows in zip(titles, sites.values(), strict=True):
        sheet = workbook.create_sheet(title)
        sheet.append(SHEET_HEADER)
        widths = [len(h) for h in SHEET_HEADER]
        for r, s in enumerate(rows, start=2):
            start, end = s.starts_at.astimezone(PARIS), s.ends_at.astimezone(PARIS)
            sheet.cell(r, 1, start.date()).number_format = "DD/MM/YYYY"
            sheet.cell(r, 2, start.time().replace(tzinfo=None)).number_format = "HH:MM"
            sheet.cell(r, 3, end.time().replace(tzinfo=None)).number_format = "HH:MM"
            _text(sheet.cell(r, 4), s.advisor_name or "à affecter")
            _text(sheet.cell(r, 5), s.modality)
            sheet.cell(r, 6, s.free_places)
            sheet.cell(r, 7, s.capacity)
            _text(sheet.cell(r, 8), s.ft_address)
            for i, shown in enumerate((10, 5, 5, s.advisor_name or "à affecter", s.modality, 3, 3, s.ft_address)):
                widths[i] = max(widths[i], shown if isinstance(shown, int) else len(shown))
        for i, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(i)].width = width + 2
        sheet.freeze_panes = "A2"
    if not sites:  # a workbook needs one sheet: an empty period still gives a readable file
        empty = workbook.create_sheet("Aucun créneau")
        empty.append(SHEET_HEADER)
        empty.freeze_panes = "A2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# The follow-up dashboard (PRC-04): one header row, then one row per enrolment.
DASHBOARD_COLUMNS = (
    ("last_name", "Nom"), ("first_name", "Prénom"), ("ft_id", "Identifiant France Travail"),
    ("advisor", "Référent BGE"), ("resource", "Ressource"), ("start_on", "Date début ODS"),
    ("end_on", "Date fin ODS"), ("past_actions", "Actions passées"), ("future_actions", "Actions futures"),
    ("site_name", "Lieu d'action"), ("order_number", "N° de commande"), ("situation", "Situation dans la prestation"),
    ("prestappli_initial_on", "Dépôt Prest@ppli entretien initial"),
    ("prestappli_final_on", "Dépôt Prest@ppli fin de prestation"), ("invoice_status", "Facturation"),
    ("invoice_number", "N° de facture"), ("id", "Identifiant parcours"),
)


def dashboard_workbook(rows: Sequence[dict], title: str) -> bytes:
    """Write-only (streamed) workbook: dates as dates, user text never a formula, frozen header with
    filters."""
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    workbook.properties.title = title
    sheet = workbook.create_sheet("Tableau de suivi")
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(DASHBOARD_COLUMNS))}{len(rows) + 1}"
    for i, (_, header) in enumerate(DASHBOARD_COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = max(12, min(len(header) + 2, 34))
    sheet.append([header for _, header in DASHBOARD_COLUMNS])
    for row in rows:
        cells = []
        for key, _ in DASHBOARD_COLUMNS:
            value = row.get(key)
            cell = WriteOnlyCell(sheet)
            if isinstance(value, date):
                cell.value = value
                cell.number_format = "DD/MM/YYYY"
            else:
                _text(cell, value)
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
