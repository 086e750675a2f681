"""Planning's HTTP API (under /planning): thin routes over the handlers."""

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter

from servicekit.auth import Principal, principal_of, right, services_only
from servicekit.runtime import ServiceRuntime

from planning.domain.referential import ReferentialPart
from planning.service_layer import handlers
from planning.service_layer.commands import LoadReferential


class ReferentialDirectory:
    """SEC-02: people's rights read from planning's own referential (servicekit.auth.Directory)."""

    def __init__(self, runtime: ServiceRuntime):
        self.runtime = runtime

    async def principal(self, subject: str, claims: Mapping[str, Any]) -> Principal:
        async with self.runtime.uow_factory() as uow:
            return principal_of(subject, (await uow.referential.get()).access_of(subject), claims)


def build_router(runtime: ServiceRuntime) -> APIRouter:
    router = APIRouter(tags=["planning"])

    @router.put("/referential", dependencies=[right("administration", "write")])
    async def put_referential(part: ReferentialPart, dry_run: bool = False) -> dict[str, Any]:
        """Merge antennes, sites, advisors, ODS and ressources; 422 with French messages if refused."""
        return await handlers.load_referential(LoadReferential(part, dry_run), runtime.uow_factory())

    @router.get("/referential", dependencies=[right("planning", "read")])
    async def get_referential() -> dict[str, Any]:
        async with runtime.uow_factory() as uow:
            ref = await uow.referential.get()
        return ref.model_dump(mode="json")

    @router.get("/referential/versions", dependencies=[right("planning", "read")])
    async def get_referential_versions() -> list[dict[str, Any]]:
        async with runtime.uow_factory() as uow:
            return await uow.referential.versions()

    @router.get("/access/{subject}", dependencies=[services_only("administration")])
    async def get_access(subject: str) -> dict[str, Any]:
        """SEC-02: a user's rights and antennes from the referential's profiles, for the services."""
        async with runtime.uow_factory() as uow:
            return (await uow.referential.get()).access_of(subject)

    return router
