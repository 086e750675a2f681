"""Billing's reactions: one plain async function per command or event."""

from dataclasses import dataclass

from contracts.billing import CatalogueChanged, LegalEntityRef, TariffRef
from contracts.planning import ReferentialChanged
from servicekit.errors import RefusedInput

from billing.domain.catalogue import Catalogue, CataloguePart, duplicate_codes


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
    async with uow:
        current = await uow.catalogue.get()
        merged = current.merged_with(cmd.part)
        problems = duplicate_codes(cmd.part) + merged.problems()
        if problems:
            raise RefusedInput(problems)
        if merged.digest() == current.digest():
            return {"changed": False, "version": current.version}
        merged.version = current.version + 1
        if cmd.dry_run:
            return {"changed": True, "version": merged.version, "dry_run": True}
        await uow.catalogue.save(merged, uow.clock.now())
        uow.emit(catalogue_changed(merged), key="catalogue")
        await uow.commit()
        return {"changed": True, "version": merged.version}


async def record_referential(event: ReferentialChanged, uow) -> None:
    """Keep billing's projection of ressources and sites; never let an older snapshot win."""
    async with uow:
        if event.version <= await uow.referential.version():
            return
        await uow.referential.replace(event)
        await uow.commit()


EVENT_HANDLERS = {ReferentialChanged: record_referential}
