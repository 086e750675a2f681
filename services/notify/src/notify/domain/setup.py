"""Templates (modèles) and automatic sending rules (NOT-01, NOT-02). Pure rules, no I/O."""

import hashlib
import json
from typing import Literal

from jinja2 import TemplateSyntaxError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field

from notify.domain.fields import FIELDS, TEMPLATE_FIELDS

_env = SandboxedEnvironment(autoescape=True)


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Template(Entry):
    code: str = Field(min_length=1)
    channel: Literal["email", "sms"]
    subject: str | None = None
    body_html: str | None = None
    body_text: str | None = None
    active: bool = True


class Rule(Entry):
    ods: str = Field(min_length=1)
    confirmation: Literal["yes", "no", "any"]
    template: str
    delay_days: int = Field(ge=-60, le=60)

    @property
    def key(self) -> str:
        return f"{self.ods}|{self.confirmation}|{self.template}|{self.delay_days}"


class SetupPart(Entry):
    templates: tuple[Template, ...] = ()
    rules: tuple[Rule, ...] = ()


def template_problems(t: Template) -> list[str]:
    msgs = []
    if t.channel == "email" and not t.subject:
        msgs.append(f"Modèle « {t.code} » : un e-mail doit avoir un objet.")
    if t.channel == "sms" and not t.body_text:
        msgs.append(f"Modèle « {t.code} » : un SMS doit avoir un texte.")
    for label, source in (("objet", t.subject), ("corps HTML", t.body_html), ("texte", t.body_text)):
        if not source:
            continue
        try:
            names = meta.find_undeclared_variables(_env.parse(source))
        except TemplateSyntaxError as exc:
            msgs.append(f"Modèle « {t.code} » ({label}), ligne {exc.lineno} : syntaxe incorrecte ({exc.message}).")
            continue
        msgs += [f"Modèle « {t.code} » ({label}) : champ « {n} » inconnu (champs possibles : "
                 f"{', '.join(TEMPLATE_FIELDS)})." for n in sorted(names - set(TEMPLATE_FIELDS))]
        msgs += [f"Modèle « {t.code} » ({label}) : {problem}" for problem in field_problems(source)]
    return msgs


def field_problems(source: str) -> list[str]:
    """Fields of the four objects that do not exist, e.g. ``beneficiary.nom``, each named."""
    tree = _env.parse(source)
    used: set[str] = set()
    problems: list[str] = []
    inner: set[int] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        target = node.node
        if not (isinstance(target, nodes.Name) and target.name in FIELDS):
            continue
        inner.add(id(target))
        if isinstance(node, nodes.Getattr):
            name = node.attr
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            name = node.arg.value
        else:
            problems.append(f"« {target.name}[…] » : nommez le champ (par exemple {target.name}."
                            f"{next(iter(FIELDS[target.name]))}).")
            continue
        if name not in FIELDS[target.name] and f"{target.name}.{name}" not in used:
            used.add(f"{target.name}.{name}")
            problems.append(f"champ « {target.name}.{name} » inconnu (champs possibles de {target.name} : "
                            f"{', '.join(FIELDS[target.name])}).")
    for node in tree.find_all(nodes.Name):
        if node.ctx == "load" and node.name in FIELDS and id(node) not in inner and node.name not in used:
            used.add(node.name)
            problems.append(f"« {node.name} » seul n'est pas un champ : écrivez par exemple "
                            f"{node.name}.{next(iter(FIELDS[node.name]))}.")
    return problems


class NotificationSetup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = 0
    templates: dict[str, Template] = {}
    rules: dict[str, Rule] = {}

    def merged_with(self, part: SetupPart) -> "NotificationSetup":
        merged = self.model_copy(deep=True)
        merged.templates.update({t.code: t for t in part.templates})
        merged.rules.update({r.key: r for r in part.rules})
        return merged

    def problems(self) -> list[str]:
        msgs = [m for t in self.templates.values() for m in template_problems(t)]
        known = set(self.templates) | set(SYSTEM_CODES)
        msgs += [f"Règle {r.ods} / confirmation {r.confirmation} / J{r.delay_days:+d} : "
                 f"modèle « {r.template} » inconnu." for r in self.rules.values() if r.template not in known]
        return msgs

    def digest(self) -> str:
        content = self.model_dump(mode="json", exclude={"version"})
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


# Codes of the built-in system templates (MBV access and reminder, GDPR information): see defaults.py.
SYSTEM_CODES = ("SYS-MBV-ACCES", "SYS-MBV-RELANCE", "SYS-RGPD")


def duplicate_codes(part: SetupPart) -> list[str]:
    seen: set[str] = set()
    msgs = []
    for t in part.templates:
        if t.code in seen:
            msgs.append(f"Modèle « {t.code} » : code en double dans le fichier.")
        seen.add(t.code)
    return msgs
