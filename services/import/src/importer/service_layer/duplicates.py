"""BEN-03 *doublons*: finding them (an import, a correction, the staff's list) and merging two records.

A doublon is reported, never merged by itself: staff merge with one command, and every service follows
``BeneficiariesMerged``.
"""

import uuid
from datetime import date
from typing import Any

from contracts.importer import BeneficiariesMerged, BeneficiaryMergedItem
from servicekit.errors import NotFound, RefusedInput
from servicekit.uow import current_actor

from importer.domain.duplicates import Duplicate, IdentityKeys, duplicates_of
from importer.domain.records import Beneficiary

RECORDS = "beneficiary records"  # the lock imports, purges and merges hold (UnitOfWork.exclusive)


async def index_records(uow, keys: IdentityKeys) -> int:
    """Give their blind indexes to the live records that have none (made before them); in the caller's
    unit of work. Returns how many were indexed."""
    rows = [{"id": p.id, **keys.of(p.ft_id, p.last_name, p.first_name, p.birth_date)}
            for p in await uow.people.unindexed()]
    await uow.people.set_indexes(rows)
    return len(rows)


async def find_duplicates(uow, keys: IdentityKeys, *, ft_id: str | None, last_name: str | None,
                          first_name: str | None, birth_date: date | None,
                          beneficiary_id: str | None = None) -> list[Duplicate]:
    """The live records that would be the same person as this identity (BEN-03), ``beneficiary_id`` (the
    record being corrected, if any) left out; in the caller's unit of work. A correction (BEN-01) calls it
    with the corrected values and reports what it returns (``Duplicate.message``)."""
    await index_records(uow, keys)
    indexes = keys.of(ft_id, last_name, first_name, birth_date)
    by_ft, by_identity = await uow.people.sharing_indexes([indexes["ft_id_hash"]], [indexes["identity_hash"]])
    return duplicates_of(beneficiary_id, indexes["ft_id_hash"], indexes["identity_hash"], by_ft, by_identity)


def correction_check(keys: IdentityKeys, found: list[Duplicate]):
    """A check for BEN-01's correction (``corrections.Check``): the corrected record's blind indexes are
    written with it, and the live records it now looks like are added to ``found`` (reported with the
    correction, never refused nor merged)."""

    async def index_and_find(uow, before: Beneficiary, after: Beneficiary) -> None:
        indexes = keys.of(after.ft_id, after.last_name, after.first_name, after.birth_date)
        if indexes != keys.of(before.ft_id, before.last_name, before.first_name, before.birth_date):
            await uow.people.set_indexes([{"id": after.id, **indexes}])
            found.extend(await find_duplicates(uow, keys, ft_id=after.ft_id, last_name=after.last_name,
                                               first_name=after.first_name, birth_date=after.birth_date,
                                               beneficiary_id=after.id))

    return index_and_find


def _brief(p: Beneficiary) -> dict[str, Any]:
    return {"id": p.id, "ft_id": p.ft_id, "last_name": p.last_name, "first_name": p.first_name,
            "birth_date": p.birth_date and p.birth_date.isoformat(), "active": p.active,
            "created_at": p.created_at.isoformat()}


async def suspected_pairs(uow, keys: IdentityKeys) -> list[dict[str, Any]]:
    """Every pair of live records sharing an identifiant or an identity: the older one first (the one to keep,
    usually), with the rules they meet."""
    async with uow:
        await index_records(uow, keys)
        found = await uow.people.shared_indexes()
        await uow.commit()
    by_ft: dict[str, set[str]] = {}
    by_identity: dict[str, set[str]] = {}
    for p, ft_hash, identity_hash in found:
        for value, index in ((ft_hash, by_ft), (identity_hash, by_identity)):
            if value:
                index.setdefault(value, set()).add(p.id)
    people = [p for p, _, _ in found]
    order = {p.id: n for n, p in enumerate(people)}
    pairs = []
    for p, ft_hash, identity_hash in found:
        for d in duplicates_of(p.id, ft_hash, identity_hash, by_ft, by_identity):
            if order[d.record_id] > order[p.id]:
                other = people[order[d.record_id]]
                pairs.append({"keep": _brief(p), "other": _brief(other), "rules": list(d.rules),
                              "reason": d.reason()})
    return pairs


def _refusal(kept: Beneficiary, merged: Beneficiary) -> str | None:
    if kept.id == merged.id:
        return f"Impossible de fusionner la fiche {kept.id} avec elle-même."
    for p, role in ((merged, "à fusionner"), (kept, "à garder")):
        if p.merged_into:
            return (f"La fiche {role} {p.id} est déjà fusionnée dans la fiche {p.merged_into} "
                    f"(le {p.merged_at:%d/%m/%Y}) : fusionnez avec {p.merged_into}.")
        if p.purged_at:
            return f"La fiche {role} {p.id} a été purgée (RGPD) : fusion impossible."
    if kept.purge_on and not merged.purge_on:
        # The merged record's journeys would go with the kept one at its purge (IMP-06).
        return (f"La fiche à garder {kept.id} est désactivée et sera purgée le {kept.purge_on:%d/%m/%Y} : gardez "
                f"plutôt la fiche {merged.id} (prestaflow beneficiary merge {merged.id} {kept.id}).")
    return None


async def merge_beneficiaries(uow, kept_id: str, merged_id: str) -> dict[str, Any]:
    """Merge ``merged_id`` into ``kept_id`` (BEN-03): importer's enrolments and registrations move, the merged
    record becomes inactive with where it went, and ``BeneficiariesMerged`` tells every service."""
    async with uow:
        uow.caused_by(f"merge-{uuid.uuid4()}", None, current_actor.get())
        await uow.exclusive(RECORDS)  # never while an import or a purge changes these records
        kept, merged = await uow.people.beneficiary(kept_id), await uow.people.beneficiary(merged_id)
        missing = [i for i, p in ((kept_id, kept), (merged_id, merged)) if p is None]
        if missing:
            raise NotFound([f"Bénéficiaire « {i} » introuvable : rien n'a été fusionné." for i in missing])
        if refusal := _refusal(kept, merged):
            raise RefusedInput([refusal + " Rien n'a été modifié."])
        now = uow.clock.now()
        changes = await uow.merges.follow(merged_id, kept_id, now)
        await uow.people.mark_merged(merged_id, kept_id, now)
        uow.emit_items(BeneficiariesMerged, [BeneficiaryMergedItem(kept_id=kept_id, merged_id=merged_id)])
        await uow.commit()
    return {"kept_id": kept_id, "merged_id": merged_id, "merged_at": now.isoformat(), "changes": changes}


async def merges(uow) -> list[dict[str, Any]]:
    async with uow:
        return await uow.merges.listing()
