"""Journey routes (under /planning): enrolments, their dates, the *prestation spéciale* form, closing
and réouverture (PRC-01, PRC-02, PRC-03, PRC-07, PRC-10). Thin, each one handler call."""

from datetime import date
from typing import Any

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, ConfigDict, Field

from servicekit.auth import Scope, right
from servicekit.runtime import ServiceRuntime

from planning.domain.journeys import LABELS
from planning.entrypoints.agenda_api import site_scope
from planning.service_layer import journeys


class DatesRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: Any = Field(default=None, description="Date de début (AAAA-MM-JJ or JJ/MM/AAAA).",
                       examples=["2025-01-14"])
    end: Any = Field(default=None, description="Date de fin (AAAA-MM-JJ or JJ/MM/AAAA).", examples=["2025-04-14"])


class ReopenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Any = Field(default=None, description="Why the closed journey is reopened (required).",
                        examples=["Date de bilan erronée"])


FORM_DESCRIPTION = ("Fields of the prestation spéciale form to change (absent: kept; null or \"\": emptied): "
                    + ", ".join(LABELS) + ". Values are checked here: each refusal names its field in French.")


class JourneyScope:
    """SEC-02 on one journey: its enrolment's site must be one the caller covers; reading another
    antenne's journey answers 404, changing it 403. An unknown journey is left to the handler (404)."""

    def __init__(self, runtime: ServiceRuntime):
        self.uow = runtime.uow_factory

    async def _site(self, sites: Scope, enrolment_id: str) -> str | None:
        if sites.codes is None:
            return None
        async with self.uow() as u:
            enrolment = await u.enrolments.get(enrolment_id)
        return enrolment.site if enrolment else None

    async def readable(self, sites: Scope, enrolment_id: str) -> None:
        if (site := await self._site(sites, enrolment_id)) is not None:
            sites.readable(site, not_found=f"Parcours « {enrolment_id} » introuvable (voir journey list).")

    async def changeable(self, sites: Scope, enrolment_id: str) -> None:
        if (site := await self._site(sites, enrolment_id)) is not None:
            sites.changeable(site)


def build_router(runtime: ServiceRuntime) -> APIRouter:
    router = APIRouter(tags=["journeys"])
    uow = runtime.uow_factory
    in_scope, journey = site_scope(runtime), JourneyScope(runtime)

    @router.get("/journeys", dependencies=[right("parcours", "read")])
    async def list_journeys(first_day: date | None = Query(default=None, alias="from"),
                            last_day: date | None = Query(default=None, alias="to"),
                            resource: str | None = None, status: str | None = None,
                            sites: Scope = in_scope) -> list[dict[str, Any]]:
        """Enrolments whose ODS start is in [from, to], by start: the ids the other routes take (those
        of the sites the caller covers)."""
        found = await journeys.list_journeys(journeys.JourneyQuery(first_day, last_day, resource, status), uow())
        return sites.keep(found, "site")

    @router.post("/journeys/close-due", dependencies=[right("administration", "write")])
    async def close_due() -> dict[str, Any]:
        """PRC-07: the daily run; closes each due enrolment once (ODSClosed)."""
        return await journeys.close_due(uow())

    @router.get("/journeys/{enrolment_id}", dependencies=[right("parcours", "read")])
    async def show(enrolment_id: str, sites: Scope = in_scope) -> dict[str, Any]:
        """The journey: dates, form, derived situation (PRC-03), its actions, the ODS's reason lists."""
        await journey.readable(sites, enrolment_id)
        return await journeys.show_journey(enrolment_id, uow())

    @router.put("/journeys/{enrolment_id}/dates", dependencies=[right("parcours", "write")])
    async def dates(enrolment_id: str, request: DatesRequest, sites: Scope = in_scope) -> dict[str, Any]:
        """PRC-01: start on or before the first action, end on or after the last; 409 when closed."""
        await journey.changeable(sites, enrolment_id)
        return await journeys.change_dates(enrolment_id, request.start, request.end, uow())

    @router.patch("/journeys/{enrolment_id}/form", dependencies=[right("parcours", "write")])
    async def form(enrolment_id: str, changes: Any = Body(description=FORM_DESCRIPTION,
                                                           examples=[{"initial_outcome": "poursuivi"}]),
                   sites: Scope = in_scope) -> dict[str, Any]:
        """PRC-02: a partial save (JourneyFormChanged); closes the journey when due (PRC-07)."""
        await journey.changeable(sites, enrolment_id)
        return await journeys.save_form(enrolment_id, changes, uow())

    @router.post("/journeys/{enrolment_id}/reopen", dependencies=[right("parcours", "write")])
    async def reopen(enrolment_id: str, request: ReopenRequest, sites: Scope = in_scope) -> dict[str, Any]:
        """PRC-10: réouverture with a reason (ODSReopened)."""
        await journey.changeable(sites, enrolment_id)
        return await journeys.reopen_journey(enrolment_id, request.reason, uow())

    return router
