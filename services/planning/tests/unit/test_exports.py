"""PLN-07 exports read back: the France Travail CSV and the workbook (one sheet per site).

Format: shared/prestappli/PLANNING_FORMAT.md. Every assertion reads the produced bytes back with the
csv module or openpyxl, as France Travail's upload and a spreadsheet would.
"""

import csv
import io
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from planning.adapters.exports import (CSV_HEADER, SHEET_HEADER, PlanningSlot, france_travail_csv, planning_workbook,
                                       safe_sheet_titles)

ARM_ADDRESS = "12 RUE DE LILLE 59280 ARMENTIERES"
PERIOD = (date(2025, 1, 13), date(2025, 1, 17))


def slot(site="ARM", name="Armentières", start=datetime(2025, 1, 14, 8, 0, tzinfo=UTC), free=1, advisor="Claire DURAND",
         remote=False, address=ARM_ADDRESS, capacity=1) -> PlanningSlot:
    return PlanningSlot(site_code=site, site_name=name, ft_address=address, remote=remote,
                        market_number="2024-FT-ACR-0042", lot_number="12", starts_at=start,
                        ends_at=start + timedelta(hours=1), advisor_name=advisor, free_places=free, capacity=capacity)


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM so that Excel opens it correctly"
    text = data.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


def read_book(slots, period=PERIOD):
    return load_workbook(io.BytesIO(planning_workbook(slots, *period)))


# --- France Travail upload file (CSV) ---------------------------------------------------------------------------


def test_pln07_csv_is_utf8_bom_crlf_with_the_exact_header():
    data = france_travail_csv([slot()])
    assert data.startswith("\ufeffRéférence marché;".encode())
    assert data.count(b"\r\n") == 2 and b"\n" not in data.replace(b"\r\n", b"")  # CRLF only, last line ended too
    assert data.split(b"\r\n")[0].decode("utf-8-sig") == (
        "Référence marché;Lot;Lieu RDV;Modalité;Date RDV;Heure début;Heure fin;Places")
    assert tuple(read_csv(data)[0]) == CSV_HEADER


def test_pln07_csv_values_free_slots_only_sorted_by_site_then_start_in_paris_time():
    slots = [slot(start=datetime(2025, 7, 1, 7, 0, tzinfo=UTC), free=2),  # summer: UTC+2 -> 09:00
             slot(start=datetime(2025, 1, 14, 8, 0, tzinfo=UTC)),  # winter: UTC+1 -> 09:00
             slot(start=datetime(2025, 1, 15, 8, 0, tzinfo=UTC), free=0),  # full: not offered to France Travail
             slot(site="BAI", name="Bailleul", remote=True, address="3 PLACE DU MARCHE 59270 BAILLEUL",
                  start=datetime(2025, 1, 13, 8, 0, tzinfo=UTC)),
             slot(site="AAA", name="Bailleul", address="AUTRE SITE 59270 BAILLEUL",  # same name: site code decides
                  start=datetime(2025, 3, 1, 8, 0, tzinfo=UTC))]
    assert read_csv(france_travail_csv(slots))[1:] == [
        ["2024-FT-ACR-0042", "12", ARM_ADDRESS, "Présentiel", "14/01/2025", "09:00", "10:00", "1"],
        ["2024-FT-ACR-0042", "12", ARM_ADDRESS, "Présentiel", "01/07/2025", "09:00", "10:00", "2"],
        ["2024-FT-ACR-0042", "12", "AUTRE SITE 59270 BAILLEUL", "Présentiel", "01/03/2025", "09:00", "10:00", "1"],
        ["2024-FT-ACR-0042", "12", "3 PLACE DU MARCHE 59270 BAILLEUL", "100% à distance", "13/01/2025", "09:00",
         "10:00", "1"],
    ]


def test_pln07_csv_converts_any_timezone_to_paris_across_dst_changes():
    new_york = ZoneInfo("America/New_York")
    slots = [slot(start=datetime(2025, 3, 30, 0, 30, tzinfo=UTC)),  # 01:30 Paris, just before the spring change
             slot(start=datetime(2025, 3, 30, 1, 30, tzinfo=UTC)),  # 03:30 Paris, just after
             slot(start=datetime(2025, 10, 26, 23, 30, tzinfo=UTC)),  # 00:30 next day in Paris (winter)
             slot(start=datetime(2025, 6, 2, 3, 0, tzinfo=new_york)),  # 09:00 Paris
             slot(start=datetime(2025, 12, 1, 9, 0, tzinfo=timezone(timedelta(hours=1))))]  # fixed offset
    assert [(r[4], r[5], r[6]) for r in read_csv(france_travail_csv(slots))[1:]] == [
        ("30/03/2025", "01:30", "03:30"),  # the hour that does not exist in Paris is skipped
        ("30/03/2025", "03:30", "04:30"),
        ("02/06/2025", "09:00", "10:00"),
        ("27/10/2025", "00:30", "01:30"),
        ("01/12/2025", "09:00", "10:00"),
    ]


def test_pln07_csv_quotes_only_fields_that_need_it():
    data = france_travail_csv([slot(address='BAT. "B"; 12 RUE DE LILLE 59280 ARMENTIERES')])
    line = data.split(b"\r\n")[1].decode()
    assert line == ('2024-FT-ACR-0042;12;"BAT. ""B""; 12 RUE DE LILLE 59280 ARMENTIERES";'
                    "Présentiel;14/01/2025;09:00;10:00;1")
    assert read_csv(data)[1][2] == 'BAT. "B"; 12 RUE DE LILLE 59280 ARMENTIERES'


def test_pln07_csv_with_no_free_slot_is_the_header_alone():
    assert france_travail_csv([slot(free=0)]) == ("\ufeff" + ";".join(CSV_HEADER) + "\r\n").encode()
    assert france_travail_csv([]) == ("\ufeff" + ";".join(CSV_HEADER) + "\r\n").encode()


# --- Sheet titles -------------------------------------------------------------------------------------------------


def test_pln07_sheet_titles_are_cut_cleaned_and_unique():
    long = "Maison de l'emploi et de la création d'entreprise"
    assert safe_sheet_titles([long, long + " bis", "Lille/Roubaix [centre]", "lille/roubaix [centre]"]) == [
        long[:31], long[:27] + " (2)", "Lille Roubaix  centre", "lille roubaix  centre (2)"]
    assert safe_sheet_titles(["a:b\\c?d*e", "", "History", "'Quote'", "Armentières"]) == [
        "a b c d e", "Site", "Site History", "Quote", "Armentières"]
    for title in safe_sheet_titles([long] * 12):
        assert len(title) <= 31
    assert len({t.casefold() for t in safe_sheet_titles([long] * 12)}) == 12


# --- Workbook (XLSX) ----------------------------------------------------------------------------------------------


def test_pln07_workbook_has_one_sheet_per_site_in_site_order_with_safe_unique_titles():
    long = "Maison de l'emploi et de la création d'entreprise"
    slots = [slot(site="LIL", name="Lille/Roubaix"), slot(site="ME2", name=long + " de Lens"),
             slot(site="ME1", name=long + " de Douai"), slot(),
             slot(site="ARM", start=datetime(2025, 1, 15, 8, tzinfo=UTC))]
    book = read_book(slots)
    assert book.sheetnames == ["Armentières", "Lille Roubaix", long[:31], long[:27] + " (2)"]
    # the two long names are told apart by the order of their full names (Douai before Lens)
    assert book[long[:31]].cell(2, 4).value == "Claire DURAND"
    assert book["Armentières"].max_row == 3
    assert book.properties.title == "Planification Activ'Créa 2025 du 13/01/2025 au 17/01/2025"


def test_pln07_workbook_sheet_has_header_frozen_panes_real_dates_and_times_rows_by_start():
    slots = [slot(start=datetime(2025, 7, 1, 12, 0, tzinfo=UTC), advisor="B"),  # summer: 14:00 Paris
             slot(start=datetime(2025, 1, 14, 8, 0, tzinfo=UTC), advisor="A")]  # winter: 09:00 Paris
    sheet = read_book(slots)["Armentières"]
    assert [c.value for c in sheet[1]] == list(SHEET_HEADER) == [
        "Date", "Début", "Fin", "Conseiller", "Modalité", "Places libres", "Capacité", "Lieu RDV"]
    assert sheet.freeze_panes == "A2"
    assert [[c.value for c in row] for row in sheet.iter_rows(min_row=2)] == [
        [datetime(2025, 1, 14), time(9, 0), time(10, 0), "A", "Présentiel", 1, 1, ARM_ADDRESS],
        [datetime(2025, 7, 1), time(14, 0), time(15, 0), "B", "Présentiel", 1, 1, ARM_ADDRESS],
    ]
    for row in sheet.iter_rows(min_row=2):
        assert isinstance(row[0].value, datetime) and row[0].is_date and row[0].number_format == "DD/MM/YYYY"
        assert row[1].is_date and row[1].number_format == "HH:MM"
        assert row[2].is_date and row[2].number_format == "HH:MM"
        assert row[5].data_type == "n" and row[6].data_type == "n"


def test_pln07_workbook_lists_full_and_unassigned_slots_too():
    slots = [slot(free=0, capacity=3, remote=True), slot(advisor=None, start=datetime(2025, 1, 15, 8, tzinfo=UTC))]
    rows = list(read_book(slots)["Armentières"].iter_rows(min_row=2, values_only=True))
    assert [(r[3], r[4], r[5], r[6]) for r in rows] == [
        ("Claire DURAND", "100% à distance", 0, 3), ("à affecter", "Présentiel", 1, 1)]


@pytest.mark.parametrize("text", ["=1+1", "@SUM(A1)", "-2", "+33 6 12 34 56 78", "\tTAB", '=HYPERLINK("http://x","y")'])
def test_pln07_workbook_formula_like_text_stays_text(text):
    slots = [slot(advisor=text, address=text), slot(site="X", name=text, advisor=text, address=text)]
    book = read_book(slots)
    assert len(book.worksheets) == 2
    for sheet in book.worksheets:
        for column in (4, 8):
            cell = sheet.cell(2, column)
            assert cell.value == text and cell.data_type == "s", (sheet.title, column)
    assert safe_sheet_titles([text])[0] in book.sheetnames  # a title is not a cell: never evaluated, only cleaned


def test_pln07_workbook_carriage_return_first_is_not_evaluated_and_control_characters_do_not_break_it():
    sheet = read_book([slot(advisor="\r=1+1", address="12 RUE\x01 DE LILLE")])["Armentières"]
    advisor = sheet.cell(2, 4)
    assert advisor.data_type == "s" and advisor.value.lstrip("\r\n") == "=1+1"  # XML reads a raw CR back as LF
    assert sheet.cell(2, 8).value == "12 RUE DE LILLE"


def test_pln07_workbook_column_widths_fitted_to_content():
    advisor = "Marie-Christine VAN DER BEKEN-DUPONT"
    slots = [slot(advisor=advisor), slot(advisor="Jo", start=datetime(2025, 1, 15, 8, tzinfo=UTC))]
    sheet = read_book(slots)["Armentières"]
    widths = {c: sheet.column_dimensions[c].width for c in "ABCDEFGH"}
    default = 13  # openpyxl's width for a column without one
    assert widths["D"] == len(advisor) + 2 and widths["H"] == len(ARM_ADDRESS) + 2
    assert widths["D"] > default and widths["H"] > default and widths["F"] > default  # "Places libres"
    assert widths["A"] >= len("14/01/2025") and widths["B"] >= len("09:00") and widths["E"] >= len("Présentiel")
    assert len(set(widths.values())) > 2  # each column its own width, not one default


def test_pln07_workbook_for_an_empty_period_is_still_a_valid_file():
    book = read_book([], (date(2025, 2, 1), date(2025, 2, 28)))
    assert book.sheetnames == ["Aucun créneau"]
    assert [c.value for c in book.active[1]] == list(SHEET_HEADER)
    assert book.properties.title == "Planification Activ'Créa 2025 du 01/02/2025 au 28/02/2025"
