"""Billing's reactions: one plain async function per command or event."""

from dataclasses import dataclass

from contracts.billing import CatalogueChanged, LegalEntityRef, TariffRef
from contracts.importer import BeneficiaryCorrected, BeneficiaryPurged, BeneficiaryRegistered
from contracts.planning import ODSClosed, ODSReopened, ReferentialChanged
from servicekit.versioned import load_versioned, snapshot_projection

from billing.domain.catalogue import Catalogue, CataloguePart, duplicate_codes
from billing.service_layer.invoicing import (draft_invoices, forget_beneficiaries, record_beneficiaries,
                                             reopen_journeys)


@dataclass(frozen=True)
class LoadCatalogue:
    part: CataloguePart
    dry_run: bool = False


def catalogue_changed(cat: Catalogue) -> CatalogueChanged:
    return CatalogueChanged(
        base_number=cat.base_number,
        legal_entities=tuple(
            LegalEntityRef(code=e.code, name=e.name, siret=e.siret, invoice_prefix=e.invoice_prefix,
                           antennes=tuple(a.code for a in cat.antennes.values() if a.legal_entity == e.code))
            for e in cat.legal_entities.values()),
        buyers=tuple(cat.buyers),
        tariffs=tuple(TariffRef(**t.model_dump(exclude={"amount_eur"}), amount=t.amount_eur)
                      for t in cat.tariffs.values()),
    )


async def load_catalogue(cmd: LoadCatalogue, uow) -> dict:
    """Merge legal entities, buyers and tariffs (BIL-01, BIL-02); refuse the whole part on any problem."""
    def merge(current: Catalogue) -> tuple[Catalogue, list[str]]:
        merged = current.merged_with(cmd.part)
        return merged, duplicate_codes(cmd.part) + merged.problems()

    return await load_versioned(uow, lambda u: u.catalogue, merge, catalogue_changed, cmd.dry_run)


# Billing's copy of ressources (market, lot, mandataire) and sites (address for invoices).
record_referential = snapshot_projection("referential")


EVENT_HANDLERS = {
    ReferentialChanged: record_referential,
    ODSClosed: draft_invoices,
    ODSReopened: reopen_journeys,
    BeneficiaryRegistered: record_beneficiaries,
    BeneficiaryCorrected: record_beneficiaries,
    BeneficiaryPurged: forget_beneficiaries,
}
