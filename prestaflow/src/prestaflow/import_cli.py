"""``prestaflow import …``: the Prest@ppli lists, their report and history, the GDPR purge."""

from datetime import datetime
from pathlib import Path
from typing import Any

from prestaflow.client import Api
from prestaflow.referential import Refused

LABELS = (("read", "lues"), ("created", "bénéficiaires créés"), ("updated", "mises à jour"),
          ("unchanged", "inchangées"), ("confirmed", "confirmés"), ("not_confirmed", "non confirmés"),
          ("cancelled", "désinscriptions"), ("skipped", "ignorées (autre prestataire)"), ("errors", "erreurs"))
STATUS = {"imported": "importé", "refused": "refusé, rien n'a été importé", "already_imported": "déjà importé"}


async def upload(api: Api, path: Path, resource: str, partial: bool, kind: str | None, user: str) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise Refused([f"Fichier « {path} » illisible : {exc.strerror}."]) from None
    form = {"resource": resource, "partial": str(partial).lower(), "user": user} | ({"kind": kind} if kind else {})
    response = await api.request("POST", "importer", "/imports", files={"file": (path.name, data)}, data=form)
    if response.status_code not in (200, 422) or "status" not in response.json():
        raise Refused(response.json().get("messages", [f"Erreur {response.status_code}"]))
    return response.json()


def report_lines(report: dict[str, Any]) -> list[str]:
    lines = [f"Import de {report['file_name']} (liste {report['list_kind']}, ressource {report['resource']}) : "
             f"{STATUS[report['status']]}",
             "  " + " · ".join(f"{label} {report['counts'][key]}" for key, label in LABELS)]
    if report.get("differences"):
        lines.append("  Différences :")
        for d in report["differences"]:
            start = datetime.fromisoformat(d["starts_at"])
            row = f"ligne {d['row']}" if d["row"] else "absent du fichier"
            lines.append(f"    {row:18} {d['change']:13} {d['beneficiary'] or '':30} {d['site']:5} {start:%d/%m/%Y %H:%M}")
    if report["messages"]:
        lines.append("  Messages :")
        lines += [f"    {m['message']}" for m in report["messages"]]
    return lines
