"""Who may receive a message (NOT-03). Pure rules, no I/O."""

import re
from dataclasses import dataclass
from typing import Any, Literal

_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")


@dataclass(frozen=True)
class Refusal:
    code: str
    reason: str


def valid_email(address: str) -> bool:
    return (len(address) <= 254 and bool(_EMAIL.match(address)) and ".." not in address
            and not address.startswith(".") and ".@" not in address)


def mobile_number(phone: str) -> str | None:
    """A French mobile number in E.164 (+33 6… / +33 7…), or None when it cannot take an SMS."""
    digits = re.sub(r"[\s.\-()]", "", phone)
    if digits.startswith("0033"):
        digits = "+33" + digits[4:]
    elif digits.startswith("0") and len(digits) == 10:
        digits = "+33" + digits[1:]
    if re.fullmatch(r"\+33[67]\d{8}", digits):
        return digits
    return None


def recipient(contact: dict[str, Any] | None, channel: Literal["email", "sms"]) -> tuple[str | None, Refusal | None]:
    """The address or number to send to, or why the message must not go."""
    if contact is None:
        return None, Refusal("no_record", "Aucune fiche pour ce destinataire : message non envoyé.")
    if channel == "email":
        address = (contact.get("email") or "").strip()
        if not address:
            return None, Refusal("no_address", "Pas d'adresse e-mail sur la fiche.")
        if not valid_email(address):
            return None, Refusal("invalid_address", "Adresse e-mail non valide.")
        if not contact.get("accepts_email"):
            return None, Refusal("no_consent", "N'accepte pas d'être contacté(e) par mail.")
        return address, None
    phone = (contact.get("phone") or "").strip()
    if not phone:
        return None, Refusal("no_address", "Pas de numéro de téléphone sur la fiche.")
    number = mobile_number(phone)
    if number is None:
        return None, Refusal("invalid_address", "Numéro de téléphone non valide pour un SMS (mobile attendu).")
    if not contact.get("accepts_sms"):
        return None, Refusal("no_consent", "N'accepte pas d'être contacté(e) par SMS.")
    return number, None
