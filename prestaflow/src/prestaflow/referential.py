"""Loading and showing the referential through the owning services' APIs."""

from pathlib import Path
from typing import Any

from prestaflow import referential_file
from prestaflow.client import Api
from prestaflow.referential_file import ReferentialFileError

# (owning service, path, part name in referential_file.Parts, what the user calls it)
OWNERS = (("planning", "/referential", "planning", "référentiel planning"),
          ("billing", "/catalogue", "billing", "catalogue de facturation"),
          ("notify", "/setup", "notify", "modèles et règles d'envoi"))


class Refused(Exception):
    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


def _messages(response) -> list[str]:
    try:
        return list(response.json()["messages"])
    except (ValueError, KeyError, TypeError):
        return [f"Réponse inattendue du service ({response.status_code}) : {response.text[:200]}"]


def checked(response) -> Any:
    """A service's answer (its JSON, else the response itself), or Refused with its French messages."""
    if response.status_code >= 400:
        raise Refused(_messages(response))
    return response.json() if response.headers.get("content-type", "").startswith("application/json") else response


async def load(api: Api, path: Path) -> dict[str, Any]:
    """Check every part first (dry run), then load them; refused input loads nothing."""
    try:
        parts = referential_file.split(referential_file.read(path))
    except ReferentialFileError as exc:
        raise Refused(exc.messages) from None
    current = (await api.request("GET", "planning", "/referential")).json()
    problems = referential_file.cross_problems(parts, set(current["ods"]), set(current["resources"]))
    for service, route, part, _label in OWNERS:
        response = await api.request("PUT", service, route, params={"dry_run": "true"}, json=getattr(parts, part))
        if response.status_code == 422:
            problems += _messages(response)
        elif response.status_code != 200:
            problems += [f"{service} : erreur {response.status_code}"]
    if problems:
        raise Refused(problems)
    results = {}
    for service, route, part, label in OWNERS:
        response = await api.request("PUT", service, route, json=getattr(parts, part))
        if response.status_code != 200:
            raise Refused(_messages(response))
        results[label] = response.json()
    return results


async def show(api: Api) -> dict[str, Any]:
    """What each service holds: planning's referential and the others' own copies of it."""
    async def get(service: str, route: str) -> Any:
        return (await api.request("GET", service, route)).json()

    return {
        "planning": await get("planning", "/referential"),
        "importer": await get("importer", "/referential"),
        "affectation": await get("affectation", "/referential"),
        "billing": {"catalogue": await get("billing", "/catalogue"), "referential": await get("billing", "/referential")},
        "notify": await get("notify", "/setup"),
    }


def summary(view: dict[str, Any]) -> list[str]:
    p, i, a, b, n = view["planning"], view["importer"], view["affectation"], view["billing"], view["notify"]
    structure = p.get("structure") or {}
    codes = lambda items: ", ".join(sorted(items)) or "aucun"  # noqa: E731
    return [
        f"planning (version {p['version']}) — structure : {structure.get('name', 'non renseignée')}",
        f"  antennes : {codes(p['antennes'])}",
        f"  sites : {codes(p['sites'])}",
        f"  conseillers : {codes(p['advisors'])}",
        f"  ODS : {codes(p['ods'])}",
        f"  ressources : {codes(p['resources'])}",
        f"importer (projection version {i['version']}) — ressources : {codes(r['code'] for r in i['resources'])} ; "
        f"adresses France Travail : {len(i['site_addresses'])}",
        f"affectation (projection version {a['version']}) — conseillers : "
        f"{codes(x['code'] for x in a['advisors'])} ; sites : {codes(x['code'] for x in a['sites'])}",
        f"billing (catalogue version {b['catalogue']['version']}, projection version {b['referential']['version']}) — "
        f"entités juridiques : {codes(b['catalogue']['legal_entities'])} ; tarifs : {len(b['catalogue']['tariffs'])}",
        f"notify (version {n['version']}) — modèles : {codes(t['code'] for t in n['templates'])} ; "
        f"règles : {len(n['rules'])}",
    ]
