"""The structure's referential file (YAML): read, checked as a whole, split into each owner's part.

Format: see the README ("Referential file"). Each service checks its own part (dry run first, so
that nothing is loaded unless every part is accepted); this module checks only what spans parts.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SECTIONS = ("structure", "legal_entities", "antennes", "sites", "advisors", "ods", "resources", "buyers",
            "tariffs", "templates", "rules", "profiles")


class ReferentialFileError(Exception):
    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


@dataclass
class Parts:
    """What each owning service receives."""

    planning: dict[str, Any] = field(default_factory=dict)
    billing: dict[str, Any] = field(default_factory=dict)
    notify: dict[str, Any] = field(default_factory=dict)


def read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReferentialFileError([f"Fichier « {path} » introuvable."]) from None
    except UnicodeDecodeError:
        raise ReferentialFileError([f"Fichier « {path} » : encodage UTF-8 attendu."]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", ligne {mark.line + 1}, colonne {mark.column + 1}" if mark else ""
        raise ReferentialFileError([f"Fichier « {path.name} » illisible{where} : YAML incorrect "
                                    f"({getattr(exc, 'problem', exc)})."]) from None
    if not isinstance(data, dict):
        raise ReferentialFileError([f"Fichier « {path.name} » : un document YAML avec les sections "
                                    f"{', '.join(SECTIONS)} est attendu."])
    # Dates and numbers travel as JSON text; each service parses them with its own rules.
    return json.loads(json.dumps(data, default=str))


def split(data: dict[str, Any]) -> Parts:
    problems = [f"Section « {key} » inconnue (sections possibles : {', '.join(SECTIONS)})."
                for key in data if key not in SECTIONS]
    for key in SECTIONS:
        if key != "structure" and key in data and not isinstance(data[key], list):
            problems.append(f"Section « {key} » : une liste est attendue.")
    if problems:
        raise ReferentialFileError(problems)
    structure = data.get("structure") or {}
    if not isinstance(structure, dict):
        raise ReferentialFileError(["Section « structure » : name, siret et base_number sont attendus."])
    entries = {key: [e for e in data.get(key) or []] for key in SECTIONS if key != "structure"}
    not_mappings = [f"Section « {key} », entrée n°{i + 1} : un objet (clé: valeur) est attendu."
                    for key, items in entries.items() for i, e in enumerate(items) if not isinstance(e, dict)]
    if not_mappings:
        raise ReferentialFileError(not_mappings)

    parts = Parts()
    if {"name", "siret"} & structure.keys():
        parts.planning["structure"] = {k: structure.get(k) for k in ("name", "siret")}
    parts.planning["antennes"] = [{k: v for k, v in a.items() if k != "legal_entity"} for a in entries["antennes"]]
    for key in ("sites", "advisors", "ods", "resources"):
        parts.planning[key] = entries[key]
    if "base_number" in structure:
        parts.billing["base_number"] = structure["base_number"]
    parts.billing["legal_entities"] = entries["legal_entities"]
    parts.billing["antennes"] = [{"code": a.get("code"), "legal_entity": a["legal_entity"]}
                                 for a in entries["antennes"] if "legal_entity" in a]
    parts.billing["buyers"] = entries["buyers"]
    parts.billing["tariffs"] = entries["tariffs"]
    parts.notify["templates"] = entries["templates"]
    parts.notify["rules"] = entries["rules"]
    if entries["profiles"]:
        raise ReferentialFileError(["Section « profiles » : les profils de droit ne se chargent pas encore "
                                    "par fichier ; retirez la section."])
    return parts


def cross_problems(parts: Parts, known_ods: set[str], known_resources: set[str]) -> list[str]:
    """References from billing's and notify's parts to planning's codes (in the file or already loaded)."""
    ods = known_ods | {o.get("code") for o in parts.planning.get("ods", [])}
    resources = known_resources | {r.get("code") for r in parts.planning.get("resources", [])}
    problems = []
    for i, t in enumerate(parts.billing.get("tariffs", []), start=1):
        if t.get("ods") is not None and t["ods"] not in ods:
            problems.append(f"Tarif n°{i} : ODS « {t['ods']} » inconnue.")
        if t.get("resource") is not None and t["resource"] not in resources:
            problems.append(f"Tarif n°{i} : ressource « {t['resource']} » inconnue.")
    for i, r in enumerate(parts.notify.get("rules", []), start=1):
        if r.get("ods") is not None and r["ods"] not in ods:
            problems.append(f"Règle n°{i} : ODS « {r['ods']} » inconnue.")
    return problems
