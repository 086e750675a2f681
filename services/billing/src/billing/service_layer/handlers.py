"""Billing's reactions: one plain async function per command or event."""

from dataclasses import dataclass

from contracts.billing import BuyerRef, CatalogueChanged, LegalEntityRef, TariffRef
from contracts.importer import BeneficiariesMerged, BeneficiaryCorrected, BeneficiaryPurged, BeneficiaryRegistered
from contracts.planning import ODSClosed, ODSReopened, ReferentialChanged
from servicekit.merges import follow_merges
from servicekit.versioned import load_versioned, snapshot_projection

from billing.domain.catalogue import (AntenneEntity, Buyer, Catalogue, CataloguePart, LegalEntity, Tariff,
                                      duplicate_codes)
from billing.service_layer.invoicing import (draft_invoices, forget_beneficiaries, record_beneficiaries,
                                             reopen_journeys)
from billing.service_layer.restorers import RESTORERS as ISSUING_RESTORERS


@dataclass(frozen=True)
class LoadCatalogue:
    part: CataloguePart
    dry_run: bool = False


def catalogue_changed(cat: Catalogue) -> CatalogueChanged:
    return CatalogueChanged(
        base_number=cat.base_number,
        legal_entities=tuple(
            LegalEntityRef(**e.model_dump(),
                           antennes=tuple(a.code for a in cat.antennes.values() if a.legal_entity == e.code))
            for e in cat.legal_entities.values()),
        buyers=tuple(cat.buyers),
        buyer_details=tuple(BuyerRef(**b.model_dump()) for b in cat.buyers.values()),
        tariffs=tuple(TariffRef(**t.model_dump(exclude={"amount_eur"}), amount=t.amount_eur)
                      for t in cat.tariffs.values()),
    )


async def load_catalogue(cmd: LoadCatalogue, uow) -> dict:
    """Merge legal entities, buyers and tariffs (BIL-01, BIL-02); refuse the whole part on any problem."""
    def merge(current: Catalogue) -> tuple[Catalogue, list[str]]:
        merged = current.merged_with(cmd.part)
        return merged, duplicate_codes(cmd.part) + merged.problems()

    return await load_versioned(uow, lambda u: u.catalogue, merge, catalogue_changed, cmd.dry_run)


async def restore_catalogue(event: CatalogueChanged, uow) -> None:
    """The audit's replay (OPS-04): the catalogue a command loaded, read back from billing's own snapshot
    event, as the next version, stamped with the event's time. An event written before it carried the
    legal entities in full (no IBAN) cannot give the catalogue back: nothing is written, and the
    replay's digest names the catalogue's tables as differing."""
    if any(e.iban is None or e.bic is None for e in event.legal_entities):
        return
    async with uow:
        current = await uow.catalogue.get()
        tariffs = [Tariff(**t.model_dump(exclude={"amount"}), amount_eur=t.amount) for t in event.tariffs]
        restored = Catalogue(
            version=current.version + 1, base_number=event.base_number,
            legal_entities={e.code: LegalEntity(**e.model_dump(exclude={"antennes"}, exclude_none=True))
                            for e in event.legal_entities},
            antennes={a: AntenneEntity(code=a, legal_entity=e.code) for e in event.legal_entities for a in e.antennes},
            buyers={b.code: Buyer(**b.model_dump()) for b in event.buyer_details},
            tariffs={Catalogue.tariff_id(t): t for t in tariffs})
        await uow.catalogue.save(restored, uow.clock.now())
        await uow.commit()


# What billing's commands decided, rebuilt by a replay from billing's own events.
RESTORERS = {CatalogueChanged: restore_catalogue, **ISSUING_RESTORERS}


# Billing's copy of ressources (market, lot, mandataire) and sites (address for invoices).
record_referential = snapshot_projection("referential")


EVENT_HANDLERS = {
    ReferentialChanged: record_referential,
    ODSClosed: draft_invoices,
    ODSReopened: reopen_journeys,
    BeneficiaryRegistered: record_beneficiaries,
    BeneficiaryCorrected: record_beneficiaries,
    BeneficiaryPurged: forget_beneficiaries,
    BeneficiariesMerged: follow_merges,  # BEN-03: the merged record's rows move to the kept one
}
