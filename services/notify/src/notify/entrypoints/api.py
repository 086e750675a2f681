"""Notify's HTTP API (under /notify)."""

from typing import Any

from fastapi import APIRouter

from servicekit.runtime import ServiceRuntime

from notify.domain.setup import SetupPart
from notify.service_layer import handlers


def build_router(runtime: ServiceRuntime) -> APIRouter:
    router = APIRouter(tags=["notify"])

    @router.put("/setup")
    async def put_setup(part: SetupPart, dry_run: bool = False) -> dict[str, Any]:
        """Merge templates and sending rules; 422 with French messages if refused."""
        return await handlers.load_setup(handlers.LoadSetup(part, dry_run), runtime.uow_factory())

    @router.get("/setup")
    async def get_setup() -> dict[str, Any]:
        async with runtime.uow_factory() as uow:
            setup = await uow.setup.get()
        return {"version": setup.version,
                "templates": [t.model_dump() for t in setup.templates.values()],
                "rules": [r.model_dump() for r in setup.rules.values()]}

    return router
