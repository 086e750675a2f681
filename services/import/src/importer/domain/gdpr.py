"""BEN-02: the *accord RGPD* of a record. Pure: statuses, their French labels, what staff may do.

No row for a person: *non demandé*. ``requested``: *demandé* (the GDPR mail, NOT-05, carried a
personal link, or staff asked again). ``digital``: *accord numérique* (the person opened the link);
``paper``: *accord papier* (entered by staff). Once an agreement is recorded it stays: no new
request, no second agreement.
"""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from servicekit.clock import PARIS
from servicekit.errors import Conflict, RefusedInput

Status = Literal["not_requested", "requested", "digital", "paper"]
AGREEMENTS = ("digital", "paper")


@dataclass(frozen=True)
class GdprAgreement:
    status: Status = "not_requested"
    requested_at: datetime | None = None
    agreed_at: datetime | None = None
    paper_date: date | None = None
    recorded_by: str | None = None

    @property
    def agreed(self) -> bool:
        return self.status in AGREEMENTS

    @property
    def label(self) -> str:
        if self.status == "requested":
            return f"demandé le {_day(self.requested_at)}"
        if self.status == "digital":
            return f"accord numérique le {_day(self.agreed_at)}"
        if self.status == "paper":
            day = f"{self.paper_date:%d/%m/%Y}" if self.paper_date else _day(self.agreed_at)
            return f"accord papier du {day} (saisi par {self.recorded_by or 'inconnu'})"
        return "non demandé"

    def view(self) -> dict[str, Any]:
        return {"status": self.status, "label": self.label,
                "requested_at": self.requested_at and self.requested_at.isoformat(),
                "agreed_at": self.agreed_at and self.agreed_at.isoformat(),
                "paper_date": self.paper_date and self.paper_date.isoformat(), "recorded_by": self.recorded_by}


def _day(moment: datetime | None) -> str:
    return f"{moment.astimezone(PARIS):%d/%m/%Y}" if moment else "?"


def check_request(agreement: GdprAgreement, *, email: str | None, accepts_email: bool) -> None:
    """Staff may send the request again while the status is not an agreement, to an e-mail address
    the person accepts mails at (NOT-03)."""
    if agreement.agreed:
        raise Conflict([f"Accord RGPD déjà recueilli ({agreement.label}) : aucune nouvelle demande n'est "
                        "envoyée."])
    if not email:
        raise RefusedInput(["Pas d'adresse e-mail sur la fiche : la demande d'accord RGPD ne peut pas partir par "
                            "mail ; enregistrez un accord papier (prestaflow beneficiary gdpr-paper)."])
    if not accepts_email:
        raise RefusedInput(["La personne n'accepte pas d'être contactée par mail : la demande d'accord RGPD ne "
                            "peut pas partir ; enregistrez un accord papier (prestaflow beneficiary gdpr-paper)."])


def check_paper(agreement: GdprAgreement, paper_date: date | None, today: date) -> None:
    if agreement.agreed:
        raise Conflict([f"Accord RGPD déjà enregistré ({agreement.label}) : rien n'a été modifié."])
    if paper_date is not None and paper_date > today:
        raise RefusedInput([f"Date de l'accord papier {paper_date:%d/%m/%Y} dans le futur."])


LinkRefusal = Literal["forged", "expired", "used", "agreed", "unknown"]


class LinkRefused(Exception):
    """The personal link cannot record an agreement; ``reason`` says why (nothing was changed)."""

    def __init__(self, reason: LinkRefusal, agreement: GdprAgreement | None = None):
        super().__init__(reason)
        self.reason = reason
        self.agreement = agreement
