"""Importer's reactions."""

from contracts.planning import ReferentialChanged


async def record_referential(event: ReferentialChanged, uow) -> None:
    """Keep importer's projection of the referential; an older snapshot never overwrites a newer one."""
    async with uow:
        if event.version <= await uow.referential.version():
            return
        await uow.referential.replace(event)
        await uow.commit()


EVENT_HANDLERS = {ReferentialChanged: record_referential}
