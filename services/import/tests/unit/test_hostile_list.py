"""X-03: hostile or careless Prest@ppli lists (issue #20, cases 3 and 4): limits checked while reading,
control characters refused in identity fields, messages of bounded size."""

import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servicekit.limits import Limits

from importer.domain.registration_list import EXPECTED_HEADER, RegistrationListError, parse_registration_list

SAMPLES = Path(__file__).resolve().parents[5] / "shared" / "prestappli" / "samples"
J10 = (SAMPLES / "liste_inscrits_J-10.csv").read_bytes()
HEADER, FIRST = J10.decode("cp1252").split("\r\n")[:2]


def row(**columns: str) -> str:
    """The sample's first row with some columns (by header) replaced, quoted as Prest@ppli quotes."""
    fields = FIRST.split(";")
    for name, value in columns.items():
        fields[EXPECTED_HEADER.index(name)] = '"' + value.replace('"', '""') + '"'
    return ";".join(fields)


def listing(*rows: str, header: str = HEADER) -> bytes:
    return "\r\n".join([header, *rows, ""]).encode("utf-8")


def refusal(data: bytes, bounds: Limits | None = None) -> list[str]:
    with pytest.raises(RegistrationListError) as caught:
        parse_registration_list(data, bounds)
    return caught.value.messages


@pytest.mark.parametrize("column", ["Nom", "Prénom", "Mail", "Téléphone", "Civilité", "Code postal"])
def test_x03_control_characters_refused_in_identity_fields(column):
    """X-03 case 4: « EVIL\\r\\nBcc: x@y » would become a mail header; the value is not quoted (personal)."""
    parsed = parse_registration_list(listing(row(**{column: "EVIL\r\nBcc: x@y"})))
    assert not parsed.registrations
    assert [e.message for e in parsed.errors] == [
        f"Ligne 2, colonne « {column} » : caractère de contrôle (retour à la ligne, tabulation...) "
        "non accepté dans ce champ."]


def test_x03_a_line_break_in_observations_is_still_accepted():
    parsed = parse_registration_list(listing(row(Observations="première ligne\nseconde ligne")))
    assert not parsed.errors and parsed.registrations[0].observations == "première ligne\nseconde ligne"


def test_x03_names_of_130000_characters_refused():
    """X-03 case 3: a name over PRESTAFLOW_LIMIT_NAME_CHARS is refused, the value not quoted."""
    parsed = parse_registration_list(listing(row(Nom="A" * 130_000)))
    assert not parsed.registrations
    assert [e.message for e in parsed.errors] == [
        "Ligne 2, colonne « Nom » : valeur trop longue (130\u202f000 caractères ; 100 au plus, "
        "PRESTAFLOW_LIMIT_NAME_CHARS)."]
    assert len(parsed.errors[0].message) < 200


def test_x03_a_long_value_is_quoted_cut_short():
    parsed = parse_registration_list(listing(row(Statut="X" * 5_000)))
    [error] = parsed.errors
    assert error.message.startswith("Ligne 2, colonne « Statut » : « XXXX") and "…" in error.message
    assert len(error.message) < 200


def test_x03_file_size_refused_before_anything_is_decoded():
    """X-03 case 3: PRESTAFLOW_LIMIT_IMPORT_BYTES, its size and the limit named."""
    assert refusal(J10, Limits(import_bytes=1_000)) == [
        "Fichier trop volumineux (2,1 ko ; 1 ko au plus, PRESTAFLOW_LIMIT_IMPORT_BYTES) : une liste Prest@ppli est "
        "bien plus petite, vérifiez le fichier."]


def test_x03_too_many_rows_refused_while_reading():
    assert refusal(J10, Limits(import_rows=3)) == [
        "Fichier trop long : plus de 3 lignes (PRESTAFLOW_LIMIT_IMPORT_ROWS) ; rien n'est importé."]
    assert len(parse_registration_list(J10, Limits(import_rows=7)).registrations) == 7


def test_x03_limits_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("PRESTAFLOW_LIMIT_IMPORT_ROWS", "2")
    assert "plus de 2 lignes" in refusal(J10)[0]


def test_x03_a_header_of_a_million_columns_gives_a_short_message():
    """X-03 case 3: a 2 MB header of a million columns gave a 9 MB message."""
    header = HEADER + ";" + ";".join(f"c{n}" for n in range(1_000_000))
    messages = refusal(listing(header=header))
    assert sum(len(m) for m in messages) < 2_000, [len(m) for m in messages]
    assert any(m.startswith("Colonnes inattendues : « c0 », « c1 »") and m.endswith(" et 999\u202f990 autre(s).")
               for m in messages)


VALUES = st.text(st.characters(codec="utf-8"), max_size=300)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.dictionaries(st.sampled_from(EXPECTED_HEADER), VALUES, max_size=6), max_size=20),
       st.sampled_from(["\r\n", "\n"]))
def test_x03_fuzz_rows_give_messages_never_a_traceback(rows, newline):
    """X-03 fuzz: any values in any columns (size-bounded) give registrations or French messages."""
    data = newline.join([HEADER, *(row(**r) for r in rows), ""]).encode("utf-8")
    try:
        parsed = parse_registration_list(data, Limits(import_rows=15))
    except RegistrationListError as exc:
        assert all(isinstance(m, str) and len(m) < 2_000 for m in exc.messages)
        return
    assert all(len(e.message) < 500 for e in parsed.errors)
    assert len(parsed.registrations) + len({e.row for e in parsed.errors}) <= parsed.rows_read


@settings(max_examples=40, deadline=None)
@given(st.binary(min_size=0, max_size=20_000))
def test_x03_fuzz_bytes_bounded_memory(data):
    """X-03 fuzz: any bytes after a valid header, memory bounded by a small multiple of the input."""
    tracemalloc.start()
    try:
        try:
            parse_registration_list(HEADER.encode("cp1252") + b"\r\n" + data)
        except RegistrationListError:
            pass
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000 + 100 * len(data)
