"""Correcting a *fiche entrepreneur* (BEN-01) and reading it with its history.

A correction is one transaction: the record's changed columns, one history row per changed field
(who, when, old -> new; personal values sealed with the person's key), and one
``BeneficiaryCorrected`` item through the outbox, on which every service that keeps a copy
replaces it (notify also stops a channel whose consent was withdrawn).
"""

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from contracts.importer import BeneficiaryCorrected, BeneficiaryCorrectedItem, Consent
from servicekit import crypto
from servicekit.errors import NotFound

from importer.domain.corrections import CONSENTS, PERSONAL, checked_changes, corrected, shown
from importer.domain.records import Beneficiary, Identity
from importer.service_layer.imports import RECORDS

log = logging.getLogger("importer.corrections")
LOCAL = "local"  # the history's actor when no user is known (a command run without authentication)

# A check of the corrected record before it is written (BEN-03's duplicates): ``(uow, before, after)``,
# raising a domain error (RefusedInput, Conflict) to refuse the correction, nothing changed.
Check = Callable[[Any, Beneficiary, Beneficiary], Awaitable[None]]


@dataclass(frozen=True)
class CorrectBeneficiary:
    beneficiary_id: str
    values: dict[str, Any]  # field -> what staff typed ("" empties an optional field; consents: bool)
    actor: str | None = None
    checks: Sequence[Check] = field(default=())


def sealed_identity(key: str, person: Beneficiary) -> str:
    """The record's identity and contact sealed as ``BeneficiaryRegistered`` seals them, with the address."""
    identity = {name: getattr(person, name) for name in Identity.__slots__}
    return crypto.seal(key, identity | {"address": person.address})


def consent(person: Beneficiary, channel: str) -> Consent:
    return Consent(accepted=getattr(person, f"accepts_{channel}"), source=getattr(person, f"{channel}_consent_source"),
                   at=getattr(person, f"{channel}_consent_at"), by=getattr(person, f"{channel}_consent_by"))


def _history_value(key: str, name: str, value: Any) -> str | None:
    value = shown(name, value)
    return crypto.seal(key, {"value": value}) if value is not None and name in PERSONAL else value


async def correct_beneficiary(cmd: CorrectBeneficiary, uow) -> dict[str, Any]:
    """Apply staff's correction; returns the fields changed (none: nothing written, no event).
    Refused as a whole (RefusedInput, 422) when a value is wrong; NotFound for an unknown or purged record."""
    async with uow:
        values = checked_changes(cmd.values, uow.clock.now().date())
        await uow.exclusive(RECORDS)  # never while an import or a purge changes the records
        before = await uow.people.beneficiary(cmd.beneficiary_id, lock=True)
        key = before and await uow.people.key(before.id)
        if before is None or before.purged_at is not None or key is None:
            raise NotFound([f"Bénéficiaire « {cmd.beneficiary_id} » introuvable."])
        actor = cmd.actor or uow.actor or LOCAL
        now = uow.clock.now()
        after, changed = corrected(before, values, actor, now)
        if not changed:
            return {"beneficiary_id": before.id, "changed": []}
        for check in cmd.checks:
            await check(uow, before, after)
        columns = changed + [f"{CONSENTS[n]}_consent_{p}" for n in changed if n in CONSENTS
                             for p in ("source", "at", "by")] + ["corrected_fields"]
        await uow.people.correct(after, columns)
        await uow.people.add_changes([{
            "beneficiary_id": before.id, "changed_at": now, "actor": actor, "field": name,
            "sealed": name in PERSONAL, "old_value": _history_value(key, name, getattr(before, name)),
            "new_value": _history_value(key, name, getattr(after, name))} for name in changed])
        uow.emit_items(BeneficiaryCorrected, [BeneficiaryCorrectedItem(
            beneficiary_id=after.id, sealed=sealed_identity(key, after), changed=tuple(changed),
            email=consent(after, "email"), sms=consent(after, "sms"))])
        await uow.commit()
    # An id and field names, never the values (ARCHITECTURE, Personal data).
    log.info("beneficiary %s corrected: %s", before.id, ",".join(changed), extra={"service": "importer",
                                                                                 "count": len(changed)})
    return {"beneficiary_id": before.id, "changed": changed}


async def history(uow, beneficiary_id: str) -> list[dict[str, Any]]:
    """The record's history for staff: personal values read with the person's key (« ? » once purged)."""
    rows = await uow.people.changes(beneficiary_id)
    key = await uow.people.key(beneficiary_id) if any(r["sealed"] for r in rows) else None

    def value(row: dict[str, Any], token: str | None) -> str | None:
        if token is None or not row["sealed"]:
            return token
        try:
            return crypto.unseal(key, token)["value"]
        except crypto.KeyDestroyed:
            return "?"

    return [{"at": r["changed_at"].isoformat(), "actor": r["actor"], "field": r["field"],
             "old": value(r, r["old_value"]), "new": value(r, r["new_value"])} for r in rows]
