"""Where an imported appointment goes (IMP-05, AFF-01). Pure, no I/O."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from servicekit.errors import RefusedInput

from planning.domain.agenda import Action, steps_digest
from planning.domain.referential import Referential

SlotKey = tuple[str, str, datetime]  # (ODS, site, start): the actions an appointment may join


@dataclass
class Registration:
    """Planning's side of an imported appointment: the action it joined."""

    registration_id: str
    beneficiary_id: str
    action_id: str
    confirmed: bool = False


def needs_attaching(known: Registration | None, moved_from: datetime | None) -> bool:
    """A registration already attached stays where it is, unless Prest@ppli moved it."""
    return known is None or moved_from is not None


def first_free(slots: Iterable[Action]) -> Action | None:
    """The planned étape-1 action an appointment joins among those at its ODS, site and time: one with
    a free place, an advisor's own slot before an action still waiting for one, then by id (stable)."""
    free = [s for s in slots if s.status == "planned" and s.step == 1 and s.free_places > 0]
    return min(free, key=lambda s: (s.to_assign, s.id)) if free else None


def imported_action(ref: Referential, action_id: str, *, ods: str, resource: str, site: str, starts_at: datetime,
                    remote: bool) -> Action:
    """The action an appointment with no free slot creates: individual, étape 1, waiting for an
    advisor (AFF-01). The importer only sends appointments of ODS it learnt from planning's referential:
    one unknown here means planning's referential is missing, and the event waits as a dead letter."""
    known = ref.ods.get(ods)
    step = next((s for s in known.steps if s.order == 1), None) if known else None
    if step is None:
        raise RefusedInput([f"ODS « {ods} » inconnue du référentiel de planning (ou sans étape 1) : "
                            "le rendez-vous importé ne peut pas être placé."])
    setting = ref.resources.get(resource)
    return Action(
        id=action_id, advisor=None, action_type=step.action_type, ods=ods, step=1, resource=resource,
        mode="remote" if remote else "on_site", site=site, starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=step.duration_min), nature="individual", max_participants=1,
        to_assign=True, resource_version=setting.setting_version if setting else None,
        steps_digest=steps_digest(ref, ods))
