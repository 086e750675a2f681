"""Importer's HTTP API (under /importer)."""

from typing import Any

from fastapi import APIRouter

from servicekit.runtime import ServiceRuntime


def build_router(runtime: ServiceRuntime) -> APIRouter:
    router = APIRouter(tags=["importer"])

    @router.get("/referential")
    async def get_referential_projection() -> dict[str, Any]:
        """What importer knows of the referential: ressources, ODS and France Travail addresses."""
        async with runtime.uow_factory() as uow:
            return await uow.referential.snapshot()

    return router
