"""Correcting a *fiche entrepreneur* (BEN-01): what staff may change, checked and normalised the way
an import does it, and what the history records. Pure rules, no I/O."""

import re
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from servicekit.contact import normalise_email, normalise_phone
from servicekit.errors import RefusedInput

from importer.domain.records import Beneficiary

PRESCRIPTION = "prescription France Travail"  # the consents an import records
STAFF = "personnel"  # the consents staff change

# The fields a correction may change, with the label a user reads. Personal ones are sealed in the
# history and in events; the consents are not personal data.
LABELS = {"civility": "Civilité", "last_name": "Nom", "first_name": "Prénom", "birth_date": "Date de naissance",
          "postcode": "Code postal", "address": "Adresse", "email": "E-mail", "phone": "Téléphone",
          "accepts_email": "Accepte les e-mails", "accepts_sms": "Accepte les SMS"}
CONSENTS = {"accepts_email": "email", "accepts_sms": "sms"}
PERSONAL = tuple(f for f in LABELS if f not in CONSENTS)
CIVILITIES = {"m.": "M.", "m": "M.", "mme": "Mme", "mme.": "Mme"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_POSTCODE = re.compile(r"\d{5}")
MAX_NAME, MAX_ADDRESS = 200, 500


def _text(label: str, raw: str, limit: int, errors: list[str], required: bool = False) -> str | None:
    value = " ".join(raw.split()) if raw is not None else ""
    if not value:
        if required:
            errors.append(f"{label} : valeur obligatoire, elle ne peut pas être vidée.")
        return None
    if _CONTROL.search(value):
        errors.append(f"{label} : caractère de contrôle interdit.")
    elif len(value) > limit:
        errors.append(f"{label} : {limit} caractères au plus.")
    return value


def _birth_date(raw: str, today: date, errors: list[str]) -> date | None:
    text = raw.strip()
    if not text:
        return None
    for form in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            value = datetime.strptime(text, form).date()
            break
        except ValueError:
            continue
    else:
        errors.append(f"Date de naissance : « {text} » n'est pas une date (JJ/MM/AAAA ou AAAA-MM-JJ attendu).")
        return None
    if not date(1900, 1, 1) <= value < today:
        errors.append(f"Date de naissance : « {text} » n'est pas une date de naissance plausible.")
    return value


def checked_changes(given: dict[str, Any], today: date) -> dict[str, Any]:
    """The values ``given`` (field -> what staff typed; "" empties an optional field), normalised;
    every wrong one refused at once, with a French message naming its field (nothing is changed)."""
    errors: list[str] = []
    values: dict[str, Any] = {}
    unknown = sorted(set(given) - set(LABELS))
    if unknown:
        raise RefusedInput([f"Champ inconnu : « {name} »." for name in unknown])
    for name, label in LABELS.items():  # the messages in the order of the record
        if name not in given:
            continue
        raw = given[name]
        if name in CONSENTS:
            if not isinstance(raw, bool):
                errors.append(f"{label} : oui ou non attendu.")
            values[name] = raw
            continue
        raw = "" if raw is None else raw
        if not isinstance(raw, str):
            errors.append(f"{label} : texte attendu.")
        elif name == "civility":
            text = raw.strip()
            values[name] = CIVILITIES.get(text.lower()) if text else None
            if text and values[name] is None:
                errors.append(f"Civilité : « {text} » n'est pas une civilité (M. ou Mme attendu).")
        elif name in ("last_name", "first_name"):
            values[name] = _text(label, raw, MAX_NAME, errors, required=True)
        elif name == "address":
            values[name] = _text(label, raw, MAX_ADDRESS, errors)
        elif name == "postcode":
            text = raw.strip()
            values[name] = text or None
            if text and not _POSTCODE.fullmatch(text):
                errors.append(f"Code postal : « {text} » n'est pas un code postal (5 chiffres attendus).")
        elif name == "birth_date":
            values[name] = _birth_date(raw, today, errors)
        elif name == "email":
            values[name] = normalise_email(raw) if raw.strip() else None
            if raw.strip() and values[name] is None:
                errors.append(f"E-mail : « {raw.strip()} » n'est pas une adresse e-mail valide "
                              "(nom@domaine.fr attendu).")
        elif name == "phone":
            values[name] = normalise_phone(raw) if raw.strip() else None
            if raw.strip() and values[name] is None:
                errors.append(f"Téléphone : « {raw.strip()} » n'est pas un numéro de téléphone français valide "
                              "(par exemple 06 12 34 56 78 ou +33 6 12 34 56 78).")
    if errors:
        raise RefusedInput(errors)
    return values


def corrected(person: Beneficiary, values: dict[str, Any], actor: str, now: datetime) -> tuple[Beneficiary, list[str]]:
    """The record after the correction, and the fields that really changed (in ``LABELS`` order). A
    consent that changes takes staff as its source, the actor and the time."""
    changed = [name for name in LABELS if name in values and getattr(person, name) != values[name]]
    updates: dict[str, Any] = {name: values[name] for name in changed}
    for name in changed:
        if name in CONSENTS:
            channel = CONSENTS[name]
            updates |= {f"{channel}_consent_source": STAFF, f"{channel}_consent_at": now,
                        f"{channel}_consent_by": actor}
    corrected_before = [f for f in (person.corrected_fields or "").split(",") if f]
    corrected_now = corrected_before + [f for f in changed if f in PERSONAL and f not in corrected_before]
    if corrected_now != corrected_before:
        updates["corrected_fields"] = ",".join(corrected_now)
    return replace(person, **updates), changed


def shown(name: str, value: Any) -> str | None:
    """A field's value as the history keeps and shows it."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "oui" if value else "non"
    return value.isoformat() if isinstance(value, date) else str(value)
