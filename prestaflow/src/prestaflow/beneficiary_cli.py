"""``prestaflow beneficiary duplicates|merge``: the *doublons* and their merge (BEN-03).

``register(group)`` adds the commands to the ``beneficiary`` group; the functions are what the demo
uses too."""

from typing import Any

import click

from prestaflow.client import Api
from prestaflow.commands import print_json, run
from prestaflow.embedded import SERVICE_NAMES
from prestaflow.referential import checked


async def duplicates(api: Api) -> list[dict[str, Any]]:
    return checked(await api.request("GET", "importer", "/beneficiaries/duplicates"))


async def merge(api: Api, keep: str, other: str) -> dict[str, Any]:
    """Merge ``other`` into ``keep``, then what each service did (``None``: not followed yet)."""
    result = checked(await api.request("POST", "importer", f"/beneficiaries/{keep}/merge",
                                       json={"merged_id": other}))
    followed = {}
    for service in SERVICE_NAMES:
        rows = checked(await api.request("GET", service, "/admin/merges"))
        followed[service] = next((r["changes"] for r in rows if r["merged_id"] == other), None)
    return result | {"services": followed}


def _person(p: dict[str, Any]) -> str:
    born = f"né(e) le {p['birth_date'][8:10]}/{p['birth_date'][5:7]}/{p['birth_date'][:4]}" if p["birth_date"] else ""
    return f"{p['id']} {p['last_name'] or '?'} {p['first_name'] or ''} {p['ft_id'] or '-'} {born}".rstrip()


def pair_lines(pairs: list[dict[str, Any]]) -> list[str]:
    lines = []
    for pair in pairs:
        lines += [f"{pair['reason']} :", f"    à garder  {_person(pair['keep'])}",
                  f"    doublon   {_person(pair['other'])}",
                  f"    → prestaflow beneficiary merge {pair['keep']['id']} {pair['other']['id']}"]
    lines.append(f"{len(pairs)} doublon(s) probable(s).")
    return lines


def merge_lines(result: dict[str, Any]) -> list[str]:
    lines = [f"Fiche {result['merged_id']} fusionnée dans {result['kept_id']} (BeneficiariesMerged) :"]
    for service, changes in result["services"].items():
        if changes is None:
            lines.append(f"  {service} : pas encore suivi")
        else:
            note = " (les factures émises ne sont jamais réécrites)" if service == "billing" else ""
            lines.append(f"  {service} : " + (", ".join(f"{label} {n}" for label, n in changes.items())
                                              or "rien à reprendre") + note)
    return lines


def register(group: click.Group) -> None:
    group.add_command(beneficiary_duplicates)
    group.add_command(beneficiary_merge)


@click.command("duplicates")
@click.option("--json", "as_json", is_flag=True, help="afficher en JSON")
def beneficiary_duplicates(as_json: bool) -> None:
    """Les doublons probables : même identifiant France Travail, ou mêmes nom, prénom et date de naissance
    (sans tenir compte des majuscules, des accents ni des espaces)."""
    pairs = run(duplicates)
    print_json(pairs) if as_json else click.echo("\n".join(pair_lines(pairs)))


@click.command("merge")
@click.argument("keep", metavar="GARDÉE")
@click.argument("other", metavar="DOUBLON")
@click.option("--json", "as_json", is_flag=True, help="afficher en JSON")
def beneficiary_merge(keep: str, other: str, as_json: bool) -> None:
    """Fusionner la fiche DOUBLON dans la fiche GARDÉE : chaque service reprend ce qu'il tient du doublon
    (parcours, participations, affectations, contacts, messages, factures à émettre ; les factures émises ne
    sont jamais réécrites) ; le doublon devient inactif, avec son historique."""
    result = run(lambda api: merge(api, keep, other))
    print_json(result) if as_json else click.echo("\n".join(merge_lines(result)))
