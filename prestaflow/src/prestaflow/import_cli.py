"""``prestaflow import …``: the Prest@ppli lists, their report and history, the GDPR purge."""

import asyncio
import sys
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from servicekit.limits import limits, too_large

from prestaflow.client import Api
from prestaflow.referential import Refused

LABELS = (("read", "lues"), ("created", "bénéficiaires créés"), ("updated", "mises à jour"),
          ("unchanged", "inchangées"), ("confirmed", "confirmés"), ("not_confirmed", "non confirmés"),
          ("cancelled", "désinscriptions"), ("skipped", "ignorées (autre prestataire)"), ("errors", "erreurs"))
STATUS = {"imported": "importé", "refused": "refusé, rien n'a été importé", "already_imported": "déjà importé"}


async def upload(api: Api, path: Path, resource: str, partial: bool, kind: str | None, user: str,
                 progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Upload a list; ``progress(done, total)`` is called while the import runs, if given."""
    try:
        size, limit = path.stat().st_size, limits().import_bytes
        if size > limit:  # not read at all (the service would refuse it too)
            raise Refused([too_large(f"Fichier « {path.name} »", size, limit, "IMPORT_BYTES") + "."])
        data = path.read_bytes()
    except OSError as exc:
        raise Refused([f"Fichier « {path} » illisible : {exc.strerror}."]) from None
    upload_id = str(uuid.uuid4())
    form = {"resource": resource, "partial": str(partial).lower(), "user": user, "upload_id": upload_id} | (
        {"kind": kind} if kind else {})
    sending = asyncio.ensure_future(api.request("POST", "importer", "/imports", files={"file": (path.name, data)},
                                                data=form))
    while progress is not None and not sending.done():
        await asyncio.wait([sending], timeout=0.3)
        answer = await api.request("GET", "importer", f"/imports/progress/{upload_id}", settle=False)
        if answer.status_code == 200:
            progress(answer.json()["done"], answer.json()["total"])
    response = await sending
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


class ProgressBar:
    """Rows applied, drawn on the terminal while an import runs (nothing when disabled)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self._bar = None
        self._shown = 0

    def __enter__(self) -> "ProgressBar":
        return self

    def update(self, done: int, total: int) -> None:
        if not self.enabled or total == 0:
            return
        if self._bar is None:
            self._bar = click.progressbar(length=total, label="Import", file=sys.stderr)
            self._bar.__enter__()
        self._bar.update(done - self._shown)
        self._shown = done

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.update(self._bar.length - self._shown)
            self._bar.__exit__(None, None, None)
