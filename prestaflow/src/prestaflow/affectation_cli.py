"""``prestaflow affectation …``: the worklist of imported appointments and their assignment."""

from datetime import datetime
from typing import Any

from prestaflow.client import Api
from prestaflow.referential import checked


async def worklist(api: Api, resource: str | None, site: str | None) -> list[dict[str, Any]]:
    params = {k: v for k, v in {"resource": resource, "site": site}.items() if v}
    return (await api.request("GET", "affectation", "/appointments", params=params)).json()


async def assign(api: Api, appointment: str, advisor: str, target: str | None, site: str | None,
                 user: str) -> dict[str, Any]:
    return checked(await api.request("POST", "affectation", f"/appointments/{appointment}/assign", json={
        "advisor": advisor, "target_action_id": target, "site": site, "user": user}))


def worklist_lines(rows: list[dict[str, Any]]) -> list[str]:
    lines = []
    for row in rows:
        start = datetime.fromisoformat(row["starts_at"])
        names = ", ".join(f"{b['last_name'] or '?'} {b['first_name'] or ''}".strip() for b in row["beneficiaries"])
        lines.append(f"{start:%d/%m/%Y %H:%M}  {row['site_name'] or row['site']:15} {names:30} "
                     f"{row['resource']}  [{row['action_id']}]")
        if row["refusal"]:
            lines.append(f"    refus précédent : {' '.join(row['refusal'])}")
        for c in row["candidates"]:
            extra = f" — {c['status']}" if c["status"] else ""
            where = f" action {c['target_action_id']}" if c["target_action_id"] else f" site {c['site']}"
            lines.append(f"    {c['category']}. {c['advisor_name']} ({c['advisor']}) : {c['label']}{extra} "
                         f"→{where}")
    lines.append(f"{len(rows)} rendez-vous à affecter.")
    return lines
