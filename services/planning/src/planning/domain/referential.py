"""The planning referential (REF-01..REF-05): antennes, sites, advisors, ODS, ressources.

Pure rules, no I/O. A load merges entries into the current referential by code (entries absent
from the load are kept as they are), then the merged whole is checked.
"""

import hashlib
import json
import re
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from contracts.planning import StructureRef
from servicekit.text import normalise_label


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Structure(Entry):
    name: str = Field(min_length=1)
    siret: str

    @field_validator("siret", mode="before")
    @classmethod
    def _siret_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value


class Antenne(Entry):
    code: str = Field(min_length=1)
    name: str = Field(min_length=1)


class Site(Entry):
    code: str = Field(min_length=1)
    name: str = Field(min_length=1)
    antenne: str
    address: str | None = None
    remote: bool = False
    france_travail_addresses: tuple[str, ...] = ()
    active: bool = True


class Advisor(Entry):
    code: str = Field(min_length=1)
    name: str = Field(min_length=1)
    email: str | None = None
    sites: tuple[str, ...] = ()
    remote: bool = False
    active: bool = True


class Step(Entry):
    order: int = Field(ge=1)
    name: str = Field(min_length=1)
    action_type: str = Field(min_length=1)
    duration_min: int = Field(gt=0)
    nature: Literal["individual", "collective"] = "individual"


# The reference CRM's drop-down lists of the *prestation spéciale* form (PRC-02): the defaults of
# each ODS's settings, so that a referential that does not name them loads unchanged.
BILAN_REASONS = ("Création ou reprise d'entreprise opportune", "Création ou reprise d'entreprise non opportune")
EARLY_EXIT_REASONS = ("Reprise d'emploi", "Entrée en formation", "Création d'entreprise avant la fin de la prestation",
                      "Déménagement", "Raisons de santé", "Autre motif")
ABANDON_REASONS = ("Ne se présente plus aux rendez-vous", "Injoignable", "Raisons personnelles ou familiales",
                   "Abandon du projet de création", "Autre motif")


class Ods(Entry):
    code: str = Field(min_length=1)
    name: str = Field(min_length=1)
    special_service: str | None = None
    sites: tuple[str, ...] = ()
    steps: tuple[Step, ...] = ()
    duration_days: int = Field(default=90, ge=1, description="Theoretical length of a journey (PRC-11).")
    bilan_reasons: tuple[str, ...] = Field(default=BILAN_REASONS, min_length=1,
                                           description="Suite entretien bilan (PRC-02).")
    early_exit_reasons: tuple[str, ...] = Field(default=EARLY_EXIT_REASONS, min_length=1,
                                                description="Motifs de sortie anticipée (PRC-02).")
    abandon_reasons: tuple[str, ...] = Field(default=ABANDON_REASONS, min_length=1,
                                             description="Motifs d'abandon (PRC-02).")


class Resource(Entry):
    code: str = Field(min_length=1)
    name: str = Field(min_length=1)
    antenne: str
    start: date
    end: date
    market_number: str = Field(min_length=1)
    lot_number: str
    ods: tuple[str, ...] = Field(description="Exactly one ODS for an Activ'Créa ressource (REF-04).")
    lead_contractor: str = "self"
    funder: str = "France Travail"
    active: bool = True
    setting_version: int = 1

    @field_validator("ods", mode="before")
    @classmethod
    def _one_or_several(cls, value: object) -> object:
        return (value,) if isinstance(value, str) else value

    @field_validator("lot_number", mode="before")
    @classmethod
    def _lot_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value

    def same_settings(self, other: "Resource") -> bool:
        return self.model_dump(exclude={"setting_version"}) == other.model_dump(exclude={"setting_version"})


MODULES = ("planning", "import", "affectation", "parcours", "facturation", "notifications", "administration",
           "audit")  # servicekit.auth.MODULES


class Profile(Entry):
    """A *profil de droit* (SEC-02): read or write per module, on some antennes or all of them."""

    code: str = Field(min_length=1)
    name: str = Field(min_length=1)
    rights: dict[str, Literal["lecture", "écriture"]] = Field(
        default={}, description="module → lecture or écriture (écriture includes lecture).")
    antennes: tuple[str, ...] | Literal["toutes"] = Field(
        default=(), description="Antennes covered, or « toutes ».")


class User(Entry):
    """A user (REF-02) known by the token's subject, with the profiles they hold."""

    code: str = Field(min_length=1, description="The subject (sub) of the user's tokens.")
    name: str | None = None
    advisor: str | None = Field(default=None, description="The advisor's code, when the user is one.")
    profiles: tuple[str, ...] = ()
    active: bool = True


class ReferentialPart(Entry):
    """What a load sends to planning: any subset of the referential."""

    structure: Structure | None = None
    antennes: tuple[Antenne, ...] = ()
    sites: tuple[Site, ...] = ()
    advisors: tuple[Advisor, ...] = ()
    ods: tuple[Ods, ...] = ()
    resources: tuple[Resource, ...] = ()
    profiles: tuple[Profile, ...] = ()
    users: tuple[User, ...] = ()


def normalise_address(address: str) -> str:
    """Compare France Travail addresses ignoring case, accents, repeated spaces and a trailing dot."""
    return normalise_label(address)


KINDS = {"antennes": "Antenne", "sites": "Site", "advisors": "Conseiller", "ods": "ODS", "resources": "Ressource",
         "profiles": "Profil", "users": "Utilisateur"}


def _duplicates(part: ReferentialPart) -> list[str]:
    messages = []
    for kind, label in KINDS.items():
        seen: set[str] = set()
        for entry in getattr(part, kind):
            if entry.code in seen:
                messages.append(f"{label} « {entry.code} » : code en double dans le fichier.")
            seen.add(entry.code)
    return messages


class Referential(BaseModel):
    """The whole referential at one version."""

    model_config = ConfigDict(extra="forbid")

    version: int = 0
    structure: Structure | None = None
    antennes: dict[str, Antenne] = {}
    sites: dict[str, Site] = {}
    advisors: dict[str, Advisor] = {}
    ods: dict[str, Ods] = {}
    resources: dict[str, Resource] = {}
    profiles: dict[str, Profile] = {}
    users: dict[str, User] = {}

    def merged_with(self, part: ReferentialPart) -> "Referential":
        merged = self.model_copy(deep=True)
        if part.structure is not None:
            merged.structure = part.structure
        for kind in ("antennes", "sites", "advisors", "ods", "profiles", "users"):
            getattr(merged, kind).update({e.code: e for e in getattr(part, kind)})
        for resource in part.resources:
            old = self.resources.get(resource.code)
            version = 1 if old is None else old.setting_version + (0 if old.same_settings(resource) else 1)
            merged.resources[resource.code] = resource.model_copy(update={"setting_version": version})
        return merged

    def problems(self) -> list[str]:
        """Every rule the referential breaks, in French, each naming the entry."""
        msgs = []
        if self.structure and not re.fullmatch(r"\d{14}", self.structure.siret):
            msgs.append(f"Structure : SIRET « {self.structure.siret} » incorrect (14 chiffres attendus).")
        for site in self.sites.values():
            if site.antenne not in self.antennes:
                msgs.append(f"Site « {site.code} » : antenne « {site.antenne} » inconnue.")
            if not site.france_travail_addresses:
                msgs.append(f"Site « {site.code} » : au moins une adresse dans fichiers France Travail est attendue.")
        owners: dict[str, str] = {}
        for site in self.sites.values():
            for address in site.france_travail_addresses:
                other = owners.setdefault(normalise_address(address), site.code)
                if other != site.code:
                    msgs.append(f"Adresse France Travail « {address} » déclarée pour deux sites : "
                                f"« {other} » et « {site.code} ».")
        for advisor in self.advisors.values():
            msgs += [f"Conseiller « {advisor.code} » : site « {s} » inconnu."
                     for s in advisor.sites if s not in self.sites]
        for ods in self.ods.values():
            msgs += [f"ODS « {ods.code} » : site « {s} » inconnu." for s in ods.sites if s not in self.sites]
            orders = [step.order for step in ods.steps]
            if sorted(orders) != list(range(1, len(orders) + 1)):
                msgs.append(f"ODS « {ods.code} » : étapes numérotées {orders}, attendu 1, 2, 3… sans trou "
                            "ni doublon (l'étape 1 est l'entretien initial de diagnostic).")
        for res in self.resources.values():
            if res.antenne not in self.antennes:
                msgs.append(f"Ressource « {res.code} » : antenne « {res.antenne} » inconnue.")
            if len(res.ods) != 1:
                msgs.append(f"Ressource « {res.code} » : une ressource Activ'Créa est liée à exactement une ODS "
                            f"(trouvé : {', '.join(res.ods) or 'aucune'}). L'import en dépend.")
            msgs += [f"Ressource « {res.code} » : ODS « {o} » inconnue." for o in res.ods if o not in self.ods]
            if res.start > res.end:
                msgs.append(f"Ressource « {res.code} » : début {res.start:%d/%m/%Y} après la fin {res.end:%d/%m/%Y}.")
        msgs += self.access_problems()
        return msgs

    def access_problems(self) -> list[str]:
        msgs = []
        for profile in self.profiles.values():
            msgs += [f"Profil « {profile.code} » : module « {m} » inconnu (attendu : {', '.join(MODULES)})."
                     for m in profile.rights if m not in MODULES]
            if profile.antennes != "toutes":
                msgs += [f"Profil « {profile.code} » : antenne « {a} » inconnue."
                         for a in profile.antennes if a not in self.antennes]
        for user in self.users.values():
            msgs += [f"Utilisateur « {user.code} » : profil « {p} » inconnu." for p in user.profiles
                     if p not in self.profiles]
            if user.advisor is not None and user.advisor not in self.advisors:
                msgs.append(f"Utilisateur « {user.code} » : conseiller « {user.advisor} » inconnu.")
        return msgs

    def access_of(self, subject: str) -> dict:
        """SEC-02: a user's rights (module → read|write, the widest of their profiles) and antennes
        (None: all). Unknown or inactive users have none."""
        user = self.users.get(subject)
        rights: dict[str, str] = {}
        antennes: set[str] | None = set()
        for code in (user.profiles if user and user.active else ()):
            profile = self.profiles[code]
            for module, level in profile.rights.items():
                if level == "écriture" or module not in rights:
                    rights[module] = "write" if level == "écriture" else "read"
            if profile.antennes == "toutes" or antennes is None:
                antennes = None
            else:
                antennes |= set(profile.antennes)
        return {"subject": subject, "rights": rights,
                "antennes": None if antennes is None else sorted(antennes),
                "advisor": user.advisor if user else None}

    def digest(self) -> str:
        content = self.model_dump(mode="json", exclude={"version"} | ({"profiles", "users"} if not self.profiles
                                                                     and not self.users else set()))
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()

    def structure_ref(self) -> StructureRef | None:
        return StructureRef(**self.structure.model_dump()) if self.structure else None


def check_part(current: Referential, part: ReferentialPart) -> tuple[Referential, list[str]]:
    """The referential after ``part`` and why it is refused (empty when accepted)."""
    problems = _duplicates(part)
    merged = current.merged_with(part)
    return merged, problems + merged.problems()
