"""BEN-03: what makes two records one person, decided without I/O: the blind indexes of the normalised
identifiant France Travail and of name, first name and birth date, and the French message an import keeps."""

from datetime import date

from importer.domain.duplicates import Duplicate, IdentityKeys, duplicates_of

KEYS = IdentityKeys(b"secret")


def test_ben03_names_compare_without_case_accents_spaces_hyphens_or_apostrophes():
    born = date(1979, 11, 2)
    assert KEYS.identity("N'DIAYE", "Moussa", born) == KEYS.identity(" n diaye ", "MOUSSA", born)
    assert KEYS.identity("LEFEBVRE-HERMAN", "Anne-Sophie", born) == KEYS.identity("Lefebvre Herman", "anne sophie", born)
    assert KEYS.identity("ÉTIENNE", "François", born) == KEYS.identity("etienne", "FRANCOIS", born)
    assert KEYS.identity("DUPONT", "Léa", born) != KEYS.identity("DUPONT", "Léa", date(1979, 11, 3))
    assert KEYS.identity("DUPONT", "Léa", None) is None  # without a birth date: the identifiant only
    assert KEYS.ft_id("1234567a ") == KEYS.ft_id("1234 567A") != KEYS.ft_id("1234567B")


def test_ben03_the_indexes_depend_on_the_secret_and_hold_no_clear_value():
    value = KEYS.identity("DUPONT", "Léa", date(1988, 5, 23))
    assert value != IdentityKeys(b"other").identity("DUPONT", "Léa", date(1988, 5, 23))
    assert len(value) == 64 and "dupont" not in value
    assert KEYS.ft_id("1234567A") != KEYS.identity("1234567A", "x", date(2000, 1, 1))


def test_ben03_duplicates_name_each_other_record_with_every_rule_it_meets():
    by_ft = {"f1": {"me", "a"}}
    by_identity = {"i1": {"me", "a", "b"}}
    found = duplicates_of("me", "f1", "i1", by_ft, by_identity)
    assert found == [Duplicate("a", ("ft_id", "identity")), Duplicate("b", ("identity",))]
    assert found[0].message(7, "me") == (
        "Ligne 7 : la fiche me est un doublon probable de la fiche a (même identifiant France Travail et mêmes nom, "
        "prénom et date de naissance) : signalé, rien n'a été fusionné. Si c'est la même personne : prestaflow "
        "beneficiary merge a me.")
    assert duplicates_of("me", None, None, by_ft, by_identity) == []
