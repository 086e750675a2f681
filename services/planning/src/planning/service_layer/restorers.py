"""An audit replay's restorers (OPS-04): planning's state decided by its own commands, rebuilt from
planning's own events, one handler per event type writing the rows the command wrote (ids and times
from the event). Advisors' e-mails never travel in an event (staff's personal data): a restored
referential has none, and the bootstrap leaves that column (and the snapshot holding them) out of the
digest with its reason."""

from contracts.planning import ReferentialChanged

from planning.domain.referential import (Advisor, Antenne, Ods, Referential, Resource, Site, Step, Structure)


def _referential(event: ReferentialChanged) -> Referential:
    return Referential(
        version=event.version,
        structure=Structure(**event.structure.model_dump()) if event.structure else None,
        antennes={a.code: Antenne(**a.model_dump()) for a in event.antennes},
        sites={s.code: Site(**s.model_dump()) for s in event.sites},
        advisors={a.code: Advisor(**a.model_dump()) for a in event.advisors},
        ods={o.code: Ods(**o.model_dump(exclude={"steps"}, exclude_none=True),
                         steps=tuple(Step(**st.model_dump()) for st in o.steps)) for o in event.ods},
        resources={r.code: Resource(**r.model_dump(exclude={"ods"}), ods=(r.ods,)) for r in event.resources},
    )


async def restore_referential(event: ReferentialChanged, uow) -> None:
    """The referential at the event's version, stamped with the event's time and digest (REF-05)."""
    async with uow:
        await uow.referential.save(_referential(event), uow.clock.now(), event.digest)
        await uow.commit()


RESTORERS = {ReferentialChanged: restore_referential}
