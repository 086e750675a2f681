"""``prestaflow planning …``: agendas, duplication, the Activ'Créa planning table and its exports."""

from datetime import date, datetime
from pathlib import Path
from typing import Any

from prestaflow.client import Api
from prestaflow.referential import checked


async def default_offer(api: Api) -> tuple[str | None, str | None]:
    """The Activ'Créa ODS and its ressource when the referential has exactly one of each."""
    ref = checked(await api.request("GET", "planning", "/referential"))
    special = [code for code, o in ref["ods"].items() if o["special_service"]]
    ods = special[0] if len(special) == 1 else None
    resources = [code for code, r in ref["resources"].items() if ods in r["ods"] and r["active"]]
    return ods, resources[0] if len(resources) == 1 else None


def describe(action: dict[str, Any]) -> str:
    start, end = datetime.fromisoformat(action["starts_at"]), datetime.fromisoformat(action["ends_at"])
    who = action["advisor"] or "à affecter"
    return (f"{start:%d/%m/%Y %H:%M}–{end:%H:%M}  {action['site'] or '-':5} {who:10} "
            f"{action['action_type']:14} places libres {action['free_places']}/{action['max_participants']}"
            f"  [{action['action_id']}]")


async def plan(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    if not body.get("absence") and (body.get("ods") is None or body.get("resource") is None):
        ods, resource = await default_offer(api)
        body = body | {"ods": body.get("ods") or ods, "resource": body.get("resource") or resource}
    return checked(await api.request("POST", "planning", "/actions", json=body))


async def duplicate(api: Api, action_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return checked(await api.request("POST", "planning", f"/actions/{action_id}/duplicate", json=body))


async def agenda(api: Api, params: dict[str, Any]) -> list[dict[str, Any]]:
    return checked(await api.request("GET", "planning", "/actions", params=params))


async def table(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    return checked(await api.request("GET", "planning", "/planning-table", params=params))


async def export(api: Api, params: dict[str, Any], out: Path) -> list[Path]:
    """Both PLN-07 exports: the file uploaded to France Travail and the workbook (one sheet per site)."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for suffix in ("csv", "xlsx"):
        response = await api.request("GET", "planning", f"/planning-table/export.{suffix}", params=params)
        checked(response)
        path = out / f"planification_activcrea_{params['from']}_{params['to']}.{suffix}"
        path.write_bytes(response.content)
        written.append(path)
    return written


def table_params(first_day: date, last_day: date, resource: str | None, site: str | None,
                 advisor: str | None) -> dict[str, Any]:
    params = {"from": first_day.isoformat(), "to": last_day.isoformat(), "resource": resource, "site": site,
              "advisor": advisor}
    return {k: v for k, v in params.items() if v}


async def action(api: Api, action_id: str) -> dict[str, Any]:
    """One action with its participant list."""
    return checked(await api.request("GET", "planning", f"/actions/{action_id}"))


async def change(api: Api, action_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    return checked(await api.request("PATCH", "planning", f"/actions/{action_id}", json=changes))


async def cancel(api: Api, action_id: str, reason: str | None) -> dict[str, Any]:
    return checked(await api.request("POST", "planning", f"/actions/{action_id}/cancel",
                                               json={"reason": reason}))


async def add_participant(api: Api, action_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return checked(await api.request("POST", "planning", f"/actions/{action_id}/participants", json=body))


async def remove_participant(api: Api, action_id: str, beneficiary_id: str, reason: str | None) -> dict[str, Any]:
    params = {"reason": reason} if reason else {}
    return checked(await api.request(
        "DELETE", "planning", f"/actions/{action_id}/participants/{beneficiary_id}", params=params))


async def validate_presence(api: Api, action_id: str, beneficiary_id: str, presence: str) -> dict[str, Any]:
    return checked(await api.request(
        "PUT", "planning", f"/actions/{action_id}/participants/{beneficiary_id}/presence",
        json={"presence": presence}))
