"""PLN-07 exports read back: the France Travail CSV and the workbook (one sheet per site)."""

import csv
import io
from datetime import UTC, date, datetime

from openpyxl import load_workbook

from planning.adapters.exports import CSV_HEADER, PlanningSlot, france_travail_csv, planning_workbook, safe_sheet_titles


def slot(site="ARM", name="Armentières", start=datetime(2025, 1, 14, 8, 0, tzinfo=UTC), free=1, advisor="Claire DURAND",
         remote=False) -> PlanningSlot:
    return PlanningSlot(site, name, "12 RUE DE LILLE 59280 ARMENTIERES" if not remote else "A DISTANCE", remote,
                        "2024-FT-ACR-0042", "12", start, start.replace(hour=start.hour + 1), advisor, free, 1)


def test_pln07_csv_is_utf8_bom_crlf_with_the_documented_header_free_slots_only_sorted_paris_time():
    slots = [slot(start=datetime(2025, 7, 1, 7, 0, tzinfo=UTC)),  # summer: UTC+2
             slot(start=datetime(2025, 1, 14, 8, 0, tzinfo=UTC)),  # winter: UTC+1
             slot(start=datetime(2025, 1, 15, 8, 0, tzinfo=UTC), free=0),  # full: not offered to France Travail
             slot(site="DIST", name="À distance", remote=True, start=datetime(2025, 1, 13, 8, 0, tzinfo=UTC))]
    data = france_travail_csv(slots)
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert tuple(rows[0]) == CSV_HEADER
    assert rows[1:] == [
        ["2024-FT-ACR-0042", "12", "12 RUE DE LILLE 59280 ARMENTIERES", "Présentiel", "14/01/2025", "09:00", "10:00", "1"],
        ["2024-FT-ACR-0042", "12", "12 RUE DE LILLE 59280 ARMENTIERES", "Présentiel", "01/07/2025", "09:00", "10:00", "1"],
        ["2024-FT-ACR-0042", "12", "A DISTANCE", "100% à distance", "13/01/2025", "09:00", "10:00", "1"],
    ]


def test_pln07_sheet_titles_are_cut_cleaned_and_unique():
    long = "Maison de l'emploi et de la création d'entreprise"
    assert safe_sheet_titles([long, long + " bis", "Lille/Roubaix [centre]", "lille/roubaix [centre]"]) == [
        long[:31], long[:27] + " (2)", "Lille Roubaix  centre", "lille roubaix  centre (2)"]


def test_pln07_workbook_one_sheet_per_site_real_dates_frozen_header_and_no_formula():
    slots = [slot(), slot(advisor="=1+1", start=datetime(2025, 1, 14, 9, 0, tzinfo=UTC)),
             slot(advisor="@SUM(A1)", start=datetime(2025, 1, 14, 10, 0, tzinfo=UTC)),
             slot(advisor="-2", start=datetime(2025, 1, 14, 13, 0, tzinfo=UTC), free=0),
             slot(site="LIL", name="Lille Liberté", advisor=None)]
    book = load_workbook(io.BytesIO(planning_workbook(slots, date(2025, 1, 13), date(2025, 1, 17))))
    assert book.sheetnames == ["Armentières", "Lille Liberté"]
    sheet = book["Armentières"]
    assert sheet.freeze_panes == "A2"
    assert [c.value for c in sheet[1]] == ["Date", "Début", "Fin", "Conseiller", "Modalité", "Places libres", "Capacité",
                                          "Lieu RDV"]
    assert sheet.max_row == 5  # full slots are listed too, with 0 free places
    first = sheet[2]
    assert first[0].value == datetime(2025, 1, 14) and first[0].number_format == "DD/MM/YYYY"
    assert first[1].value.strftime("%H:%M") == "09:00" and first[1].number_format == "HH:MM"
    for row, text in ((3, "=1+1"), (4, "@SUM(A1)"), (5, "-2")):
        cell = sheet.cell(row, 4)
        assert cell.value == text and cell.data_type == "s"
    assert sheet.column_dimensions["H"].width > 30
    assert book["Lille Liberté"].cell(2, 4).value == "à affecter"
    assert book.properties.title == "Planification Activ'Créa 2025 du 13/01/2025 au 17/01/2025"
