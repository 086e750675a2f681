"""Events produced by the planning service."""

from datetime import date
from typing import Literal

from pydantic import AwareDatetime, Field

from contracts.base import Contract, Event, Item, ListEvent, items_field

PRODUCER = "planning"


class StructureRef(Contract):
    name: str = Field(description="Name of the BGE structure.", examples=["BGE Hauts-de-France"])
    siret: str = Field(description="The structure's SIRET: rows of other providers are skipped.",
                       examples=["41234567800019"])


class AntenneRef(Contract):
    code: str = Field(description="Antenne code.", examples=["LILLE"])
    name: str = Field(description="Antenne name.", examples=["Antenne Lille Métropole"])


class SiteRef(Contract):
    code: str = Field(description="Site (lieu d'action) code.", examples=["ARM"])
    name: str = Field(description="Site name.", examples=["Armentières"])
    antenne: str = Field(description="Code of the antenne the site belongs to.", examples=["LILLE"])
    address: str | None = Field(description="Postal address; none for the remote site.",
                                examples=["12 rue de Lille, 59280 Armentières"])
    remote: bool = Field(default=False, description="The site stands for 100 % remote appointments.")
    france_travail_addresses: tuple[str, ...] = Field(
        description="Exact address strings Prest@ppli uses for this site (REF-01).",
        examples=[["12 RUE DE LILLE 59280 ARMENTIERES"]],
    )
    active: bool = Field(default=True, description="Inactive sites take no new action.")


class AdvisorRef(Contract):
    code: str = Field(description="Advisor (conseiller) login code.", examples=["cdurand"])
    name: str = Field(description="Advisor's display name.", examples=["Claire DURAND"])
    sites: tuple[str, ...] = Field(description="Codes of the sites the advisor works at.", examples=[["ARM"]])
    remote: bool = Field(description="Takes 100 % remote appointments.", examples=[False])
    active: bool = Field(default=True, description="Inactive advisors get no appointment.")


class StepRef(Contract):
    order: int = Field(ge=1, description="Position in the ODS; 1 is the initial diagnostic interview.",
                       examples=[1])
    name: str = Field(description="Étape name.", examples=["Entretien initial de diagnostic"])
    action_type: str = Field(description="Type d'action of this étape.", examples=["diagnostic"])
    duration_min: int = Field(gt=0, description="Standard duration in minutes.", examples=[60])
    nature: Literal["individual", "collective"] = Field(description="Individual or collective.",
                                                        examples=["individual"])


class OdsRef(Contract):
    code: str = Field(description="ODS code.", examples=["ACR2025"])
    name: str = Field(description="ODS name.", examples=["Activ'Créa 2025"])
    special_service: str | None = Field(description="Prestation spéciale, if any.",
                                        examples=["Activ'Créa 2025"])
    sites: tuple[str, ...] = Field(description="Sites where the ODS is delivered.", examples=[["ARM", "LIL"]])
    steps: tuple[StepRef, ...] = Field(description="Ordered étapes.")
    duration_days: int = Field(default=90, ge=1, description=(
        "Theoretical length of a journey in days: its default end is its start plus this (PRC-11)."),
        examples=[90])
    bilan_reasons: tuple[str, ...] | None = Field(default=None, description=(
        "The form's reasons after the bilan interview (PRC-02); none in events written before they were carried."),
        examples=[["Projet validé", "Réorientation"]])
    early_exit_reasons: tuple[str, ...] | None = Field(default=None, description=(
        "The form's early exit reasons (PRC-02); none in events written before they were carried."),
        examples=[["Reprise d'emploi"]])
    abandon_reasons: tuple[str, ...] | None = Field(default=None, description=(
        "The form's abandon reasons (PRC-02); none in events written before they were carried."),
        examples=[["Sans nouvelles"]])


class ResourceRef(Contract):
    code: str = Field(description="Ressource code.", examples=["ACR2025-L12"])
    name: str = Field(description="Ressource name.", examples=["marché Activ'Créa 2025 2025-2028 lot 12"])
    antenne: str = Field(description="Antenne the ressource belongs to.", examples=["LILLE"])
    start: date = Field(description="Market start.", examples=["2025-01-01"])
    end: date = Field(description="Market end.", examples=["2028-12-31"])
    market_number: str = Field(description="Numéro de marché, checked on import.", examples=["2024-FT-ACR-0042"])
    lot_number: str = Field(description="Numéro de lot.", examples=["12"])
    ods: str = Field(description="The one ODS this ressource finances (REF-04).", examples=["ACR2025"])
    lead_contractor: str = Field(description="'self' when this BGE is mandataire, else the partner's name.",
                                 examples=["self"])
    funder: str = Field(description="Financeur.", examples=["France Travail"])
    active: bool = Field(default=True, description="Inactive ressources take no new action or import.")
    setting_version: int = Field(ge=1, description="Incremented each time the ressource's settings change.",
                                 examples=[1])


class ReferentialChanged(Event):
    """The planning referential after a change: a full snapshot, so projections replace theirs."""

    event_type = "ReferentialChanged"
    producer = PRODUCER

    version: int = Field(ge=1, description="Referential version, incremented on every change (REF-05).",
                         examples=[3])
    structure: StructureRef | None = Field(description="The structure, once known.")
    antennes: tuple[AntenneRef, ...] = Field(description="All antennes.")
    sites: tuple[SiteRef, ...] = Field(description="All sites with their France Travail addresses.")
    advisors: tuple[AdvisorRef, ...] = Field(description="All advisors.")
    ods: tuple[OdsRef, ...] = Field(description="All ODS with their étapes.")
    resources: tuple[ResourceRef, ...] = Field(description="All ressources.")
    digest: str | None = Field(default=None, description=(
        "SHA-256 of the whole referential at this version as planning stores it (REF-05), advisors' "
        "e-mails included though the event leaves them out; none in events written before it was carried."),
        examples=["9f2c4e1b7a0d3f5e8c6b2a1d4e7f0a3b5c8d1e4f7a0b3c6d9e2f5a8b1c4d7e0f"])


class ActionFields(Contract):
    """An action (appointment or workshop in an advisor's agenda) as other services see it."""

    action_id: str = Field(description="Action id.", examples=["5b0e8f52-3c1d-4c55-9f3e-2f0c1b1a9d10"])
    advisor: str | None = Field(description="Advisor's code; none while the action waits for assignment.",
                                examples=["cdurand"])
    action_type: str = Field(description="Type d'action.", examples=["diagnostic"])
    ods: str | None = Field(description="ODS code (none for an absence).", examples=["ACR2025"])
    step: int | None = Field(description="Étape order in the ODS; 1 = entretien initial de diagnostic.",
                             examples=[1])
    resource: str | None = Field(description="Ressource code.", examples=["ACR2025-L12"])
    mode: Literal["on_site", "remote"] = Field(description="Sur site or 100 % à distance.", examples=["on_site"])
    site: str | None = Field(description="Site code (none only for an absence).", examples=["ARM"])
    starts_at: AwareDatetime = Field(description="Start (UTC).")
    ends_at: AwareDatetime = Field(description="End (UTC).")
    nature: Literal["individual", "collective"] = Field(description="Individual or collective.",
                                                        examples=["individual"])
    max_participants: int = Field(ge=0, description="Nombre maximum de participants.", examples=[1])
    to_assign: bool = Field(default=False, description="Created by an import, waiting for an advisor (AFF-01).")


class ActionItem(ActionFields, Item):
    aggregate = "action"
    aggregate_field = "action_id"


class ActionPlanned(ListEvent):
    """Actions were added to agendas (PLN-01): one planned by hand, or a duplicated series."""

    event_type = "ActionPlanned"
    event_version = 2
    producer = PRODUCER

    items: tuple[ActionItem, ...] = items_field("The actions as planned")


class ActionChanged(ListEvent):
    """Actions' settings changed (time, advisor, site, capacity...); each item carries the new state."""

    event_type = "ActionChanged"
    event_version = 2
    producer = PRODUCER

    items: tuple[ActionItem, ...] = items_field("The actions after the change")


class ActionCancellation(Contract):
    action_id: str = Field(description="Action id.")
    reason: str | None = Field(default=None, description="Why, in the user's words.", examples=["Conseiller absent"])


class ActionCancelledItem(ActionCancellation, Item):
    aggregate = "action"
    aggregate_field = "action_id"


class ActionCancelled(ListEvent):
    """Actions were cancelled; their participants are removed with them."""

    event_type = "ActionCancelled"
    event_version = 2
    producer = PRODUCER

    items: tuple[ActionCancelledItem, ...] = items_field("The cancelled actions")


class Participation(Contract):
    action_id: str = Field(description="Action id.")
    beneficiary_id: str = Field(description="Beneficiary id (importer's), never a name.",
                                examples=["b-6f1c2d"])
    resource: str | None = Field(description="Ressource imputed to this participant.", examples=["ACR2025-L12"])
    ods: str | None = Field(description="ODS imputed to this participant.", examples=["ACR2025"])


class ParticipantAddedItem(Participation, Item):
    aggregate = "action"
    aggregate_field = "action_id"


class ParticipantAdded(ListEvent):
    """Beneficiaries joined actions (PLN-05)."""

    event_type = "ParticipantAdded"
    event_version = 2
    producer = PRODUCER

    items: tuple[ParticipantAddedItem, ...] = items_field("Who joined which action")


class Removal(Contract):
    action_id: str = Field(description="Action id.")
    beneficiary_id: str = Field(description="Beneficiary id.")
    reason: str | None = Field(default=None, description="Why.", examples=["Désinscrit de Prest@ppli"])


class ParticipantRemovedItem(Removal, Item):
    aggregate = "action"
    aggregate_field = "action_id"


class ParticipantRemoved(ListEvent):
    """Beneficiaries left actions (PRC-08): the virtual office must stop showing them."""

    event_type = "ParticipantRemoved"
    event_version = 2
    producer = PRODUCER

    items: tuple[ParticipantRemovedItem, ...] = items_field("Who left which action")


class Presence(Contract):
    action_id: str = Field(description="Action id.")
    beneficiary_id: str = Field(description="Beneficiary id.")
    presence: Literal["oui", "non", "excusé"] = Field(description="Présence.", examples=["oui"])
    action_starts_at: AwareDatetime = Field(description="When the action took place.")


class PresenceValidatedItem(Presence, Item):
    aggregate = "action"
    aggregate_field = "action_id"


class PresenceValidated(ListEvent):
    """Presence of participants at past actions was validated (PLN-08)."""

    event_type = "PresenceValidated"
    event_version = 2
    producer = PRODUCER

    items: tuple[PresenceValidatedItem, ...] = items_field("Each participant's presence")


class AssignmentOutcome(Contract):
    assignment_id: str = Field(description="Assignment id.")
    action_id: str = Field(description="The appointment that was to assign.")
    final_action_id: str = Field(description="The action the participants are in now.")
    duplicate_action_id: str | None = Field(default=None,
                                            description="The imported action left as a duplicate to delete.")


class AssignmentAppliedItem(AssignmentOutcome, Item):
    aggregate = "assignment"
    aggregate_field = "assignment_id"


class AssignmentApplied(ListEvent):
    """Planning applied assignments (AFF-03): where the participants are now."""

    event_type = "AssignmentApplied"
    event_version = 2
    producer = PRODUCER

    items: tuple[AssignmentAppliedItem, ...] = items_field("The assignments applied")


class AssignmentRefusal(Contract):
    assignment_id: str = Field(description="Assignment id.")
    action_id: str = Field(description="The appointment that was to assign.")
    messages: tuple[str, ...] = Field(description="Planning's reasons, in French.")


class AssignmentRefusedItem(AssignmentRefusal, Item):
    aggregate = "assignment"
    aggregate_field = "assignment_id"


class AssignmentRefused(ListEvent):
    """Planning could not apply assignments; each appointment goes back to the worklist with the reason."""

    event_type = "AssignmentRefused"
    event_version = 2
    producer = PRODUCER

    items: tuple[AssignmentRefusedItem, ...] = items_field("The assignments refused")


class Opening(Contract):
    enrolment_id: str = Field(description="The enrolment (parcours) id, the importer's.",
                              examples=["0b8f4a6e-2f7c-5d1a-9c3b-7e5d2a1f0c44"])
    beneficiary_id: str = Field(description="Beneficiary id.", examples=["b-6f1c2d"])
    ods: str = Field(description="ODS code.", examples=["ACR2025"])
    resource: str = Field(description="Ressource.", examples=["ACR2025-L12"])
    site: str = Field(description="The enrolment's site (lieu d'action).", examples=["ARM"])
    start_on: date = Field(description="Start of the ODS: the day of the first action by default (PRC-01).",
                           examples=["2025-01-14"])
    end_on: date = Field(description="Theoretical end: start plus the ODS's duration by default (PRC-11).",
                         examples=["2025-04-14"])
    order_number: str | None = Field(default=None, description="N° de commande, once known.",
                                     examples=["BDC-2025-000101"])


class EnrolmentOpenedItem(Opening, Item):
    aggregate = "enrolment"
    aggregate_field = "enrolment_id"


class EnrolmentOpened(ListEvent):
    """Enrolments (parcours) opened in planning when their first registration was attached (PRC-01)."""

    event_type = "EnrolmentOpened"
    producer = PRODUCER

    items: tuple[EnrolmentOpenedItem, ...] = items_field("The enrolments opened")


InitialOutcome = Literal["poursuivi", "reoriente"]


class JourneyForm(Contract):
    """The *prestation spéciale* form of an enrolment (PRC-02) after a save: every field, filled or not."""

    enrolment_id: str = Field(description="The enrolment (parcours).")
    beneficiary_id: str = Field(description="Beneficiary id.")
    changed_fields: tuple[str, ...] = Field(description="Names of the fields this save changed.",
                                            examples=[["initial_interview_on", "initial_outcome"]])
    order_number: str | None = Field(default=None, description="N° de commande.", examples=["BDC-2025-000101"])
    prescriber: str | None = Field(default=None, description="Conseiller référent France Travail.",
                                   examples=["MARTIN Paul"])
    agency_code: str | None = Field(default=None, description="Code de l'agence France Travail.",
                                    examples=["59123"])
    prestappli_initial_on: date | None = Field(default=None, description=(
        "Date de dépôt dans Prest@ppli après l'entretien initial."))
    prestappli_final_on: date | None = Field(default=None, description=(
        "Date de dépôt dans Prest@ppli du bilan / de la fin de prestation."))
    initial_interview_on: date | None = Field(default=None, description="Date entretien initial.")
    initial_outcome: InitialOutcome | None = Field(default=None, description=(
        "Suite entretien initial: a poursuivi la prestation / réorienté vers France Travail."),
        examples=["poursuivi"])
    outcome_on: date | None = Field(default=None, description="Date bilan / abandon / sortie anticipée.")
    bilan_reason: str | None = Field(default=None, description="Suite entretien bilan (from the ODS's list).",
                                     examples=["Création ou reprise d'entreprise opportune"])
    bilan_detail: str | None = Field(default=None, description="Motif détaillé of the bilan.")
    early_exit_reason: str | None = Field(default=None, description="Motif de sortie anticipée.",
                                          examples=["Reprise d'emploi"])
    abandon_reason: str | None = Field(default=None, description="Motif d'abandon.",
                                       examples=["Ne se présente plus aux rendez-vous"])
    situation: str = Field(description="Situation derived from the form (PRC-03).", examples=["En cours"])


class JourneyFormChangedItem(JourneyForm, Item):
    aggregate = "enrolment"
    aggregate_field = "enrolment_id"


class JourneyFormChanged(ListEvent):
    """The *prestation spéciale* form of enrolments was saved (PRC-02), with its content after the save."""

    event_type = "JourneyFormChanged"
    producer = PRODUCER

    items: tuple[JourneyFormChangedItem, ...] = items_field("The forms saved")


class JourneyDates(Contract):
    """An enrolment's dates as a user set them (PRC-01)."""

    enrolment_id: str = Field(description="The enrolment (parcours).")
    beneficiary_id: str = Field(description="Beneficiary id.")
    start_on: date = Field(description="Date de début de l'ODS after the change.", examples=["2025-01-14"])
    end_on: date = Field(description="Date de fin de l'ODS after the change.", examples=["2025-04-14"])


class JourneyDatesChangedItem(JourneyDates, Item):
    aggregate = "enrolment"
    aggregate_field = "enrolment_id"


class JourneyDatesChanged(ListEvent):
    """Users changed enrolments' start or end dates (PRC-01); a date set by hand no longer follows
    the enrolment's appointments."""

    event_type = "JourneyDatesChanged"
    producer = PRODUCER

    items: tuple[JourneyDatesChangedItem, ...] = items_field("The enrolments' dates after the change")


class Deliverable(Contract):
    """A PDF generated for an enrolment (PRC-06), as kept: never its content, which names the person."""

    deliverable_id: str = Field(description="The document's id.", examples=["0b8f3c9e-5d2a-5f1e-9c4b-7a6d2e1f3b80"])
    enrolment_id: str = Field(description="The enrolment (parcours).")
    beneficiary_id: str = Field(description="Beneficiary id.")
    kind: str = Field(description="Which document.", examples=["bilan"])
    number: int = Field(ge=1, description="Its number for this enrolment and kind: regenerating adds one.",
                        examples=[1])
    generated_at: AwareDatetime = Field(description="When it was rendered (UTC): the time it is stamped with.")
    sha256: str = Field(description="SHA-256 of the PDF's bytes.",
                        examples=["3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b"])
    size: int = Field(ge=0, description="Size of the PDF in bytes.", examples=[48213])


class DeliverableGeneratedItem(Deliverable, Item):
    aggregate = "enrolment"
    aggregate_field = "enrolment_id"


class DeliverablesGenerated(ListEvent):
    """Deliverables (bilan, émargement) were generated for enrolments (PRC-06)."""

    event_type = "DeliverablesGenerated"
    producer = PRODUCER

    items: tuple[DeliverableGeneratedItem, ...] = items_field("The documents generated")


JourneyOutcome = Literal["reoriente", "abandon", "sortie_anticipee", "bilan"]


class Closing(Contract):
    enrolment_id: str = Field(description="The enrolment (parcours) closed.")
    closing: int = Field(ge=1, description=(
        "Which closing of this enrolment this is: 1, then 2 after a réouverture and a new closing "
        "(PRC-10). A consumer that saw this closing already ignores it."), examples=[1])
    beneficiary_id: str = Field(description="Beneficiary id.")
    ods: str = Field(description="ODS code.", examples=["ACR2025"])
    resource: str = Field(description="Ressource.", examples=["ACR2025-L12"])
    site: str = Field(description="The enrolment's site.", examples=["ARM"])
    ods_start: date = Field(description="Date de début de l'ODS (the enrolment's start, PRC-01).")
    ods_end: date = Field(description="Date de fin de l'ODS (the enrolment's end, PRC-01).")
    order_number: str | None = Field(description="N° de commande France Travail (BT-13 on the invoice).",
                                     examples=["BDC-2025-000101"])
    outcome: JourneyOutcome = Field(description=(
        "How the journey ended (BIL-04): réorienté vers France Travail after the initial interview, "
        "abandon, sortie anticipée, or bilan (prestation terminée)."), examples=["bilan"])
    outcome_date: date = Field(description="Date bilan / abandon / sortie anticipée (or of the initial "
                                           "interview when réorienté).")
    closed_on: date = Field(description="Day the enrolment closed.")


class ODSClosedItem(Closing, Item):
    aggregate = "enrolment"
    aggregate_field = "enrolment_id"


class ODSClosed(ListEvent):
    """Enrolments closed (PRC-07): their journey is over and billing can invoice it (BIL-03)."""

    event_type = "ODSClosed"
    producer = PRODUCER

    items: tuple[ODSClosedItem, ...] = items_field("The enrolments closed")


class Reopening(Contract):
    enrolment_id: str = Field(description="The enrolment (parcours) reopened.")
    closing: int = Field(ge=1, description="The closing this réouverture undoes.", examples=[1])
    beneficiary_id: str = Field(description="Beneficiary id.")
    reason: str = Field(description="Why it was reopened, as the user typed it.",
                        examples=["Date de bilan erronée"])
    reopened_on: date = Field(description="Day of the réouverture.")


class ODSReopenedItem(Reopening, Item):
    aggregate = "enrolment"
    aggregate_field = "enrolment_id"


class ODSReopened(ListEvent):
    """Closed enrolments reopened (PRC-10): billing drops the draft, or lists the issued invoice for a
    credit note (BIL-08)."""

    event_type = "ODSReopened"
    producer = PRODUCER

    items: tuple[ODSReopenedItem, ...] = items_field("The enrolments reopened")


# First versions: one aggregate per event. Kept for their published schemas and upcast on reading.

class ActionPlannedV1(Event):
    """An action was added to an agenda (PLN-01)."""

    event_type = "ActionPlanned"
    producer = PRODUCER

    action: ActionFields = Field(description="The action as planned.")


class ActionChangedV1(Event):
    """An action's settings changed (time, advisor, site, capacity...); carries the new state."""

    event_type = "ActionChanged"
    producer = PRODUCER

    action: ActionFields = Field(description="The action after the change.")


class ActionCancelledV1(ActionCancellation, Event):
    """An action was cancelled; its participants are removed with it."""

    event_type = "ActionCancelled"
    producer = PRODUCER


class ParticipantAddedV1(Participation, Event):
    """A beneficiary joined an action (PLN-05)."""

    event_type = "ParticipantAdded"
    producer = PRODUCER


class ParticipantRemovedV1(Removal, Event):
    """A beneficiary left an action (PRC-08): the virtual office must stop showing it."""

    event_type = "ParticipantRemoved"
    producer = PRODUCER


class PresenceValidatedV1(Presence, Event):
    """Presence of a participant at a past action was validated (PLN-08)."""

    event_type = "PresenceValidated"
    producer = PRODUCER


class AssignmentAppliedV1(AssignmentOutcome, Event):
    """Planning applied an assignment (AFF-03): where the participants are now."""

    event_type = "AssignmentApplied"
    producer = PRODUCER


class AssignmentRefusedV1(AssignmentRefusal, Event):
    """Planning could not apply an assignment; the appointment goes back to the worklist with the reason."""

    event_type = "AssignmentRefused"
    producer = PRODUCER
