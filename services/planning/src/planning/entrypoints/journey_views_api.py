"""Routes (under /planning) of what managers read about journeys: deliverables (PRC-06), the dashboard
(PRC-04), the alerts (PRC-05) and a beneficiary's timeline (PRC-09). Thin, each one handler call."""

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Query, Response

from servicekit.auth import Scope, right
from servicekit.limits import DATABASE_INT_MAX
from servicekit.runtime import ServiceRuntime

from planning.adapters import exports
from planning.entrypoints.agenda_api import XLSX, site_scope
from planning.entrypoints.journey_api import JourneyScope
from planning.service_layer import journey_views
from planning.service_layer.journey_views import DashboardQuery, Deliverables
from planning.service_layer.journeys import _json


def build_router(runtime: ServiceRuntime, tools: Deliverables) -> APIRouter:
    router = APIRouter(tags=["journeys"])
    uow = runtime.uow_factory
    in_scope, journey = site_scope(runtime), JourneyScope(runtime)  # SEC-02: by the enrolments' sites

    @router.post("/journeys/{enrolment_id}/deliverables", dependencies=[right("parcours", "write")])
    async def generate_deliverables(enrolment_id: str, sites: Scope = in_scope) -> dict[str, Any]:
        """PRC-06: the bilan and the émargement as PDF after the six checks; 422 with the failed checks."""
        await journey.changeable(sites, enrolment_id)
        return await journey_views.generate_deliverables(enrolment_id, uow(), tools)

    @router.get("/journeys/{enrolment_id}/deliverables", dependencies=[right("parcours", "read")])
    async def list_deliverables(enrolment_id: str, sites: Scope = in_scope) -> list[dict[str, Any]]:
        await journey.readable(sites, enrolment_id)
        return await journey_views.list_deliverables(enrolment_id, uow())

    @router.get("/journeys/{enrolment_id}/deliverables/{kind}.pdf", dependencies=[right("parcours", "read")])
    async def deliverable_pdf(enrolment_id: str, kind: Literal["bilan", "emargement"],
                              number: int | None = Query(None, ge=1, le=DATABASE_INT_MAX),
                              sites: Scope = in_scope) -> Response:
        """The latest PDF of that kind, or the given number; its SHA-256 in ``X-SHA256``."""
        await journey.readable(sites, enrolment_id)
        meta, content = await journey_views.deliverable_pdf(enrolment_id, kind, number, uow())
        return Response(content, media_type="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="{meta["file"]}"', "X-SHA256": meta["sha256"]})

    def query(starts_from: date | None, starts_to: date | None, resource: str | None, everyone: bool,
              sites: Scope) -> DashboardQuery:
        return DashboardQuery(starts_from, starts_to, resource or None, everyone, sites.codes)

    @router.get("/dashboard", dependencies=[right("parcours", "read")])
    async def dashboard(starts_from: date | None = Query(default=None, alias="from"),
                        starts_to: date | None = Query(default=None, alias="to"),
                        resource: str | None = None, everyone: bool = Query(default=False, alias="all"),
                        sites: Scope = in_scope) -> list[dict[str, Any]]:
        """PRC-04: the follow-up dashboard (ODS start in the period, of the ressource, on the sites the
        caller covers); ``all``: with the enrolments not on it yet (no action planned or form not
        started), ``on_dashboard`` false."""
        rows = await journey_views.dashboard(query(starts_from, starts_to, resource, everyone, sites), uow(),
                                             runtime.key_source)
        return [_json(r) for r in rows]

    @router.get("/dashboard.xlsx", dependencies=[right("parcours", "read")])
    async def dashboard_xlsx(starts_from: date | None = Query(default=None, alias="from"),
                             starts_to: date | None = Query(default=None, alias="to"),
                             resource: str | None = None, everyone: bool = Query(default=False, alias="all"),
                             sites: Scope = in_scope) -> Response:
        rows = await journey_views.dashboard(query(starts_from, starts_to, resource, everyone, sites), uow(),
                                             runtime.key_source)
        title = "Tableau de suivi Activ'Créa" + (f" du {starts_from:%d/%m/%Y}" if starts_from else "") + (
            f" au {starts_to:%d/%m/%Y}" if starts_to else "")
        return Response(exports.dashboard_workbook(rows, title), media_type=XLSX,
                        headers={"Content-Disposition": 'attachment; filename="tableau_de_suivi.xlsx"'})

    @router.get("/alerts", dependencies=[right("parcours", "read")])
    async def alerts(sites: Scope = in_scope) -> list[dict[str, Any]]:
        """PRC-05: the three alerts, each enrolment with its reason (of the sites the caller covers)."""
        return await journey_views.alerts(uow(), runtime.settings.invoice_alert_days, runtime.key_source,
                                          sites.codes)

    @router.get("/timeline/{beneficiary_id}", dependencies=[right("parcours", "read")])
    async def timeline(beneficiary_id: str, sites: Scope = in_scope) -> list[dict[str, Any]]:
        """PRC-09: one beneficiary's history in time order (404 outside the caller's antennes)."""
        return await journey_views.timeline(beneficiary_id, uow(), sites.codes)

    return router
