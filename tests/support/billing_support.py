"""Billing's test support: the sample's billing part and referential, closed journeys as planning emits
them, beneficiaries' sealed identities with their keys, and a migrated billing on PostgreSQL or SQLite."""

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from contracts.importer import BeneficiaryRegistered, BeneficiaryRegisteredItem
from contracts.planning import ODSClosed, ODSClosedItem, ReferentialChanged, ResourceRef, SiteRef
from servicekit import crypto
from servicekit.clock import FixedClock

from billing.bootstrap import bootstrap
from billing.config import BillingSettings
from billing.service_layer import handlers

REPOSITORY = Path(__file__).resolve().parents[2]
SHARED = REPOSITORY / ".." / "shared"
SAMPLE = SHARED / "prestappli" / "samples" / "referentiel.yaml"
VALIDATE = SHARED / "validators" / "en16931" / "validate.py"


def sample() -> dict[str, Any]:
    return json.loads(json.dumps(yaml.safe_load(SAMPLE.read_text(encoding="utf-8")), default=str))


def billing_part() -> dict:
    """The billing part of the sample, as prestaflow's referential_file.split builds it."""
    data = sample()
    return {
        "base_number": data["structure"]["base_number"],
        "legal_entities": data["legal_entities"],
        "antennes": [{"code": a["code"], "legal_entity": a["legal_entity"]} for a in data["antennes"]],
        "buyers": data["buyers"],
        "tariffs": data["tariffs"],
    }


def referential_changed(version: int = 1, **resource_changes: Any) -> ReferentialChanged:
    """Planning's snapshot of the sample's sites and ressources (what billing keeps of it)."""
    data = sample()
    sites = tuple(SiteRef(code=s["code"], name=s["name"], antenne=s["antenne"], address=s.get("address"),
                          remote=s.get("remote", False), france_travail_addresses=tuple(s.get("france_travail_addresses", ())))
                  for s in data["sites"])
    resources = tuple(ResourceRef(**({k: r[k] for k in ("code", "name", "antenne", "start", "end", "market_number",
                                                         "lot_number", "ods", "lead_contractor", "funder")}
                                     | resource_changes), setting_version=1) for r in data["resources"])
    return ReferentialChanged(version=version, structure=None, antennes=(), sites=sites, advisors=(), ods=(),
                              resources=resources)


def closed(enrolment: str, outcome: str = "bilan", *, closing: int = 1, start: date = date(2025, 1, 14),
           site: str = "ARM", beneficiary: str | None = None, order: str | None = "BDC-2025-000101") -> ODSClosedItem:
    return ODSClosedItem(enrolment_id=enrolment, closing=closing, beneficiary_id=beneficiary or f"b-{enrolment}",
                         ods="ACR2025", resource="ACR2025-L12", site=site, ods_start=start,
                         ods_end=date(2025, 4, 13),
                         order_number=order, outcome=outcome, outcome_date=date(2025, 4, 10),
                         closed_on=date(2025, 4, 11))


@dataclass
class Keys:
    """Importer's side of sealed identities: each person's key, served as importer's API serves them."""

    keys: dict[str, str] = field(default_factory=dict)
    transport: Any = None

    def seal(self, beneficiary_id: str, last_name: str, first_name: str, ft_id: str) -> str:
        key = self.keys.setdefault(beneficiary_id, crypto.new_key())
        return crypto.seal(key, {"last_name": last_name, "first_name": first_name, "ft_id": ft_id})

    async def unseal_all(self, sealed: dict[str, str]) -> dict[str, dict[str, Any] | None]:
        out = {}
        for beneficiary_id, token in sealed.items():
            try:
                out[beneficiary_id] = crypto.unseal(self.keys.get(beneficiary_id), token)
            except crypto.KeyDestroyed:
                out[beneficiary_id] = None
        return out


def registered(keys: Keys, items: list[ODSClosedItem]) -> BeneficiaryRegistered:
    return BeneficiaryRegistered(items=tuple(BeneficiaryRegisteredItem(
        beneficiary_id=i.beneficiary_id, accepts_email=True, accepts_sms=False,
        sealed=keys.seal(i.beneficiary_id, f"NOM{n}", f"Prénom{n}", f"{1000000 + n}X"))
        for n, i in enumerate(items)))


class InProcessSettings(BillingSettings):
    pdf_workers: int | None = 0  # render in the test's process


def paris_noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 11, 0, tzinfo=UTC)


async def billing_service(make, keys: Keys, name: str = "billing"):
    """A migrated billing with the sample's catalogue and referential."""
    runtime = await make(name)
    await handlers.load_catalogue(handlers.LoadCatalogue(handlers.CataloguePart.model_validate(billing_part())),
                                  runtime.uow_factory())
    await handlers.record_referential(referential_changed(), runtime.uow_factory())
    return runtime


def make_bootstrap(keys: Keys):
    return partial(bootstrap, key_source=keys)


async def close(runtime, keys: Keys, *items: ODSClosedItem) -> None:
    """Planning closes these journeys; importer registered their beneficiaries before."""
    await handlers.record_beneficiaries(registered(keys, list(items)), runtime.uow_factory())
    await handlers.draft_invoices(ODSClosed(items=tuple(items)), runtime.uow_factory())


def clock_at(day: date) -> FixedClock:
    return FixedClock(paris_noon(day))


OUTCOMES = ("bilan", "reoriente", "abandon", "sortie_anticipee")


async def close_imported_journeys(api, start: date = date(2025, 1, 16)) -> list[ODSClosedItem]:
    """What the journeys chapter does (planning's ODSClosed), for tests of billing on the embedded
    runner: every imported enrolment closed, outcomes in turn, delivered to billing's handler."""
    people = (await api.request("GET", "importer", "/beneficiaries")).json()
    enrolments = sorted((e for p in people for e in p["enrolments"]), key=lambda e: e["id"])
    items = [ODSClosedItem(enrolment_id=e["id"], closing=1, beneficiary_id=e["beneficiary_id"], ods=e["ods_code"],
                           resource=e["resource_code"], site=e["site_code"], ods_start=start,
                           ods_end=date(2025, 4, 15), order_number=e["order_number"] or f"BDC-2025-{n:06d}",
                           outcome=OUTCOMES[n % len(OUTCOMES)], outcome_date=date(2025, 4, 10),
                           closed_on=date(2025, 4, 11))
             for n, e in enumerate(enrolments)]
    billing = next(r for r in api.embedded.runtimes if r.name == "billing")
    await handlers.draft_invoices(ODSClosed(items=tuple(items)), billing.uow_factory())
    return items
