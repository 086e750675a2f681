"""Billing's set-up (BIL-01, BIL-02): legal entities, buyers, tariffs. Pure rules, no I/O."""

import hashlib
import json
import re
from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _text(value: object) -> object:
    return str(value) if isinstance(value, int) else value


DEFAULT_VAT_REASON = "TVA non applicable : association non assujettie (article 261-7-1° du CGI)"


class LegalEntity(Entry):
    code: str = Field(min_length=1)
    name: str = Field(min_length=1)
    legal_form: str | None = None
    siret: str
    rcs: str | None = None
    naf: str | None = None
    vat_number: str | None = None
    invoice_prefix: str = Field(min_length=1)
    iban: str
    bic: str
    address: str | None = None
    # VAT treatment printed on invoices (EN 16931 category and exemption reason); the defaults fit
    # an association without a VAT number, as the sample's.
    vat_category: Literal["O", "E"] = "O"
    vat_exemption_reason: str = DEFAULT_VAT_REASON

    _as_text = field_validator("siret", mode="before")(classmethod(lambda cls, v: _text(v)))


class AntenneEntity(Entry):
    """Which legal entity invoices for an antenne's sites (BIL-02)."""

    code: str = Field(min_length=1)
    legal_entity: str


class Buyer(Entry):
    code: str = Field(min_length=1)
    name: str = Field(min_length=1)
    siret: str
    chorus_service_code: str | None = None
    address: str | None = None

    _as_text = field_validator("siret", mode="before")(classmethod(lambda cls, v: _text(v)))


class Tariff(Entry):
    ods: str | None = None
    action_type: str | None = None
    resource: str
    funder: str
    site: str | None = None
    start: date
    end: date | None = None
    amount_eur: Decimal = Field(gt=0)
    unit: Literal["journey", "action"]
    rule: Literal["each_action", "monthly", "quarterly", "on_advisor_validation", "on_close"]
    without_quote: bool = False

    @field_validator("amount_eur", mode="before")
    @classmethod
    def _no_float(cls, value: object) -> object:
        # A float (1200.1 in JSON or YAML) is not an exact amount: ask for text.
        if isinstance(value, float):
            raise ValueError(f"montant à écrire en texte, par exemple \"{value:.2f}\" (nombre à virgule "
                             f"flottante {value!r} refusé)")
        return value

    @property
    def key(self) -> tuple:
        return (self.ods, self.action_type, self.resource, self.funder, self.site, self.start)

    def label(self) -> str:
        priced = f"ODS « {self.ods} »" if self.ods else f"type d'action « {self.action_type} »"
        return f"Tarif {priced} / ressource « {self.resource} » / financeur « {self.funder} » du {self.start:%d/%m/%Y}"


class CataloguePart(Entry):
    base_number: str | None = None
    legal_entities: tuple[LegalEntity, ...] = ()
    antennes: tuple[AntenneEntity, ...] = ()
    buyers: tuple[Buyer, ...] = ()
    tariffs: tuple[Tariff, ...] = ()

    _as_text = field_validator("base_number", mode="before")(classmethod(lambda cls, v: _text(v)))


def iban_is_valid(iban: str) -> bool:
    compact = iban.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", compact):
        return False
    digits = "".join(str(int(c, 36)) for c in compact[4:] + compact[:4])
    return int(digits) % 97 == 1


class Catalogue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = 0
    base_number: str | None = None
    legal_entities: dict[str, LegalEntity] = {}
    antennes: dict[str, AntenneEntity] = {}
    buyers: dict[str, Buyer] = {}
    tariffs: dict[str, Tariff] = {}

    @staticmethod
    def tariff_id(t: Tariff) -> str:
        return "|".join("" if k is None else str(k) for k in t.key)

    def merged_with(self, part: CataloguePart) -> "Catalogue":
        merged = self.model_copy(deep=True)
        if part.base_number is not None:
            merged.base_number = part.base_number
        merged.legal_entities.update({e.code: e for e in part.legal_entities})
        merged.antennes.update({a.code: a for a in part.antennes})
        merged.buyers.update({b.code: b for b in part.buyers})
        merged.tariffs.update({self.tariff_id(t): t for t in part.tariffs})
        return merged

    def problems(self) -> list[str]:
        msgs = []
        if self.base_number is not None and not re.fullmatch(r"[0-9A-Z]{1,4}", self.base_number):
            msgs.append(f"Numéro de base « {self.base_number} » incorrect (1 à 4 chiffres ou lettres majuscules).")
        prefixes: dict[str, str] = {}
        for e in self.legal_entities.values():
            if not re.fullmatch(r"\d{14}", e.siret):
                msgs.append(f"Entité juridique « {e.code} » : SIRET « {e.siret} » incorrect (14 chiffres attendus).")
            if not iban_is_valid(e.iban):
                msgs.append(f"Entité juridique « {e.code} » : IBAN « {e.iban} » incorrect (clé de contrôle fausse).")
            if not re.fullmatch(r"[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?", e.bic):
                msgs.append(f"Entité juridique « {e.code} » : BIC « {e.bic} » incorrect (8 ou 11 caractères).")
            if not re.fullmatch(r"[A-Z0-9]{1,6}", e.invoice_prefix):
                msgs.append(f"Entité juridique « {e.code} » : préfixe de facture « {e.invoice_prefix} » incorrect "
                            "(1 à 6 lettres majuscules ou chiffres).")
            other = prefixes.setdefault(e.invoice_prefix, e.code)
            if other != e.code:
                msgs.append(f"Entité juridique « {e.code} » : préfixe « {e.invoice_prefix} » déjà pris par « {other} ».")
        for a in self.antennes.values():
            if a.legal_entity not in self.legal_entities:
                msgs.append(f"Antenne « {a.code} » : entité juridique « {a.legal_entity} » inconnue.")
        for b in self.buyers.values():
            if not re.fullmatch(r"\d{14}", b.siret):
                msgs.append(f"Acheteur « {b.code} » : SIRET « {b.siret} » incorrect (14 chiffres attendus).")
        for t in self.tariffs.values():
            if (t.ods is None) == (t.action_type is None):
                msgs.append(f"{t.label()} : indiquer une ODS ou un type d'action, pas les deux ni aucun.")
            if t.funder not in self.buyers:
                msgs.append(f"{t.label()} : financeur « {t.funder} » inconnu.")
            if t.end is not None and t.end < t.start:
                msgs.append(f"{t.label()} : fin {t.end:%d/%m/%Y} avant le début.")
        # None (no ODS, no type d'action, no site) sorts before any code instead of failing to compare.
        ordered = sorted(self.tariffs.values(),
                         key=lambda t: (tuple((k is not None, k or "") for k in t.key[:5]), t.start))
        for before, after in zip(ordered, ordered[1:], strict=False):
            if before.key[:5] == after.key[:5] and (before.end is None or before.end >= after.start):
                msgs.append(f"{after.label()} : chevauche le tarif précédent (qui finit "
                            f"{'jamais' if before.end is None else f'le {before.end:%d/%m/%Y}'}).")
        return msgs

    def digest(self) -> str:
        content = self.model_dump(mode="json", exclude={"version"})
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def duplicate_codes(part: CataloguePart) -> list[str]:
    msgs = []
    for kind, label in (("legal_entities", "Entité juridique"), ("antennes", "Antenne"), ("buyers", "Acheteur")):
        seen: set[str] = set()
        for entry in getattr(part, kind):
            if entry.code in seen:
                msgs.append(f"{label} « {entry.code} » : code en double dans le fichier.")
            seen.add(entry.code)
    keys: set[tuple] = set()
    for t in part.tariffs:
        if t.key in keys:
            msgs.append(f"{t.label()} : tarif en double dans le fichier.")
        keys.add(t.key)
    return msgs


def summary(catalogue: Catalogue, priced: dict[str, str], today: date) -> dict[str, list[dict]]:
    """BIL-01: tariffs in force, ending within 30 days, ended; and what has no tariff in force.
    ``priced``: the ressources to check, with their ODS (billing's projection of the referential)."""
    def view(t: Tariff) -> dict:
        return t.model_dump(mode="json") | {"label": t.label()}

    tariffs = list(catalogue.tariffs.values())
    in_force = [t for t in tariffs if t.start <= today and (t.end is None or today <= t.end)]
    return {
        "in_force": [view(t) for t in in_force],
        "ending_within_30_days": [view(t) for t in in_force if t.end is not None and (t.end - today).days <= 30],
        "ended": [view(t) for t in tariffs if t.end is not None and t.end < today],
        "future": [view(t) for t in tariffs if t.start > today],
        "without_tariff": [{"ods": ods, "resource": resource, "reason": f"Aucun tarif en vigueur le {today:%d/%m/%Y} "
                            f"pour l'ODS « {ods} » et la ressource « {resource} »."}
                           for resource, ods in sorted(priced.items())
                           if not any(t.resource == resource and t.ods == ods for t in in_force)],
    }
