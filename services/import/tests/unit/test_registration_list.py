"""Parser of the Prest@ppli "Liste des inscrits" export (SPEC IMP-01, IMP-02, IMP-03)."""

from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servicekit.clock import PARIS

from importer.domain.registration_list import (
    EXPECTED_HEADER,
    ParsedList,
    RegistrationListError,
    normalise_phone,
    parse_registration_list,
)

# ../shared beside the repository root, wherever it is cloned.
SAMPLES = Path(__file__).resolve().parents[5] / "shared" / "prestappli" / "samples"

HEADER_LINE = ";".join(EXPECTED_HEADER)

VALID_ROW = {
    "Référence marché": "2024-FT-ACR-0042",
    "Lot": "12",
    "Prestation": "ACTIV'CREA",
    "Prestataire": "BGE HAUTS-DE-FRANCE",
    "SIRET prestataire": "41234567800019",
    "Modalité": "Présentiel",
    "Date et heure RDV": "14/01/2025 09:00",
    "Lieu RDV": "12 RUE DE LILLE 59280 ARMENTIERES",
    "Liste reçue le": "04/01/2025",
    "Statut": "Inscrit",
    "Civilité": "Mme",
    "Date de naissance": "23/05/1988",
    "Code postal": "59280",
    "Nom": "DUPONT",
    "Prénom": "Léa",
    "Identifiant France Travail": "1234567A",
    "N° de commande": "",
    "Mail": "lea.dupont@example.org",
    "Téléphone": "06 12 34 56 78",
    "Date de prescription": "02/01/2025",
    "Prescripteur": "59123 - MARTIN Paul",
    "Observations": "",
}


def line(**changes: str) -> str:
    """A data line: VALID_ROW with some columns changed (keyword = header without accents)."""
    values = dict(VALID_ROW)
    for key, value in changes.items():
        values[_COLUMN_BY_KEY[key]] = value
    return ";".join(_quote(values[h]) for h in EXPECTED_HEADER)


_COLUMN_BY_KEY = {
    "market": "Référence marché", "siret": "SIRET prestataire", "modality": "Modalité",
    "starts_at": "Date et heure RDV", "place": "Lieu RDV", "list_date": "Liste reçue le",
    "status": "Statut", "civility": "Civilité", "birth_date": "Date de naissance",
    "last_name": "Nom", "first_name": "Prénom", "ft_id": "Identifiant France Travail",
    "order": "N° de commande", "email": "Mail", "phone": "Téléphone",
    "prescription_date": "Date de prescription", "prescriber": "Prescripteur",
    "observations": "Observations",
}


def _quote(value: str) -> str:
    if any(c in value for c in ';"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def csv_bytes(*lines: str, encoding: str = "cp1252", newline: str = "\r\n", header: str = HEADER_LINE) -> bytes:
    return (newline.join([header, *lines]) + newline).encode(encoding)


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def file_error(data: bytes) -> RegistrationListError:
    with pytest.raises(RegistrationListError) as info:
        parse_registration_list(data)
    assert info.value.messages
    return info.value


# --------------------------------------------------------------------------- samples


def test_imp01_sample_j10_parses_with_exact_values():
    parsed = parse_registration_list(sample("liste_inscrits_J-10.csv"))

    assert parsed.encoding == "cp1252"
    assert parsed.errors == ()
    assert parsed.rows_read == 7
    assert len(parsed.registrations) == 7
    assert all(r.order_number is None for r in parsed.registrations)
    assert [r.row for r in parsed.registrations] == [2, 3, 4, 5, 6, 7, 8]

    lea = parsed.registrations[0]
    assert lea.row == 2
    assert (lea.last_name, lea.first_name, lea.ft_id) == ("DUPONT", "Léa", "1234567A")
    assert lea.starts_at == datetime(2025, 1, 14, 9, 0, tzinfo=PARIS)
    assert lea.starts_at.tzinfo == PARIS and lea.starts_at.utcoffset().total_seconds() == 3600
    assert lea.phone == "+33612345678"
    assert (lea.prescriber_agency, lea.prescriber_name) == ("59123", "MARTIN Paul")
    assert lea.market_number == "2024-FT-ACR-0042" and lea.lot == "12"
    assert (lea.provider_name, lea.provider_siret) == ("BGE HAUTS-DE-FRANCE", "41234567800019")
    assert lea.remote is False
    assert lea.place == "12 RUE DE LILLE 59280 ARMENTIERES"
    assert lea.list_date == date(2025, 1, 4)
    assert lea.status == "Inscrit" and lea.civility == "Mme"
    assert lea.birth_date == date(1988, 5, 23) and lea.postcode == "59280"
    assert lea.email == "lea.dupont@example.org"
    assert lea.prescription_date == date(2025, 1, 2)
    assert lea.observations is None

    by_name = {r.last_name: r for r in parsed.registrations}
    assert by_name["N'DIAYE"].phone == "+33711223344"
    assert by_name["LEFEBVRE-HERMAN"].phone == "+33712345678"
    etienne = by_name["ÉTIENNE"]
    assert etienne.first_name == "François"
    assert etienne.phone == "+33320112233" and etienne.email is None
    assert etienne.observations == "Souhaite un RDV le matin; merci"
    kowalski = by_name["KOWALSKI"]
    assert kowalski.remote is True and kowalski.place == "A DISTANCE"
    assert kowalski.civility is None and kowalski.phone is None
    assert by_name["MOREAU"].provider_siret == "52345678900027"  # another provider: kept, the service skips it


def test_imp01_sample_j2_has_order_numbers():
    parsed = parse_registration_list(sample("liste_inscrits_J-2.csv"))

    assert parsed.errors == ()
    orders = {r.last_name: r.order_number for r in parsed.registrations}
    assert orders == {
        "DUPONT": "BDC-2025-000101",
        "N'DIAYE": "BDC-2025-000102",
        "LEFEBVRE-HERMAN": "BDC-2025-000103",
        "ÉTIENNE": None,
        "KOWALSKI": "BDC-2025-000105",
        "MOREAU": "BDC-2025-000977",
    }
    assert parsed.registrations[0].list_date == date(2025, 1, 12)


def test_imp01_sample_unknown_address_is_parsed_as_is():
    parsed = parse_registration_list(sample("liste_inscrits_adresse_inconnue.csv"))
    assert parsed.errors == ()
    assert [r.place for r in parsed.registrations] == ["7 RUE INCONNUE 59800 LILLE"]


@pytest.mark.parametrize("name", ["liste_inscrits_J-10.csv", "liste_inscrits_J-2.csv"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_imp01_encodings_and_line_endings_parse_identically(name, encoding, newline):
    original = parse_registration_list(sample(name))
    text = sample(name).decode("cp1252").replace("\r\n", "\n").replace("\n", newline)

    parsed = parse_registration_list(text.encode(encoding))

    assert parsed.encoding == encoding
    assert parsed.registrations == original.registrations
    assert parsed.errors == ()


def test_imp01_without_trailing_newline_and_with_trailing_blank_lines():
    text = sample("liste_inscrits_J-10.csv").decode("cp1252")
    expected = parse_registration_list(sample("liste_inscrits_J-10.csv")).registrations

    assert parse_registration_list(text.rstrip("\r\n").encode()).registrations == expected
    assert parse_registration_list((text + "\r\n\r\n;;;\r\n").encode()).registrations == expected


def test_imp01_header_only_is_an_empty_list_not_an_error():
    parsed = parse_registration_list(csv_bytes())
    assert parsed == ParsedList(encoding="cp1252", registrations=(), errors=(), rows_read=0)


def test_imp01_header_spaces_and_stray_bom_are_ignored():
    header = "\ufeff" + ";".join(f" {h} " for h in EXPECTED_HEADER)
    parsed = parse_registration_list(csv_bytes(line(), header=header, encoding="utf-8"))
    assert len(parsed.registrations) == 1


def test_imp01_decomposed_accents_are_normalised():
    import unicodedata

    data = unicodedata.normalize("NFD", "\n".join([HEADER_LINE, line()])).encode("utf-8")
    parsed = parse_registration_list(data)
    assert parsed.errors == ()
    assert parsed.registrations[0].first_name == "Léa"


# --------------------------------------------------------------------------- file level (IMP-02)


@pytest.mark.parametrize("data", [b"", b"   ", b"\r\n\r\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf \n", b"\t\n  \n"])
def test_imp02_empty_file(data):
    assert "Fichier vide" in str(file_error(data))


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\x01\x02\x03binary",
        b"R\xc3\xa9f\xc3\xa9rence march\xc3\xa9;Lot\x00;",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj",
        b"just some text\nwithout any separator\n",
        b"\x07\x08;\x1b",
    ],
)
def test_imp02_not_a_csv(data):
    assert "n'est pas un export CSV de Prest@ppli" in str(file_error(data))


def test_imp02_comma_separated_file_names_the_separator():
    data = ",".join(EXPECTED_HEADER).encode("utf-8")
    message = str(file_error(data))
    assert "n'est pas un export CSV de Prest@ppli" in message
    assert "séparateur « ; » attendu" in message


@pytest.mark.parametrize(
    "data",
    [
        b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml xl/workbook.xml",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00\x00\x00",
    ],
)
def test_imp02_excel_file(data):
    error = file_error(data)
    assert error.messages == ["Fichier Excel reçu : exportez la liste au format CSV depuis Prest@ppli."]


@pytest.mark.parametrize(
    "data",
    [
        HEADER_LINE.encode("cp1252") + b"\r\n\x81\x8d;\x90\r\n",  # undefined in cp1252, invalid UTF-8
        b"\xef\xbb\xbf" + HEADER_LINE.encode("cp1252"),  # UTF-8 BOM then cp1252 text
        HEADER_LINE.encode("utf-16"),  # UTF-16 with its BOM
    ],
)
def test_imp02_undecodable_bytes(data):
    error = file_error(data)
    assert error.messages == ["Fichier illisible : encodage non reconnu (UTF-8 ou Windows-1252 attendu)."]


def _header_with(columns):
    return ";".join(columns)


@pytest.mark.parametrize(
    ("columns", "difference", "extra"),
    [
        pytest.param(
            [("Prestations" if h == "Prestation" else h) for h in EXPECTED_HEADER],
            "colonne 3 (C) « Prestation » attendue, « Prestations » trouvée",
            ["Colonnes manquantes : « Prestation ».", "Colonnes inattendues : « Prestations »."],
            id="renamed",
        ),
        pytest.param(
            [h for h in EXPECTED_HEADER if h != "Mail"],
            "colonne 18 (R) « Mail » attendue, « Téléphone » trouvée",
            ["Colonnes manquantes : « Mail »."],
            id="missing",
        ),
        pytest.param(
            list(EXPECTED_HEADER[:-1]),
            "colonne 22 (V) « Observations » attendue, absente",
            ["Colonnes manquantes : « Observations »."],
            id="missing-last",
        ),
        pytest.param(
            [*EXPECTED_HEADER, "Commentaire"],
            "colonne 23 (W) « Commentaire » en trop (22 colonnes attendues, 23 trouvées)",
            ["Colonnes inattendues : « Commentaire »."],
            id="added",
        ),
        pytest.param(
            [*EXPECTED_HEADER[:13], EXPECTED_HEADER[14], EXPECTED_HEADER[13], *EXPECTED_HEADER[15:]],
            "colonne 14 (N) « Nom » attendue, « Prénom » trouvée",
            ["Les colonnes attendues sont présentes mais dans un autre ordre."],
            id="reordered",
        ),
        pytest.param(
            [h.upper() if h == "Lot" else h for h in EXPECTED_HEADER],
            "colonne 2 (B) « Lot » attendue, « LOT » trouvée",
            [],
            id="case-changed",
        ),
    ],
)
def test_imp01_wrong_header_is_refused_with_expected_and_found(columns, difference, extra):
    found = _header_with(columns)
    error = file_error(csv_bytes(line(), header=found))

    message = str(error)
    assert difference in error.messages[0]
    for expected_line in extra:
        assert expected_line in error.messages
    assert "En-tête attendu : " + HEADER_LINE in error.messages
    assert "En-tête trouvé : " + found in error.messages
    assert message == "\n".join(error.messages)


def test_imp01_unrelated_csv_is_refused_as_not_the_registration_list():
    error = file_error(b"Client;Montant\r\nDUPONT;12\r\n")
    assert "pas la « Liste des inscrits » de Prest@ppli" in str(error)
    assert "En-tête attendu : " + HEADER_LINE in error.messages
    assert "En-tête trouvé : Client;Montant" in error.messages


# --------------------------------------------------------------------------- row level (IMP-03)


def _only_error(parsed, row):
    errors = [e for e in parsed.errors if e.row == row]
    assert len(errors) == 1, errors
    return errors[0]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            {"starts_at": "32/01/2025 9h"},
            "Date et heure RDV",
            "Ligne 3, colonne « Date et heure RDV » : « 32/01/2025 9h » n'est pas une date et heure JJ/MM/AAAA HH:MM.",
        ),
        (
            {"starts_at": "31/02/2025 09:00"},
            "Date et heure RDV",
            "Ligne 3, colonne « Date et heure RDV » : « 31/02/2025 09:00 » n'est pas une date et heure JJ/MM/AAAA HH:MM.",
        ),
        (
            {"starts_at": "30/03/2025 02:30"},
            "Date et heure RDV",
            "Ligne 3, colonne « Date et heure RDV » : « 30/03/2025 02:30 » n'existe pas à l'heure de Paris "
            "(passage à l'heure d'été).",
        ),
        (
            {"list_date": "2025-01-04"},
            "Liste reçue le",
            "Ligne 3, colonne « Liste reçue le » : « 2025-01-04 » n'est pas une date JJ/MM/AAAA.",
        ),
        (
            {"birth_date": "31/13/1988"},
            "Date de naissance",
            "Ligne 3, colonne « Date de naissance » : la valeur n'est pas une date JJ/MM/AAAA.",
        ),
        (
            {"ft_id": "123456A"},
            "Identifiant France Travail",
            "Ligne 3, colonne « Identifiant France Travail » : la valeur n'est pas un identifiant France Travail "
            "(7 chiffres suivis d'une lettre ou d'un chiffre attendus, par exemple 1234567A).",
        ),
        (
            {"email": "lea.dupont@example"},
            "Mail",
            "Ligne 3, colonne « Mail » : la valeur n'est pas une adresse e-mail valide (nom@domaine.fr attendu).",
        ),
        (
            {"phone": "06 12 34 56"},
            "Téléphone",
            "Ligne 3, colonne « Téléphone » : la valeur n'est pas un numéro de téléphone français valide "
            "(par exemple 06 12 34 56 78 ou +33 6 12 34 56 78).",
        ),
        (
            {"civility": "Mr"},
            "Civilité",
            "Ligne 3, colonne « Civilité » : « Mr » n'est pas une civilité reconnue (« M. », « Mme » ou vide attendu).",
        ),
        (
            {"modality": "Distanciel"},
            "Modalité",
            "Ligne 3, colonne « Modalité » : « Distanciel » n'est pas une modalité reconnue "
            "(« Présentiel » ou « 100% à distance » attendu).",
        ),
        (
            {"status": "Annulé"},
            "Statut",
            "Ligne 3, colonne « Statut » : « Annulé » n'est pas un statut reconnu (« Inscrit » ou « Désinscrit » attendu).",
        ),
        (
            {"siret": "4.12346E+13"},
            "SIRET prestataire",
            "Ligne 3, colonne « SIRET prestataire » : « 4.12346E+13 » n'est pas un SIRET (14 chiffres attendus).",
        ),
        (
            {"market": "  "},
            "Référence marché",
            "Ligne 3, colonne « Référence marché » : valeur obligatoire manquante.",
        ),
        ({"place": ""}, "Lieu RDV", "Ligne 3, colonne « Lieu RDV » : valeur obligatoire manquante."),
        ({"last_name": ""}, "Nom", "Ligne 3, colonne « Nom » : valeur obligatoire manquante."),
        ({"first_name": ""}, "Prénom", "Ligne 3, colonne « Prénom » : valeur obligatoire manquante."),
    ],
)
def test_imp03_row_error_names_row_and_column_and_other_rows_are_kept(change, field, message):
    data = csv_bytes(line(), line(**change), line(ft_id="2345678B"))

    parsed = parse_registration_list(data)

    assert parsed.rows_read == 3
    assert [r.row for r in parsed.registrations] == [2, 4]
    error = _only_error(parsed, 3)
    assert (error.field, error.message) == (field, message)


@pytest.mark.parametrize("civility", ["MME", "Mme.", "M", "Mr", "Madame"])
def test_imp03_only_exact_civilities(civility):
    parsed = parse_registration_list(csv_bytes(line(civility=civility)))
    assert parsed.registrations == ()
    assert _only_error(parsed, 2).field == "Civilité"


def test_imp03_personal_values_are_not_quoted_in_messages():
    parsed = parse_registration_list(
        csv_bytes(line(email="secret.person@@example.org", phone="06 66", ft_id="SECRET42", birth_date="99/99/1999"))
    )
    assert {e.field for e in parsed.errors} == {"Mail", "Téléphone", "Identifiant France Travail", "Date de naissance"}
    for error in parsed.errors:
        assert "secret" not in error.message.lower() and "06 66" not in error.message
        assert "99/99" not in error.message


def test_imp03_several_errors_on_one_row():
    parsed = parse_registration_list(csv_bytes(line(civility="Mr", email="nope", status="?")))
    assert parsed.registrations == ()
    assert [(e.row, e.field) for e in parsed.errors] == [(2, "Statut"), (2, "Civilité"), (2, "Mail")]


@pytest.mark.parametrize(("fields", "message"), [(21, "Ligne 3 : 21 colonnes au lieu de 22."),
                                                  (23, "Ligne 3 : 23 colonnes au lieu de 22."),
                                                  (1, "Ligne 3 : 1 colonne au lieu de 22.")])
def test_imp03_wrong_column_count(fields, message):
    values = line().split(";")
    bad = ";".join((values + ["x"])[:fields]) if fields > 1 else "n'importe quoi"
    parsed = parse_registration_list(csv_bytes(line(), bad, line()))

    assert [r.row for r in parsed.registrations] == [2, 4]
    error = _only_error(parsed, 3)
    assert (error.field, error.message) == (None, message)


def test_imp03_quoted_line_break_keeps_later_row_numbers():
    data = csv_bytes(
        line(observations="Première ligne\r\ndeuxième; avec \"guillemets\"\r\ntroisième"),
        line(ft_id="bad"),
        line(ft_id="2345678b"),
    )

    parsed = parse_registration_list(data)

    assert [r.row for r in parsed.registrations] == [2, 6]  # row 2 spans lines 2 to 4
    assert parsed.registrations[0].observations == 'Première ligne\ndeuxième; avec "guillemets"\ntroisième'
    assert parsed.registrations[1].ft_id == "2345678B"
    assert [(e.row, e.field) for e in parsed.errors] == [(5, "Identifiant France Travail")]


def test_imp03_unclosed_quote_is_a_row_error():
    data = csv_bytes(line(), line(observations="x").rsplit(";", 1)[0] + ';"pas fermé', line())
    parsed = parse_registration_list(data)
    assert [r.row for r in parsed.registrations] == [2]
    assert parsed.errors[0].row == 3 and parsed.errors[0].field is None
    assert "guillemet" in parsed.errors[0].message


def test_imp03_text_after_a_closing_quote_is_a_row_error():
    data = csv_bytes(line(), line(observations="x").rsplit(";", 1)[0] + ';"fermé" puis du texte', line())
    parsed = parse_registration_list(data)
    assert [r.row for r in parsed.registrations] == [2, 4]
    assert [(e.row, e.field, e.message) for e in parsed.errors] == [
        (3, None, "Ligne 3 : ligne mal formée (guillemet « \" » mal placé).")
    ]


def test_imp03_blank_lines_between_rows_are_ignored_but_counted_as_lines():
    parsed = parse_registration_list(csv_bytes(line(), "", "   ", line()))
    assert parsed.rows_read == 2
    assert [r.row for r in parsed.registrations] == [2, 5]


# --------------------------------------------------------------------------- values


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("06 12 34 56 78", "+33612345678"),
        ("+33 7 11 22 33 44", "+33711223344"),
        ("0712345678", "+33712345678"),
        ("03.20.11.22.33", "+33320112233"),
        ("0033 6 12 34 56 78", "+33612345678"),
        ("+33 (0)6 12 34 56 78", "+33612345678"),
        ("06-12-34-56-78", "+33612345678"),
        ("06\u00a012\u00a034\u00a056\u00a078", "+33612345678"),
        ("612345678", "+33612345678"),  # leading 0 dropped by a spreadsheet
        ("0692 12 34 56", "+262692123456"),  # Réunion
        ("+596 696 12 34 56", "+596696123456"),  # Martinique
    ],
)
def test_phone_normalised_to_e164(raw, e164):
    assert normalise_phone(raw) == e164
    parsed = parse_registration_list(csv_bytes(line(phone=raw), encoding="utf-8"))
    assert parsed.registrations[0].phone == e164


@pytest.mark.parametrize(
    "raw", ["06 12 34 56", "06 12 34 56 78 90", "+44 20 7946 0958", "00 12", "06 12 34 56 7a", "0012345678", "+590 692 12 34 56"]
)
def test_phone_invalid(raw):
    assert normalise_phone(raw) is None


def test_values_are_stripped_and_normalised():
    parsed = parse_registration_list(
        csv_bytes(
            line(
                email="  Lea.Dupont@Example.ORG ",
                ft_id=" 1234567a ",
                place="  12 RUE DE LILLE 59280 ARMENTIERES  ",
                order=" BDC-2025-000123 ",
                civility="",
                birth_date="",
                prescription_date="",
                prescriber="",
                modality="100% à distance",
                starts_at="01/07/2025 14:30",
                status="Désinscrit",
            )
        )
    )
    (r,) = parsed.registrations
    assert r.email == "lea.dupont@example.org"
    assert r.ft_id == "1234567A"
    assert r.place == "12 RUE DE LILLE 59280 ARMENTIERES"
    assert r.order_number == "BDC-2025-000123"
    assert r.civility is None and r.birth_date is None and r.prescription_date is None
    assert r.prescriber_agency is None and r.prescriber_name is None
    assert r.remote is True and r.status == "Désinscrit"
    assert r.starts_at == datetime(2025, 7, 1, 14, 30, tzinfo=PARIS)
    assert r.starts_at.utcoffset().total_seconds() == 7200


@pytest.mark.parametrize(
    ("raw", "agency", "name"),
    [
        ("59123 - MARTIN Paul", "59123", "MARTIN Paul"),
        ("59123 - MARTIN-DURAND Paul - Anne", "59123", "MARTIN-DURAND Paul - Anne"),
        ("59123-MARTIN Paul", "59123", "MARTIN Paul"),
        ("MARTIN Paul", None, "MARTIN Paul"),
        ("JEAN-PIERRE Martin", None, "JEAN-PIERRE Martin"),
    ],
)
def test_prescriber_split(raw, agency, name):
    (r,) = parse_registration_list(csv_bytes(line(prescriber=raw))).registrations
    assert (r.prescriber_agency, r.prescriber_name) == (agency, name)


# --------------------------------------------------------------------------- properties


def _parse_or_file_error(data: bytes) -> None:
    try:
        result = parse_registration_list(data)
    except RegistrationListError as error:
        assert error.messages and all(isinstance(m, str) and m for m in error.messages)
    else:
        assert isinstance(result, ParsedList)
        assert len(result.registrations) <= result.rows_read
        assert {e.row for e in result.errors}.isdisjoint({r.row for r in result.registrations})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_imp02_any_bytes_give_a_result_or_a_file_error(data):
    _parse_or_file_error(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_imp02_any_bytes_after_a_valid_header_give_a_result_or_a_file_error(tail):
    _parse_or_file_error(HEADER_LINE.encode("cp1252") + b"\r\n" + tail)


_FRAGMENT = st.text(
    alphabet=st.sampled_from(list(';;;;"""\n\n\r ') + ["0", "1", "9", "/", ":", "A", "é", "@", "+", "\x00", "\ufeff"])
    | st.characters(exclude_categories=["Cs"]),
    max_size=400,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_FRAGMENT, st.sampled_from(["\r\n", "\n", ""]))
def test_imp03_random_text_after_a_valid_header_gives_a_result_or_a_file_error(fragment, newline):
    _parse_or_file_error((HEADER_LINE + newline + fragment).encode("utf-8"))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from([line(), line(phone="x"), line(civility="Mr"), line(observations='a"b\nc'), ""]), max_size=8))
def test_imp03_row_numbers_follow_physical_lines(lines):
    parsed = parse_registration_list(csv_bytes(*lines, encoding="utf-8"))
    expected_rows, errors, current = [], [], 2
    for text in lines:
        if text == line() or text == line(observations='a"b\nc'):
            expected_rows.append(current)
        elif text:
            errors.append(current)
        current += 1 + text.count("\n")
    assert [r.row for r in parsed.registrations] == expected_rows
    assert sorted({e.row for e in parsed.errors}) == errors
