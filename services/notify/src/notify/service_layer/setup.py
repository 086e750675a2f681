"""Templates and sending rules (NOT-01, NOT-02): commands from the API, each announced by a
``NotificationSetupChanged`` snapshot, from which an audit replay restores them (OPS-04)."""

from dataclasses import dataclass

from contracts.notify import NotificationSetupChanged, RuleRef, TemplateRef
from servicekit.errors import Conflict, NotFound
from servicekit.versioned import load_versioned

from notify.domain.defaults import templates_of
from notify.domain.setup import SYSTEM_CODES, NotificationSetup, Rule, SetupPart, Template, duplicate_codes


@dataclass(frozen=True)
class LoadSetup:
    part: SetupPart
    dry_run: bool = False


def setup_changed(setup: NotificationSetup) -> NotificationSetupChanged:
    return NotificationSetupChanged(
        templates=tuple(TemplateRef(**t.model_dump()) for t in setup.templates.values()),
        rules=tuple(RuleRef(**r.model_dump()) for r in setup.rules.values()),
    )


async def load_setup(cmd: LoadSetup, uow) -> dict:
    """Merge templates and rules (NOT-01, NOT-02); refuse the whole part on any problem."""
    def merge(current: NotificationSetup) -> tuple[NotificationSetup, list[str]]:
        merged = current.merged_with(cmd.part)
        return merged, duplicate_codes(cmd.part) + merged.problems()

    return await load_versioned(uow, lambda u: u.setup, merge, setup_changed, cmd.dry_run)


async def save_template(template: Template, uow) -> dict:
    """Create or replace one template; a field that does not exist is refused, named."""
    return await load_setup(LoadSetup(SetupPart(templates=(template,))), uow)


async def set_template_active(code: str, active: bool, uow) -> dict:
    async with uow:
        template = templates_of(await uow.setup.get()).get(code)
    if template is None:
        raise NotFound([f"Modèle « {code} » inconnu."])
    return await save_template(template.model_copy(update={"active": active}), uow)


async def _remove(uow, current: NotificationSetup, remaining: NotificationSetup, removal) -> dict:
    remaining.version = current.version + 1
    await removal()
    await uow.setup.save(remaining, uow.clock.now())
    uow.emit(setup_changed(remaining))
    await uow.commit()
    return {"changed": True, "version": remaining.version}


async def delete_template(code: str, uow) -> dict:
    """A template used by a rule or by any message cannot be deleted, only deactivated (NOT-01)."""
    async with uow:
        current = await uow.setup.get()
        if code in SYSTEM_CODES:
            raise Conflict([f"Modèle système « {code} » : il ne peut pas être supprimé ; désactivez-le."])
        if code not in current.templates:
            raise NotFound([f"Modèle « {code} » inconnu."])
        rules = [r for r in current.rules.values() if r.template == code]
        sent = (await uow.messages.template_usage()).get(code, 0)
        if rules or sent:
            uses = ([f"{len(rules)} règle(s) d'envoi automatique"] if rules else []) + (
                [f"{sent} envoi(s)"] if sent else [])
            raise Conflict([f"Modèle « {code} » utilisé par {' et '.join(uses)} : il ne peut pas être "
                            "supprimé ; désactivez-le."])
        remaining = current.model_copy(deep=True)
        del remaining.templates[code]
        return await _remove(uow, current, remaining, lambda: uow.setup.delete_template(code))


async def add_rule(rule: Rule, uow) -> dict:
    return await load_setup(LoadSetup(SetupPart(rules=(rule,))), uow)


async def delete_rule(rule: Rule, uow) -> dict:
    async with uow:
        current = await uow.setup.get()
        if rule.key not in current.rules:
            raise NotFound([f"Règle {rule.ods} / confirmation {rule.confirmation} / modèle {rule.template} / "
                            f"J{rule.delay_days:+d} inconnue."])
        remaining = current.model_copy(deep=True)
        del remaining.rules[rule.key]
        return await _remove(uow, current, remaining, lambda: uow.setup.delete_rule(rule.key))


async def restore_setup(event: NotificationSetupChanged, uow) -> None:
    """The audit's replay (OPS-04): the set-up a command saved, read back from notify's own snapshot
    event (templates with their texts, rules), as the next version, stamped with the event's time."""
    async with uow:
        current = await uow.setup.get()
        restored = NotificationSetup(
            version=current.version + 1,
            templates={t.code: Template(**t.model_dump()) for t in event.templates},
            rules={r.key: r for r in (Rule(**ref.model_dump()) for ref in event.rules)})
        for code in current.templates.keys() - restored.templates.keys():
            await uow.setup.delete_template(code)
        for key in current.rules.keys() - restored.rules.keys():
            await uow.setup.delete_rule(key)
        await uow.setup.save(restored, uow.clock.now())
        await uow.commit()


# What notify's commands decided, rebuilt by a replay from notify's own events.
RESTORERS = {NotificationSetupChanged: restore_setup}
