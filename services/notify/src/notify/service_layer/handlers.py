"""Notify's reactions: one plain async function per command or event."""

from dataclasses import dataclass

from contracts.notify import NotificationSetupChanged, RuleRef, TemplateRef
from servicekit.errors import RefusedInput

from notify.domain.setup import NotificationSetup, SetupPart, duplicate_codes


@dataclass(frozen=True)
class LoadSetup:
    part: SetupPart
    dry_run: bool = False


def setup_changed(setup: NotificationSetup) -> NotificationSetupChanged:
    return NotificationSetupChanged(
        templates=tuple(TemplateRef(code=t.code, channel=t.channel, active=t.active)
                        for t in setup.templates.values()),
        rules=tuple(RuleRef(**r.model_dump()) for r in setup.rules.values()),
    )


async def load_setup(cmd: LoadSetup, uow) -> dict:
    """Merge templates and rules (NOT-01, NOT-02); refuse the whole part on any problem."""
    async with uow:
        current = await uow.setup.get()
        merged = current.merged_with(cmd.part)
        problems = duplicate_codes(cmd.part) + merged.problems()
        if problems:
            raise RefusedInput(problems)
        if merged.digest() == current.digest():
            return {"changed": False, "version": current.version}
        merged.version = current.version + 1
        if cmd.dry_run:
            return {"changed": True, "version": merged.version, "dry_run": True}
        await uow.setup.save(merged, uow.clock.now())
        uow.emit(setup_changed(merged), key="notification-setup")
        await uow.commit()
        return {"changed": True, "version": merged.version}


# Events notify reacts to; filled by the notifications slice.
EVENT_HANDLERS: dict = {}
