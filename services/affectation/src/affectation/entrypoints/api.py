"""Affectation's HTTP API (under /affectation)."""

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from servicekit.auth import Scope, right, scope
from servicekit.keys import HttpKeySource
from servicekit.runtime import ServiceRuntime
from servicekit.uow import current_actor

from affectation.service_layer import handlers


class AssignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    advisor: str = Field(description="Advisor's code.", examples=["cdurand"])
    target_action_id: str | None = Field(default=None, description="The advisor's slot to join (categories 1, 2).")
    site: str | None = Field(default=None, description="Site of the new action (category 4).")
    user: str = Field(default="inconnu", description="Who assigns (ignored when the caller is authenticated).")


def build_router(runtime: ServiceRuntime, keys: HttpKeySource) -> APIRouter:
    router = APIRouter(tags=["affectation"])
    uow = runtime.uow_factory

    async def site_antennes() -> list[tuple[str, str]]:
        async with uow() as u:
            return [(s["code"], s["antenne_code"]) for s in (await u.referential.snapshot())["sites"]]

    in_scope = scope(site_antennes)  # SEC-02: the sites of the antennes the caller's profiles cover

    @router.get("/referential", dependencies=[right("affectation", "read")])
    async def get_referential_projection() -> dict[str, Any]:
        """What affectation knows of the referential: sites, advisors and ressources."""
        async with uow() as u:
            return await u.referential.snapshot()

    @router.get("/appointments", dependencies=[right("affectation", "read")])
    async def appointments_to_assign(resource: str | None = None, site: str | None = None,
                                     sites: Scope = in_scope) -> list[dict[str, Any]]:
        """AFF-01/AFF-02: the worklist with ranked candidates (no site: every site the caller covers)."""
        return sites.keep(await handlers.worklist(uow(), keys, resource, site), "site")

    @router.post("/appointments/{action_id}/assign", dependencies=[right("affectation", "write")])
    async def assign(action_id: str, request: AssignRequest, sites: Scope = in_scope) -> dict[str, Any]:
        """AFF-03: 409 when another user assigned it first."""
        if sites.codes is not None:
            listed = {r["action_id"]: r["site"] for r in await handlers.worklist(uow(), keys)}
            sites.changeable(*(site for site in (listed.get(action_id), request.site) if site is not None))
        fields = request.model_dump() | {"user": current_actor.get() or request.user}  # SEC-04: from the token
        return await handlers.assign(handlers.Assign(action_id, **fields), uow(), keys)

    return router
