"""BEN-01: the rules of a correction, without I/O: values normalised as the import does, every wrong
one refused with its field named, what changed and the consent's new source."""

from datetime import UTC, date, datetime

import pytest

from servicekit.errors import RefusedInput

from importer.domain.corrections import checked_changes, corrected
from importer.domain.records import Beneficiary, Identity

TODAY = date(2025, 1, 5)
NOW = datetime(2025, 1, 5, 9, 30, tzinfo=UTC)


def lea(**values) -> Beneficiary:
    return Beneficiary(**{
        "id": "b1", "ft_id": "1234567A", "civility": "Mme", "last_name": "DUPONT", "first_name": "Léa",
        "birth_date": date(1988, 5, 23), "postcode": "59280", "email": "lea.dupont@example.org",
        "phone": "+33612345678", "accepts_email": True, "accepts_sms": True, "created_by_import": True,
        "active": True, "created_at": NOW, "email_consent_source": "prescription France Travail",
        "email_consent_at": NOW, "sms_consent_source": "prescription France Travail", "sms_consent_at": NOW} | values)


def test_ben01_values_are_normalised():
    assert checked_changes({"civility": "m", "last_name": "  DURAND\t ", "birth_date": "23/05/1988",
                            "email": "Lea@Example.ORG", "phone": "+33 (0)7 11 22 33 44", "postcode": "",
                            "address": "3 place\ndu Marché", "accepts_sms": False}, TODAY) == {
        "civility": "M.", "last_name": "DURAND", "birth_date": date(1988, 5, 23), "email": "lea@example.org",
        "phone": "+33711223344", "postcode": None, "address": "3 place du Marché", "accepts_sms": False}


@pytest.mark.parametrize("given, message", [
    ({"civility": "Dr"}, "Civilité : « Dr » n'est pas une civilité (M. ou Mme attendu)."),
    ({"first_name": ""}, "Prénom : valeur obligatoire, elle ne peut pas être vidée."),
    ({"birth_date": "2030-01-01"}, "Date de naissance : « 2030-01-01 » n'est pas une date de naissance plausible."),
    ({"postcode": "5900"}, "Code postal : « 5900 » n'est pas un code postal (5 chiffres attendus)."),
    ({"last_name": "A\x00B"}, "Nom : caractère de contrôle interdit."),
    ({"accepts_email": "peut-être"}, "Accepte les e-mails : oui ou non attendu."),
    ({"ft_id": "9999999Z"}, "Champ inconnu : « ft_id »."),
])
def test_ben01_each_wrong_value_is_refused_naming_its_field(given, message):
    with pytest.raises(RefusedInput) as refused:
        checked_changes(given, TODAY)
    assert refused.value.messages == [message]


def test_ben01_only_real_changes_count_and_a_consent_takes_staff_as_its_source():
    person = lea()
    after, changed = corrected(person, {"civility": "Mme", "email": "autre@example.org", "accepts_email": False},
                               "cdurand", NOW)
    assert changed == ["email", "accepts_email"]
    assert (after.email, after.accepts_email, after.email_consent_source, after.email_consent_by,
            after.email_consent_at) == ("autre@example.org", False, "personnel", "cdurand", NOW)
    assert (after.sms_consent_source, after.sms_consent_by) == ("prescription France Travail", None)
    assert after.corrected_fields == "email"
    # A later list keeps the corrected e-mail and brings the rest.
    listed = Identity(ft_id="1234567A", civility="Mme", last_name="DUPONT", first_name="Léa",
                      birth_date=date(1988, 5, 23), postcode="59000", email="lea.dupont@example.org",
                      phone="+33612345678")
    kept = after.with_corrections(listed)
    assert (kept.email, kept.postcode) == ("autre@example.org", "59000")
    assert corrected(after, {"email": "autre@example.org"}, "cdurand", NOW)[1] == []
