"""Set-ups loaded whole or in part (a referential, a catalogue, templates): merged into the current
one, checked whole, saved as a new version and announced by a snapshot event; and the projections
other services keep of such snapshots."""

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from contracts import Event
from servicekit.errors import RefusedInput


class VersionedSetup(Protocol):
    version: int

    def digest(self) -> str: ...


S = TypeVar("S", bound=VersionedSetup)


async def load_versioned(uow, repository: Callable[[Any], Any], merge: Callable[[S], tuple[S, list[str]]],
                         announce: Callable[[S], Event], dry_run: bool = False) -> dict[str, Any]:
    """Refuse the whole load on any problem; loading what is already there changes and emits nothing."""
    async with uow:
        current = await repository(uow).get()
        merged, problems = merge(current)
        if problems:
            raise RefusedInput(problems)
        if merged.digest() == current.digest():
            return {"changed": False, "version": current.version}
        merged.version = current.version + 1
        if dry_run:
            return {"changed": True, "version": merged.version, "dry_run": True}
        await repository(uow).save(merged, uow.clock.now())
        uow.emit(announce(merged))
        await uow.commit()
        return {"changed": True, "version": merged.version}


def snapshot_projection(attribute: str) -> Callable[[Any, Any], Any]:
    """A handler replacing the projection ``uow.<attribute>`` with each newer snapshot event (a
    ``version`` field); a repeated or older snapshot never overwrites a newer one."""

    async def record_snapshot(event, uow) -> None:
        async with uow:
            projection = getattr(uow, attribute)
            if event.version <= await projection.version():
                return
            await projection.replace(event)
            await uow.commit()

    return record_snapshot
