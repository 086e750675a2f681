"""BEN-01: e-mail addresses and phone numbers checked and normalised by email-validator and phonenumbers."""

import pytest

from servicekit.contact import normalise_email, normalise_phone


@pytest.mark.parametrize(("raw", "normalised"), [
    ("  Lea.Dupont@Example.ORG ", "lea.dupont@example.org"),
    ("jean-marc+rdv@bge-hdf.fr", "jean-marc+rdv@bge-hdf.fr"),
    ("élodie@exemple.fr", "élodie@exemple.fr"),
])
def test_BEN_01_emails_normalised(raw, normalised):
    assert normalise_email(raw) == normalised


@pytest.mark.parametrize("raw", ["lea.dupont@example", "a@@b.fr", "nope", "a b@c.fr", "x@.fr", ""])
def test_BEN_01_emails_refused(raw):
    assert normalise_email(raw) is None


@pytest.mark.parametrize(("raw", "e164"), [
    ("06 12 34 56 78", "+33612345678"), ("33612345678", "+33612345678"), ("0262 40 00 00", "+262262400000"),
    ("0590 12 34 56", "+590590123456"), ("+33 7 11 22 33 44", "+33711223344")])
def test_BEN_01_phones_to_e164(raw, e164):
    assert normalise_phone(raw) == e164


@pytest.mark.parametrize("raw", ["+1 202 555 0123", "06 12", "+33 6 12 34 56 78 9", "abc"])
def test_BEN_01_phones_refused(raw):
    assert normalise_phone(raw) is None
