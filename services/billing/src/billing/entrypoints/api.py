"""Billing's HTTP API (under /billing)."""

from typing import Any

from fastapi import APIRouter

from servicekit.runtime import ServiceRuntime

from billing.domain.catalogue import CataloguePart
from billing.service_layer import handlers


def build_router(runtime: ServiceRuntime) -> APIRouter:
    router = APIRouter(tags=["billing"])

    @router.put("/catalogue")
    async def put_catalogue(part: CataloguePart, dry_run: bool = False) -> dict[str, Any]:
        """Merge legal entities, antennes' legal entity, buyers and tariffs; 422 with French messages."""
        return await handlers.load_catalogue(handlers.LoadCatalogue(part, dry_run), runtime.uow_factory())

    @router.get("/catalogue")
    async def get_catalogue() -> dict[str, Any]:
        async with runtime.uow_factory() as uow:
            cat = await uow.catalogue.get()
        return cat.model_dump(mode="json") | {"tariffs": [t.model_dump(mode="json") for t in cat.tariffs.values()]}

    @router.get("/referential")
    async def get_referential_projection() -> dict[str, Any]:
        """What billing knows of the referential: ressources and sites."""
        async with runtime.uow_factory() as uow:
            return await uow.referential.snapshot()

    return router
