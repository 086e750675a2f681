"""The structure's referential file (YAML): read, checked as a whole, split into each owner's part.

Format: see the README ("Referential file"). Each service checks its own part (dry run first, so
that nothing is loaded unless every part is accepted); this module checks only what spans parts.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from servicekit.limits import Limits, capped, french_count, limits, shorten, too_large

SECTIONS = ("structure", "legal_entities", "antennes", "sites", "advisors", "ods", "resources", "buyers",
            "tariffs", "templates", "rules", "profiles", "users")


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


class _Loader(yaml.SafeLoader):
    """Safe YAML without anchors or aliases: a referential never needs them, and an alias bomb of a
    few hundred bytes expands to gigabytes. Refused when met, before anything is built."""

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _Refused(event.start_mark, "ancres et alias YAML (« & », « * ») non acceptés dans un référentiel")
        return super().compose_node(parent, index)


class _Refused(Exception):
    def __init__(self, mark, problem: str):
        super().__init__(problem)
        self.problem_mark, self.problem = mark, problem


@dataclass(frozen=True)
class _BadDate:
    text: str


def _timestamp(loader: _Loader, node: yaml.Node) -> Any:
    """Dates as text (each service parses them); an impossible one (2025-02-30) kept to be named."""
    try:
        return str(yaml.SafeLoader.construct_yaml_timestamp(loader, node))
    except (ValueError, OverflowError):
        return _BadDate(node.value)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)

TEXTS = {"templates": ("subject", "body_text", "body_html")}  # fields limited by template_chars


def _read_bounded(path: Path, limit: int) -> bytes:
    """At most ``limit`` bytes: a larger file is refused before it is read whole."""
    try:
        with path.open("rb") as file:
            data = file.read(limit + 1)
    except (FileNotFoundError, IsADirectoryError):
        raise ReferentialFileError([f"Fichier « {path} » introuvable."]) from None
    if len(data) > limit:
        size = max(len(data), path.stat().st_size)
        raise ReferentialFileError([too_large(f"Fichier « {path.name} »", size, limit, "REFERENTIAL_BYTES") + "."])
    return data


def read(path: Path, bounds: Limits | None = None) -> dict[str, Any]:
    bounds = bounds or limits()
    try:
        text = _read_bounded(path, bounds.referential_bytes).decode("utf-8")
    except UnicodeDecodeError:
        raise ReferentialFileError([f"Fichier « {path} » : encodage UTF-8 attendu."]) from None
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader without aliases
    except (yaml.YAMLError, _Refused) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", ligne {mark.line + 1}, colonne {mark.column + 1}" if mark else ""
        raise ReferentialFileError([f"Fichier « {path.name} » illisible{where} : YAML incorrect "
                                    f"({getattr(exc, 'problem', exc)})."]) from None
    except RecursionError:
        raise ReferentialFileError([f"Fichier « {path.name} » illisible : listes ou objets imbriqués trop "
                                    "profondément pour un référentiel."]) from None
    if not isinstance(data, dict):
        raise ReferentialFileError([f"Fichier « {path.name} » : un document YAML avec les sections "
                                    f"{', '.join(SECTIONS)} est attendu."])
    problems = _value_problems(data, bounds)
    if problems:
        raise ReferentialFileError(capped(problems, 50, lambda n: f"… et {french_count(n)} autre(s) problème(s)."))
    # Dates and numbers travel as JSON text; each service parses them with its own rules.
    return json.loads(json.dumps(data, default=str))


def _where(path: tuple) -> str:
    """("resources", 1, "start") -> 'Section « resources », entrée n°2, champ « start »'."""
    parts = [f"Section « {shorten(str(path[0]))} »"]
    for step in path[1:]:
        parts.append(f"entrée n°{step + 1}" if isinstance(step, int) else f"champ « {shorten(str(step))} »")
    return ", ".join(parts)


def _value_problems(data: dict[str, Any], bounds: Limits) -> list[str]:
    """Impossible dates, over-long values and over-long sections, each named by where it is."""
    problems: list[str] = []
    stack: list[tuple[tuple, Any]] = [((key,), value) for key, value in reversed(data.items())]  # in file order
    while stack:
        path, value = stack.pop()
        if isinstance(value, _BadDate):
            problems.append(f"{_where(path)} : date « {shorten(value.text)} » impossible "
                            "(date AAAA-MM-JJ existante attendue).")
        elif isinstance(value, str):
            longest, setting = ((bounds.template_chars, "TEMPLATE_CHARS") if path[-1] in TEXTS.get(path[0], ())
                                else (bounds.referential_text_chars, "REFERENTIAL_TEXT_CHARS"))
            if len(value) > longest:
                problems.append(f"{_where(path)} : valeur trop longue ({french_count(len(value))} caractères ; "
                                f"{french_count(longest)} au plus, PRESTAFLOW_LIMIT_{setting}).")
        elif isinstance(value, list):
            if len(path) == 1 and len(value) > bounds.referential_entries:
                problems.append(f"{_where(path)} : {french_count(len(value))} entrées ; "
                                f"{french_count(bounds.referential_entries)} au plus "
                                "(PRESTAFLOW_LIMIT_REFERENTIAL_ENTRIES).")
                continue
            stack.extend((path + (i,), item) for i, item in reversed(list(enumerate(value))))
        elif isinstance(value, dict):
            stack.extend((path + (key,), item) for key, item in reversed(value.items()))
    return problems


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
    for key in ("sites", "advisors", "ods", "resources", "profiles", "users"):  # profiles, users: SEC-02
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
