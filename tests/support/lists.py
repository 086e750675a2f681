"""Generated Prest@ppli lists (invented people) for volume and crash tests."""

from datetime import date, timedelta

from cluster import SAMPLES

HEADER = (SAMPLES / "liste_inscrits_J-10.csv").read_bytes().decode("cp1252").splitlines()[0]
PLACES = ("12 RUE DE LILLE 59280 ARMENTIERES", "45 BOULEVARD DE LA LIBERTE 59000 LILLE")


def generated_list(rows: int, first_day: date = date(2025, 2, 3)) -> bytes:
    """A J-10 list of ``rows`` distinct people, appointments spread over weekdays, 09:00 to 16:00."""
    lines, day, n = [HEADER], first_day, 0
    while n < rows:
        if day.weekday() < 5:
            for hour in range(9, 17):
                for place in PLACES:
                    for seat in range(3):
                        if n == rows:
                            break
                        received = day - timedelta(days=10)
                        lines.append(";".join((
                            "2024-FT-ACR-0042", "12", "ACTIV'CREA", "BGE HAUTS-DE-FRANCE", "41234567800019",
                            "Présentiel", f"{day:%d/%m/%Y} {hour:02d}:{seat * 20:02d}", place, f"{received:%d/%m/%Y}",
                            "Inscrit", "Mme" if n % 2 else "M.", "01/01/1980", "59000", f"NOM{n:05d}", "Prénom",
                            f"{9000000 + n:07d}X", "", f"personne{n}@example.org", f"06{n:08d}",
                            f"{received:%d/%m/%Y}", "59123 - MARTIN Paul", "")))
                        n += 1
        day += timedelta(days=1)
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")
