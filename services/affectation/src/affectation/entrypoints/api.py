"""Affectation's HTTP API (under /affectation)."""

from typing import Any

from fastapi import APIRouter

from servicekit.runtime import ServiceRuntime


def build_router(runtime: ServiceRuntime) -> APIRouter:
    router = APIRouter(tags=["affectation"])

    @router.get("/referential")
    async def get_referential_projection() -> dict[str, Any]:
        """What affectation knows of the referential: sites, advisors and ressources."""
        async with runtime.uow_factory() as uow:
            return await uow.referential.snapshot()

    return router
