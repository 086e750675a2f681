"""Planning's HTTP API (under /planning): thin routes over the handlers."""

from typing import Any

from fastapi import APIRouter

from servicekit.auth import right
from servicekit.runtime import ServiceRuntime

from planning.domain.referential import ReferentialPart
from planning.service_layer import handlers
from planning.service_layer.commands import LoadReferential


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

    return router
