"""Importer's HTTP API (under /importer)."""

import logging
from typing import Any, Literal

from fastapi import APIRouter, Body, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from servicekit.auth import Scope, current_principal, right, scope, services_only
from servicekit.errors import NotFound
from servicekit.uow import current_actor
from servicekit.runtime import ServiceRuntime

from importer.adapters.identity import IdentitySecret
from importer.adapters.progress import ImportProgress
from importer.config import ImporterSettings
from importer.domain.duplicates import Duplicate
from importer.service_layer import corrections, duplicates, imports


log = logging.getLogger("importer.keys")

def _json(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}


def _person_json(p: dict[str, Any]) -> dict[str, Any]:
    return _json(p) | {"enrolments": [
        _json(e) | {"registration": e["registration"] and _json(e["registration"])} for e in p["enrolments"]]}


def enrolled_on(person: dict[str, Any]) -> list[str]:
    """The ressources a person is enrolled on: they are seen by the antennes of any of them."""
    return [e["resource_code"] for e in person["enrolments"]]


class BeneficiaryCorrection(BaseModel):
    """The fields to change on a *fiche entrepreneur* (BEN-01); absent ones stay as they are."""

    model_config = ConfigDict(extra="forbid")

    civility: str | None = Field(None, description="M. or Mme; \"\" empties it", examples=["Mme"])
    last_name: str | None = Field(None, examples=["DUPONT"])
    first_name: str | None = Field(None, examples=["Léa"])
    birth_date: str | None = Field(None, description="AAAA-MM-JJ or JJ/MM/AAAA", examples=["1988-05-23"])
    postcode: str | None = Field(None, examples=["59000"])
    address: str | None = Field(None, description="Postal address", examples=["12 rue de la Paix, 59000 Lille"])
    email: str | None = Field(None, examples=["lea.dupont@example.org"])
    phone: str | None = Field(None, examples=["06 12 34 56 78"])
    accepts_email: bool | None = Field(None, description="Accepte d'être contacté par mail")
    accepts_sms: bool | None = Field(None, description="Accepte d'être contacté par SMS")


async def served_keys(request: Request, asked: int, served: int) -> None:
    """SEC-03: which service fetched how many keys (counts and the caller, never a key)."""
    caller = await current_principal(request)
    log.info("beneficiaries' keys served", extra={"service": caller.service or caller.subject,
                                                  "asked": asked, "served": served})


def build_router(runtime: ServiceRuntime, progress: ImportProgress,
                 settings: ImporterSettings | None = None, identity: IdentitySecret | None = None) -> APIRouter:
    router = APIRouter(tags=["importer"])
    uow = runtime.uow_factory
    identity = identity or IdentitySecret(None, runtime.database.sessions)  # BEN-03's blind indexes
    settings = settings or ImporterSettings()
    # SEC-03: only the services that read sealed personal data (settings.key_readers) get keys
    key_readers = services_only("import", lambda: settings.key_readers, "de lire les clés des bénéficiaires")

    async def resource_antennes() -> list[tuple[str, str]]:
        async with uow() as u:
            return [(r["code"], r["antenne_code"]) for r in (await u.referential.snapshot())["resources"]]

    # SEC-02: the ressources of the antennes the caller's profiles cover
    in_scope = scope(resource_antennes, "la ressource")

    @router.get("/referential", dependencies=[right("import", "read")])
    async def get_referential_projection() -> dict[str, Any]:
        """What importer knows of the referential: ressources, ODS and France Travail addresses."""
        async with uow() as u:
            return await u.referential.snapshot()

    @router.post("/imports", dependencies=[right("import", "write")])
    async def upload_list(file: UploadFile = File(description="Prest@ppli « Liste des inscrits » (CSV)"),
                          resource: str = Form(description="Ressource code", examples=["ACR2025-L12"]),
                          partial: bool = Form(False, description="Import recognised rows, report the others"),
                          kind: Literal["J-10", "J-2"] | None = Form(None, description="Default: from the dates"),
                          user: str = Form("inconnu", description="Ignored when the caller is authenticated"),
                          upload_id: str | None = Form(None, description="Id to follow the progress with"),
                          resources: Scope = in_scope) -> JSONResponse:
        """IMP-01..IMP-08: 200 imported or already imported, 422 refused (nothing imported) with the report."""
        resources.changeable(resource)
        user = current_actor.get() or user  # SEC-04: the authenticated user, not what the form says
        report = await imports.import_list(imports.ImportList(
            file.filename or "liste.csv", await file.read(), resource, user, partial, kind, upload_id), uow(), progress,
            await identity.keys())
        return JSONResponse(report, status_code=422 if report["status"] == "refused" else 200)

    @router.get("/imports/progress/{upload_id}", dependencies=[right("import", "read")])
    async def import_progress(upload_id: str) -> dict[str, int]:
        """Rows applied so far by an import under way; 404 once it is over (or not started)."""
        found = await progress.get(upload_id)
        if found is None:
            raise NotFound(["Aucun import en cours sous cet identifiant."])
        done, total = found
        return {"done": done, "total": total}

    @router.get("/imports", dependencies=[right("import", "read")])
    async def import_history(limit: int = Query(100, ge=1, le=10_000), resources: Scope = in_scope) -> list[dict[str, Any]]:
        """IMP-08: file, hash, ressource, user, time, counts and messages of each import (of the
        ressources of the antennes the caller covers)."""
        async with uow() as u:
            return [imports.report_of(b) for b in resources.keep(await u.imports.listing(limit), "resource_code")]

    @router.get("/imports/{batch_id}", dependencies=[right("import", "read")])
    async def import_detail(batch_id: str, resources: Scope = in_scope) -> dict[str, Any]:
        async with uow() as u:
            batch = await u.imports.get(batch_id)
        missing = f"Import « {batch_id} » introuvable."
        if batch is None:
            raise NotFound([missing])
        resources.readable(batch["resource_code"], not_found=missing)
        return imports.report_of(batch)

    @router.get("/beneficiaries/duplicates", dependencies=[right("import", "read")])
    async def suspected_duplicates(resources: Scope = in_scope) -> list[dict[str, Any]]:
        """BEN-03: pairs of live records that look like one person (same identifiant France Travail, or same
        name, first name and birth date, compared normalised), the older first; of the caller's antennes."""
        pairs = await duplicates.suspected_pairs(uow(), await identity.keys())
        async with uow() as u:
            seen = {p["id"] for p in resources.keep(await u.people.listing(), enrolled_on)}
        return [p for p in pairs if p["keep"]["id"] in seen or p["other"]["id"] in seen]

    @router.get("/beneficiaries/merges", dependencies=[right("import", "read")])
    async def beneficiary_merges() -> list[dict[str, Any]]:
        """BEN-03: the merges made, each with what moved in importer."""
        return await duplicates.merges(uow())

    @router.post("/beneficiaries/{kept_id}/merge", dependencies=[right("import", "write")])
    async def merge_beneficiary(kept_id: str, merged_id: str = Body(embed=True, description=(
            "The record merged into the path's one: inactive afterwards, its rows moved.")),
            resources: Scope = in_scope) -> dict[str, Any]:
        """BEN-03: merge a doublon into the record kept; every service follows ``BeneficiariesMerged``. 422
        (French message, nothing changed) for a record merged with itself, or one already merged or purged;
        404 for a record outside the caller's antennes (SEC-02)."""
        async with uow() as u:
            for person_id in (kept_id, merged_id):
                if found := await u.people.listing(person_id):
                    resources.readable(*enrolled_on(found[0]),
                                       not_found=f"Bénéficiaire « {person_id} » introuvable : rien n'a été fusionné.")
        return await duplicates.merge_beneficiaries(uow(), kept_id, merged_id)

    @router.get("/beneficiaries", dependencies=[right("import", "read")])
    async def beneficiaries(resources: Scope = in_scope) -> list[dict[str, Any]]:
        """Records with their enrolments (staff only: personal data), those enrolled on a ressource
        of the antennes the caller covers."""
        async with uow() as u:
            people = await u.people.listing()
        return [_person_json(p) for p in resources.keep(people, enrolled_on)]

    async def record(beneficiary_id: str, resources: Scope) -> dict[str, Any]:
        """The record with its enrolments and history; 404 outside the caller's antennes."""
        async with uow() as u:
            found = await u.people.listing(beneficiary_id)
            changes = await corrections.history(u, beneficiary_id) if found else []
            gdpr = await u.gdpr.get(beneficiary_id)  # BEN-02
        missing = f"Bénéficiaire « {beneficiary_id} » introuvable."
        if not found:
            raise NotFound([missing])
        resources.readable(*enrolled_on(found[0]), not_found=missing)
        return _person_json(found[0]) | {"history": changes, "gdpr": gdpr.view()}

    @router.get("/beneficiaries/{beneficiary_id}", dependencies=[right("import", "read")])
    async def beneficiary(beneficiary_id: str, resources: Scope = in_scope) -> dict[str, Any]:
        """BEN-01: one *fiche entrepreneur* with its enrolments, consents' sources and history of
        corrections (404 outside the caller's antennes)."""
        return await record(beneficiary_id, resources)

    @router.patch("/beneficiaries/{beneficiary_id}", dependencies=[right("import", "write")])
    async def correct_beneficiary(beneficiary_id: str, correction: BeneficiaryCorrection,
                                  resources: Scope = in_scope) -> dict[str, Any]:
        """BEN-01: correct the record (only the fields given; "" empties an optional one). 422 with a
        French message naming each wrong field, nothing changed; 404 outside the caller's antennes.
        Answers the fields changed and the record as it now is."""
        await record(beneficiary_id, resources)  # SEC-02: the caller's antennes only
        found: list[Duplicate] = []  # BEN-03: doublons the corrected record now makes, reported
        done = await corrections.correct_beneficiary(corrections.CorrectBeneficiary(
            beneficiary_id, correction.model_dump(exclude_unset=True), current_actor.get(),
            checks=(duplicates.correction_check(await identity.keys(), found),)), uow())
        return {"changed": done["changed"], "beneficiary": await record(beneficiary_id, resources),
                "duplicates": [d.message(None, beneficiary_id) for d in found]}

    @router.post("/beneficiaries/keys", dependencies=[key_readers])
    async def beneficiary_keys(beneficiary_ids: list[str], request: Request) -> dict[str, str]:
        """Keys of several beneficiaries at once (purged ones are absent), for the services that
        read sealed personal data (``PRESTAFLOW_KEY_READERS``; others: 403)."""
        wanted = beneficiary_ids[:10_000]
        async with uow() as u:
            keys = await u.people.keys(wanted)
        await served_keys(request, len(set(wanted)), len(keys))
        return keys

    @router.get("/beneficiaries/{beneficiary_id}/key", dependencies=[key_readers])
    async def beneficiary_key(beneficiary_id: str, request: Request) -> dict[str, Any]:
        """Key of the beneficiary's sealed event fields, for the services that read them; gone once purged."""
        async with uow() as u:
            key = await u.people.key(beneficiary_id)
        await served_keys(request, 1, int(key is not None))
        if key is None:
            raise NotFound([f"Clé du bénéficiaire « {beneficiary_id} » introuvable ou détruite."])
        return {"beneficiary_id": beneficiary_id, "key": key}

    @router.post("/purge", dependencies=[right("administration", "write")])
    async def purge() -> dict[str, Any]:
        """Purge the records whose 5 days have passed (the service also runs it every hour)."""
        return {"purged": await imports.purge_due(uow())}

    return router
