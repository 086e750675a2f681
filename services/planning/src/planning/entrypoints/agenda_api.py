"""Agenda routes (under /planning): thin, each one handler call."""

from datetime import date, datetime
from typing import Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from servicekit.auth import Scope, right, scope
from servicekit.runtime import ServiceRuntime

from planning.adapters import exports
from planning.domain.agenda import Action, ActionDraft, as_aware, paris, weekly_starts
from planning.service_layer import agenda


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlanActionRequest(Strict):
    advisor: str | None = Field(description="Advisor's code.", examples=["cdurand"])
    starts_at: datetime = Field(description="Start; without offset, Europe/Paris time.", examples=["2025-01-14T09:00"])
    ends_at: datetime = Field(description="End; without offset, Europe/Paris time.", examples=["2025-01-14T10:00"])
    ods: str | None = Field(default=None, examples=["ACR2025"])
    step: int | None = Field(default=None, description="Étape order; 1 = entretien initial de diagnostic.")
    resource: str | None = Field(default=None, examples=["ACR2025-L12"])
    site: str | None = Field(default=None, examples=["ARM"])
    mode: Literal["on_site", "remote"] = "on_site"
    nature: Literal["individual", "collective"] | None = None
    max_participants: int | None = None
    absence: bool = False


class ChangeActionRequest(Strict):
    advisor: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    resource: str | None = None
    site: str | None = None
    mode: Literal["on_site", "remote"] | None = None
    max_participants: int | None = None


class CancelRequest(Strict):
    reason: str | None = None


class WeeklyPattern(Strict):
    first_day: date = Field(examples=["2025-01-13"])
    last_day: date = Field(examples=["2025-01-17"])
    weekdays: list[int] = Field(description="1 = lundi … 7 = dimanche.", examples=[[1, 2, 3, 4, 5]])
    times: list[str] = Field(description="Start times, HH:MM.", examples=[["09:00", "10:00"]],
                             json_schema_extra={"items": {"pattern": r"^\d{2}:\d{2}$"}})


class DuplicateRequest(Strict):
    starts: list[datetime] = Field(default_factory=list, description="Starts of the copies.")
    weekly: WeeklyPattern | None = None


class ParticipantRequest(Strict):
    beneficiary_id: str = Field(min_length=1)
    resource: str | None = None
    ods: str | None = None


class PresenceRequest(Strict):
    presence: Literal["oui", "non", "excusé"]


def action_json(action: Action) -> dict[str, Any]:
    """An action as users read it: times in Europe/Paris."""
    return agenda.action_fields(action).model_dump(mode="json") | {
        "starts_at": paris(action.starts_at).isoformat(), "ends_at": paris(action.ends_at).isoformat(),
        "status": action.status, "participants": action.participants, "free_places": action.free_places,
        "duplicate_of": action.duplicate_of}


def site_scope(runtime: ServiceRuntime) -> Any:
    """SEC-02: the dependency giving the caller's :class:`Scope` over planning's sites (those of the
    antennes their profiles cover); actions, journeys and their views are scoped by their site."""

    async def site_antennes() -> list[tuple[str, str]]:
        async with runtime.uow_factory() as u:
            return [(code, site.antenne) for code, site in (await u.referential.get()).sites.items()]

    return scope(site_antennes)


def build_router(runtime: ServiceRuntime) -> APIRouter:
    router = APIRouter(tags=["agenda"])
    uow = runtime.uow_factory
    in_scope = site_scope(runtime)

    async def ensure_action_covered(sites: Scope, action_id: str, *new_sites: str | None) -> None:
        if sites.codes is None:
            return
        async with uow() as u:
            action = await agenda.existing_action(u, action_id)
        sites.changeable(action.site, *new_sites)

    @router.post("/actions", status_code=201, dependencies=[right("planning", "write")])
    async def plan(request: PlanActionRequest, sites: Scope = in_scope) -> dict[str, Any]:
        """PLN-01..PLN-03: plan an action; 422 with every rule it breaks."""
        sites.changeable(request.site)
        return action_json(await agenda.plan_action(ActionDraft(**request.model_dump()), uow()))

    @router.get("/actions", dependencies=[right("planning", "read")])
    async def list_actions(advisor: list[str] = Query(default=[]), site: list[str] = Query(default=[]),
                           first_day: date | None = Query(default=None, alias="from"),
                           last_day: date | None = Query(default=None, alias="to"),
                           to_assign: bool | None = None, include_cancelled: bool = False,
                           sites: Scope = in_scope) -> list[dict[str, Any]]:
        """Agendas: one advisor, a team (several advisors) or sites, over a date range (sites of the
        antennes the caller covers)."""
        site = sites.only(site)
        if site is None:
            return []
        start, end = agenda.day_bounds(first_day or date.min.replace(year=1970), last_day or date(9998, 12, 31))
        async with uow() as u:
            actions = await u.agenda.search(advisors=advisor, sites=site, starts_from=start, starts_before=end,
                                            to_assign=to_assign, include_cancelled=include_cancelled)
        return [action_json(a) for a in actions]

    @router.get("/actions/flagged", dependencies=[right("planning", "read")])
    async def flagged(after: datetime | None = None, sites: Scope = in_scope) -> list[dict[str, Any]]:
        """PLN-06: future actions whose ressource or étapes changed since they were planned (en rouge)."""
        found = await agenda.flagged_actions(uow(), as_aware(after) if after else None)
        return sites.keep(found, lambda a: a["action"]["site"])

    @router.get("/actions/{action_id}", dependencies=[right("planning", "read")])
    async def get_action(action_id: str, sites: Scope = in_scope) -> dict[str, Any]:
        async with uow() as u:
            action = await agenda.existing_action(u, action_id)
            sites.readable(action.site, not_found=f"Action « {action_id} » introuvable.")
            participants = await u.agenda.participants(action_id)
        return action_json(action) | {"participant_list": [
            {"beneficiary_id": p.beneficiary_id, "resource": p.resource, "ods": p.ods, "presence": p.presence}
            for p in participants]}

    @router.patch("/actions/{action_id}", dependencies=[right("planning", "write")])
    async def change(action_id: str, request: ChangeActionRequest, sites: Scope = in_scope) -> dict[str, Any]:
        changes = request.model_dump(exclude_unset=True)
        await ensure_action_covered(sites, action_id, *([changes["site"]] if changes.get("site") else []))
        return action_json(await agenda.change_action(agenda.ChangeAction(action_id, changes), uow()))

    @router.post("/actions/{action_id}/cancel", dependencies=[right("planning", "write")])
    async def cancel(action_id: str, request: CancelRequest, sites: Scope = in_scope) -> dict[str, Any]:
        await ensure_action_covered(sites, action_id)
        return action_json(await agenda.cancel_action(action_id, request.reason, uow()))

    @router.post("/actions/{action_id}/duplicate", dependencies=[right("planning", "write")])
    async def duplicate(action_id: str, request: DuplicateRequest, sites: Scope = in_scope) -> dict[str, Any]:
        """PLN-04: copies to dates/times or a weekly pattern; lists created and refused copies."""
        await ensure_action_covered(sites, action_id)
        starts = list(request.starts)
        if request.weekly:
            w = request.weekly
            starts += weekly_starts(w.first_day, w.last_day, [d - 1 for d in w.weekdays], w.times)
        result = await agenda.duplicate_action(action_id, starts, uow())
        return {"created": [action_json(a) for a in result.created], "refused": result.refused}

    @router.post("/actions/{action_id}/participants", dependencies=[right("planning", "write")])
    async def add_participant(action_id: str, request: ParticipantRequest,
                              sites: Scope = in_scope) -> dict[str, Any]:
        await ensure_action_covered(sites, action_id)
        return await agenda.add_participant(agenda.AddParticipant(action_id, **request.model_dump()), uow())

    @router.delete("/actions/{action_id}/participants/{beneficiary_id}", dependencies=[right("planning", "write")])
    async def remove_participant(action_id: str, beneficiary_id: str, reason: str | None = None,
                                 sites: Scope = in_scope) -> dict[str, Any]:
        await ensure_action_covered(sites, action_id)
        return await agenda.remove_participant(action_id, beneficiary_id, reason, uow())

    @router.put("/actions/{action_id}/participants/{beneficiary_id}/presence",
                dependencies=[right("planning", "write")])
    async def presence(action_id: str, beneficiary_id: str, request: PresenceRequest,
                       sites: Scope = in_scope) -> dict[str, Any]:
        await ensure_action_covered(sites, action_id)
        return await agenda.validate_presence(action_id, beneficiary_id, request.presence, uow())

    @router.get("/planning-table", dependencies=[right("planning", "read")])
    async def planning_table(first_day: date = Query(alias="from"), last_day: date = Query(alias="to"),
                             resource: str | None = None, site: str | None = None,
                             advisor: str | None = None, sites: Scope = in_scope) -> dict[str, Any]:
        """PLN-07: the Planification Activ'Créa table, grouped by site (sites the caller covers)."""
        table = await agenda.planning_table(
            agenda.PlanningTableQuery(first_day, last_day, resource, site, advisor), uow())
        return table | {"sites": sites.keep(table["sites"], "site")}

    async def slots(query: agenda.PlanningTableQuery, sites: Scope) -> list[exports.PlanningSlot]:
        return sites.keep(await agenda.planning_slots(query, uow()), lambda slot: slot.site_code)

    @router.get("/planning-table/export.csv", dependencies=[right("planning", "read")])
    async def export_csv(first_day: date = Query(alias="from"), last_day: date = Query(alias="to"),
                         resource: str | None = None, site: str | None = None, advisor: str | None = None,
                         sites: Scope = in_scope) -> Response:
        """PLN-07: the file uploaded to France Travail (PLANNING_FORMAT.md): free slots only."""
        found = await slots(agenda.PlanningTableQuery(first_day, last_day, resource, site, advisor), sites)
        return Response(exports.france_travail_csv(found), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="planification_{first_day}_{last_day}.csv"'})

    @router.get("/planning-table/export.xlsx", dependencies=[right("planning", "read")])
    async def export_xlsx(first_day: date = Query(alias="from"), last_day: date = Query(alias="to"),
                          resource: str | None = None, site: str | None = None, advisor: str | None = None,
                          sites: Scope = in_scope) -> Response:
        """PLN-07: the workbook, one sheet per site."""
        found = await slots(agenda.PlanningTableQuery(first_day, last_day, resource, site, advisor), sites)
        return Response(exports.planning_workbook(found, first_day, last_day), media_type=XLSX, headers={
            "Content-Disposition": f'attachment; filename="planification_{first_day}_{last_day}.xlsx"'})

    return router


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
