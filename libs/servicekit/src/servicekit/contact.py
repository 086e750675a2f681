"""E-mail addresses and phone numbers as people type them, checked and normalised with the
libraries made for it (email-validator, phonenumbers), for the import and for corrections."""

import re

import phonenumbers
from email_validator import EmailNotValidError, validate_email

# France and the overseas departments and collectivities with their own country codes.
FRENCH_REGIONS = ("FR", "RE", "YT", "GP", "MF", "BL", "GF", "MQ", "PM")
_PHONE_CHARS_RE = re.compile(r"\+?[0-9\s.\-/()]+")


def normalise_email(raw: str) -> str | None:
    """The address lower-cased (``nom@domaine.fr``), else None. No DNS lookup."""
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


def normalise_phone(raw: str) -> str | None:
    """A French (or overseas) phone number in any usual writing -> E.164 (``+33612345678``), else None.

    National numbers ("06 12 34 56 78"), international ones ("+33 7 11 22 33 44", "+33 (0)6 ...",
    "0033 6 ..."), the overseas departments' numbers, and the forms a spreadsheet makes of them
    (leading 0 or "+" dropped: "612345678", "33612345678")."""
    text = raw.replace("\u00a0", " ").strip().replace("(0)", " ")
    if not _PHONE_CHARS_RE.fullmatch(text):
        return None
    digits = re.sub(r"[^0-9]", "", text)
    if not text.startswith("+") and not digits.startswith("00"):
        if len(digits) == 9:
            text = "0" + digits
        elif len(digits) == 11 and digits.startswith("33"):
            text = "+" + digits
    try:
        candidates = [phonenumbers.parse(text, region) for region in
                      (FRENCH_REGIONS[:1] if text.startswith("+") else FRENCH_REGIONS)]
    except phonenumbers.NumberParseException:
        return None
    # A number valid in one of the French regions (0692... is Réunion's), else a metropolitan one
    # of the right length (see _possibly_french).
    found = next((n for n in candidates if _valid_french(n)), None)
    if found is None and _possibly_french(candidates[0]):
        found = candidates[0]
    return None if found is None else phonenumbers.format_number(found, phonenumbers.PhoneNumberFormat.E164)


def _valid_french(number: phonenumbers.PhoneNumber) -> bool:
    return phonenumbers.is_valid_number(number) and phonenumbers.region_code_for_number(number) in FRENCH_REGIONS


def _possibly_french(number: phonenumbers.PhoneNumber) -> bool:
    """For metropolitan France (+33), a number of the right length is enough: the library's metadata
    lags the allocation of new 07 ranges, and a list whose mobile numbers were refused would leave
    people without their reminders."""
    return number.country_code == 33 and phonenumbers.is_possible_number_with_reason(number) == \
        phonenumbers.ValidationResult.IS_POSSIBLE
