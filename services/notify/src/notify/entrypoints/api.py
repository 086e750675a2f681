"""Notify's HTTP API (under /notify): templates, rules, the outbox, a beneficiary's messages."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Body, Query, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict

from servicekit.auth import Scope, right, scope
from servicekit.errors import Conflict, NotFound, RefusedInput
from servicekit.runtime import ServiceRuntime

from notify.adapters.email import build_mime
from notify.config import NotifySettings
from notify.domain.appointments import Appointment
from notify.domain.defaults import SYSTEM_TEMPLATES, templates_of, with_bodies
from notify.domain.fields import FIELDS
from notify.domain.messages import STATUS_LABELS, Stop
from notify.domain.rendering import PARIS, RenderError, render, sample_context
from notify.domain.setup import Rule, SetupPart, Template, template_problems
from notify.service_layer import gdpr, projections, setup as setup_commands
from notify.service_layer.delivery import Postman, decide_message, links, sent_copy


class TemplateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Literal["email", "sms"]
    subject: str | None = None
    body_html: str | None = None
    body_text: str | None = None
    active: bool = True


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: AwareDatetime | None = None


def _paris(moment: datetime | None) -> str | None:
    return moment.astimezone(PARIS).isoformat() if moment else None


def message_view(m: dict[str, Any]) -> dict[str, Any]:
    """A message without personal data: ids, template, channel, times, status and reason."""
    return {"message_id": m["id"], "beneficiary_id": m["beneficiary_id"], "registration_id": m["registration_id"],
            "kind": m["kind"], "purpose": m["purpose"], "template": m["template_code"], "channel": m["channel"],
            "rule": m["rule_key"], "status": m["status"], "status_label": STATUS_LABELS.get(m["status"], m["status"]),
            "due_at": _paris(m["due_at"]), "next_attempt_at": _paris(m["next_attempt_at"]),
            "sent_at": _paris(m["sent_at"]), "attempts": m["attempts"], "reason_code": m["reason_code"],
            "reason": m["reason"]}


def _attempt_view(a: dict[str, Any]) -> dict[str, Any]:
    return {"attempt": a["attempt"], "at": _paris(a["at"]), "outcome": a["outcome"], "answer": a["answer"]}


def _preview(template: Template, settings: NotifySettings, structure: str | None) -> dict[str, Any]:
    filled, default_body = with_bodies(template)
    try:
        rendered = render(filled, sample_context(links(settings), structure or "BGE Hauts-de-France"))
    except RenderError as exc:
        raise RefusedInput([str(exc)]) from exc
    return {"code": template.code, "channel": template.channel, "subject": rendered.subject, "text": rendered.text,
            "html": rendered.html, "default_body": default_body}


def build_router(runtime: ServiceRuntime, postman: Postman, settings: NotifySettings) -> APIRouter:
    router = APIRouter(tags=["notify"])
    uow = runtime.uow_factory

    async def site_antennes() -> list[tuple[str, str]]:
        async with uow() as u:
            return [(code, site.get("antenne")) for code, site in (await u.referential.get())["sites"].items()]

    # SEC-02: messages are seen through the sites of the antennes the caller's profiles cover
    in_scope = scope(site_antennes)

    async def person_sites(u, beneficiary_ids: Iterable[str]) -> dict[str, list[Appointment]]:
        return await u.appointments.of_beneficiaries(set(beneficiary_ids))

    async def message_sites(u, messages: list[dict[str, Any]]) -> dict[str, list[str]]:
        """Each message's sites: its appointment's, or (a message to the person, the GDPR mail) those
        of every appointment of the person."""
        appointments = await person_sites(u, (m["beneficiary_id"] for m in messages))
        out = {}
        for m in messages:
            theirs = appointments.get(m["beneficiary_id"], [])
            out[m["id"]] = [a.site for a in theirs if a.registration_id == m["registration_id"]] or [
                a.site for a in theirs]
        return out

    async def scoped(sites: Scope, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if sites.codes is None:
            return messages
        async with uow() as u:
            of = await message_sites(u, messages)
        return sites.keep(messages, lambda m: of[m["id"]])

    async def readable_message(sites: Scope, message_id: str) -> dict[str, Any]:
        """The message, or 404 (unknown, or outside the caller's antennes)."""
        async with uow() as u:
            message = await u.messages.get(message_id)
        if message is None or not await scoped(sites, [message]):
            raise NotFound([f"Message « {message_id} » introuvable."])
        return message

    async def changeable_person(sites: Scope, beneficiary_id: str) -> None:
        """403 unless one of the person's appointments is on a site the caller covers."""
        if sites.codes is None:
            return
        async with uow() as u:
            theirs = [a.site for a in (await person_sites(u, [beneficiary_id])).get(beneficiary_id, [])]
        if not sites.covers(*theirs):
            sites.changeable(*(theirs or [None]))

    @router.put("/setup", dependencies=[right("notifications", "write")])
    async def put_setup(part: SetupPart, dry_run: bool = False) -> dict[str, Any]:
        """Merge templates and sending rules; 422 with French messages if refused."""
        return await setup_commands.load_setup(setup_commands.LoadSetup(part, dry_run), uow())

    @router.get("/setup", dependencies=[right("notifications", "read")])
    async def get_setup() -> dict[str, Any]:
        async with uow() as u:
            setup = await u.setup.get()
        return {"version": setup.version,
                "templates": [t.model_dump() for t in setup.templates.values()],
                "rules": [r.model_dump() for r in setup.rules.values()]}

    # --- Templates (NOT-01) ---

    @router.get("/templates", dependencies=[right("notifications", "read")])
    async def list_templates() -> list[dict[str, Any]]:
        """Every template, with what uses it; a used one cannot be deleted, only deactivated."""
        async with uow() as u:
            setup = await u.setup.get()
            usage = await u.messages.template_usage()
        out = []
        for code, t in sorted(templates_of(setup).items()):
            rules = sum(1 for r in setup.rules.values() if r.template == code)
            out.append({"code": code, "channel": t.channel, "subject": t.subject, "active": t.active,
                        "system": code in SYSTEM_TEMPLATES, "default_body": with_bodies(t)[1], "rules": rules,
                        "messages": usage.get(code, 0),
                        "deletable": code not in SYSTEM_TEMPLATES and not rules and not usage.get(code)})
        return out

    @router.get("/templates/fields", dependencies=[right("notifications", "read")])
    async def template_fields() -> dict[str, dict[str, str]]:
        """The fields a template may use, with their meaning."""
        return FIELDS

    @router.post("/templates/preview", dependencies=[right("notifications", "read")])
    async def preview_draft(template: Template) -> dict[str, Any]:
        """Check a template and render it with sample data, without saving it."""
        problems = template_problems(template)
        if problems:
            raise RefusedInput(problems)
        async with uow() as u:
            structure = ((await u.referential.get()).get("structure") or {}).get("name")
        return _preview(template, settings, structure)

    @router.get("/templates/{code}", dependencies=[right("notifications", "read")])
    async def get_template(code: str) -> dict[str, Any]:
        async with uow() as u:
            template = templates_of(await u.setup.get()).get(code)
        if template is None:
            raise NotFound([f"Modèle « {code} » inconnu."])
        filled, default_body = with_bodies(template)
        return filled.model_dump() | {"system": code in SYSTEM_TEMPLATES, "default_body": default_body}

    @router.put("/templates/{code}", dependencies=[right("notifications", "write")])
    async def put_template(code: str, template: TemplateIn) -> dict[str, Any]:
        """Create or replace a template; an unknown field is refused, named (NOT-01)."""
        return await setup_commands.save_template(Template(code=code, **template.model_dump()), uow())

    @router.post("/templates/{code}/preview", dependencies=[right("notifications", "read")])
    async def preview_template(code: str) -> dict[str, Any]:
        """The saved template rendered with sample data."""
        async with uow() as u:
            template = templates_of(await u.setup.get()).get(code)
            structure = ((await u.referential.get()).get("structure") or {}).get("name")
        if template is None:
            raise NotFound([f"Modèle « {code} » inconnu."])
        return _preview(template, settings, structure)

    @router.post("/templates/{code}/activate", dependencies=[right("notifications", "write")])
    async def activate_template(code: str) -> dict[str, Any]:
        return await setup_commands.set_template_active(code, True, uow())

    @router.post("/templates/{code}/deactivate", dependencies=[right("notifications", "write")])
    async def deactivate_template(code: str) -> dict[str, Any]:
        return await setup_commands.set_template_active(code, False, uow())

    @router.delete("/templates/{code}", dependencies=[right("notifications", "write")])
    async def delete_template(code: str) -> dict[str, Any]:
        """Refused (409) while a rule or a sending uses it: deactivate it instead."""
        return await setup_commands.delete_template(code, uow())

    # --- Rules (NOT-02) ---

    @router.get("/rules", dependencies=[right("notifications", "read")])
    async def list_rules() -> list[dict[str, Any]]:
        """Sending rules; those whose template is inactive (or unknown) are flagged: they send nothing."""
        async with uow() as u:
            setup = await u.setup.get()
        templates = templates_of(setup)
        out = []
        for rule in sorted(setup.rules.values(), key=lambda r: (r.ods, r.delay_days, r.confirmation, r.template)):
            template = templates.get(rule.template)
            active = bool(template and template.active)
            out.append(rule.model_dump() | {
                "key": rule.key, "template_active": active, "flagged": not active,
                "message": None if active else f"Modèle « {rule.template} » inactif : cette règle n'envoie rien."})
        return out

    @router.post("/rules", dependencies=[right("notifications", "write")])
    async def add_rule(rule: Rule) -> dict[str, Any]:
        return await setup_commands.add_rule(rule, uow())

    @router.delete("/rules", dependencies=[right("notifications", "write")])
    async def delete_rule(ods: str = Query(min_length=1), confirmation: Literal["yes", "no", "any"] = Query(),
                          template: str = Query(), delay_days: int = Query(ge=-60, le=60)) -> dict[str, Any]:
        return await setup_commands.delete_rule(Rule(ods=ods, confirmation=confirmation, template=template,
                                               delay_days=delay_days), uow())

    # --- Outbox and messages (NOT-03..NOT-06) ---

    @router.get("/outbox", dependencies=[right("notifications", "read")])
    async def outbox(status: list[str] = Query(default=[]), beneficiary_id: str | None = None,
                     limit: int = Query(1000, ge=1, le=10_000), sites: Scope = in_scope) -> list[dict[str, Any]]:
        """Messages (scheduled, sent, not sent with the reason, cancelled, to send by hand), of the
        people on the sites the caller covers."""
        async with uow() as u:
            rows = await u.messages.listing(status, beneficiary_id, limit=min(limit, 10_000))
        return [message_view(m) for m in await scoped(sites, rows)]

    @router.post("/outbox/send", dependencies=[right("notifications", "write")])
    async def send_due(sites: Scope = in_scope) -> dict[str, int]:
        """Send what is due now (the background job does the same every few seconds): every antenne's
        messages, 403 to a profile covering only some (SEC-02)."""
        sites.every_antenne("l'envoi des messages dus")
        return await postman.send_due()

    @router.get("/messages/{message_id}", dependencies=[right("notifications", "read")])
    async def message_detail(message_id: str, sites: Scope = in_scope) -> dict[str, Any]:
        """A message with every delivery attempt and the server's answer (NOT-06)."""
        message = await readable_message(sites, message_id)
        async with uow() as u:
            attempts = await u.messages.attempts(message_id)
        return message_view(message) | {"recipient": message["recipient"], "subject": message["subject"],
                                         "delivery": [_attempt_view(a) for a in attempts]}

    @router.get("/messages/{message_id}/eml", response_class=Response, dependencies=[right("notifications", "read")])
    async def message_eml(message_id: str, sites: Scope = in_scope) -> Response:
        """The e-mail as sent, or as it would be sent now (ignoring its time), in MIME (.eml)."""
        message = await readable_message(sites, message_id)
        await postman.unseal_contacts([message["beneficiary_id"]])
        async with uow() as u:
            if message["status"] == "sent" and message["body_text"] is not None:
                outgoing = sent_copy(message)
            else:
                outgoing = await decide_message(u, message, links(settings), u.clock.now(), check_time=False)
        if isinstance(outgoing, Stop):
            raise Conflict([outgoing.reason])
        if outgoing.channel != "email":
            raise Conflict(["Ce message est un SMS."])
        return Response(build_mime(outgoing, settings.mail_from, settings.mail_reply_to).as_bytes(),
                        media_type="message/rfc822")

    # --- A beneficiary's record (NOT-03, NOT-04, NOT-05) ---

    @router.get("/beneficiaries/{beneficiary_id}/messages", dependencies=[right("notifications", "read")])
    async def beneficiary_messages(beneficiary_id: str, sites: Scope = in_scope) -> dict[str, Any]:
        """What was sent to the person, what was not and why, and whether the GDPR mail is still to send
        (404 unless one of their appointments is on a site the caller covers)."""
        if sites.codes is not None:
            async with uow() as u:
                theirs = (await person_sites(u, [beneficiary_id])).get(beneficiary_id, [])
            sites.readable(*(a.site for a in theirs), not_found=f"Bénéficiaire « {beneficiary_id} » introuvable.")
        await postman.unseal_contacts([beneficiary_id])
        async with uow() as u:
            contact = await u.contacts.get(beneficiary_id)
            messages = await scoped(sites, await u.messages.of_beneficiary(beneficiary_id))
            attempts = await u.messages.attempts_of([m["id"] for m in messages])
            login = await u.logins.get(beneficiary_id)
        gdpr = next((m for m in messages if m["purpose"] == "gdpr"), None)
        not_due = "pas encore dû (aucune présence validée)"
        return {
            "beneficiary_id": beneficiary_id, "record": contact is not None,
            "email_known": bool(contact and contact["email"]), "phone_known": bool(contact and contact["phone"]),
            "accepts_email": bool(contact and contact["accepts_email"]),
            "accepts_sms": bool(contact and contact["accepts_sms"]),
            "virtual_office_login": _paris(login["last_at"]) if login else None,
            "gdpr": {"status": gdpr["status"] if gdpr else "not_due",
                     "label": STATUS_LABELS.get(gdpr["status"], "") if gdpr else not_due,
                     "manual_required": bool(gdpr and gdpr["status"] in ("manual", "not_sent"))},
            "messages": [message_view(m) | {"delivery": [_attempt_view(a) for a in attempts[m["id"]]]}
                         for m in messages],
        }

    @router.post("/beneficiaries/{beneficiary_id}/virtual-office-logins",
                 dependencies=[right("notifications", "write")])
    async def record_login(beneficiary_id: str, login: Login = Body(default_factory=Login),
                           sites: Scope = in_scope) -> dict[str, Any]:
        """The virtual office (MBV) reports a login: the J-7 reminder is then not needed (NOT-04)."""
        await changeable_person(sites, beneficiary_id)
        return await projections.record_login(beneficiary_id, login.at, uow())

    @router.post("/beneficiaries/{beneficiary_id}/gdpr", dependencies=[right("notifications", "write")])
    async def send_gdpr(beneficiary_id: str, sites: Scope = in_scope) -> dict[str, Any]:
        """Send the GDPR information mail by hand (NOT-05)."""
        await changeable_person(sites, beneficiary_id)
        await postman.unseal_contacts([beneficiary_id])
        result = await gdpr.send_gdpr_by_hand(beneficiary_id, uow())
        return result | {"sent": await postman.send_due()}

    return router
