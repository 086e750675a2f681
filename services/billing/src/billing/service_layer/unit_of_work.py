from servicekit.merges import SqlMerges
from servicekit.uow import SqlAlchemyUnitOfWork

from billing.adapters import orm

from billing.adapters.repository import (SqlBeneficiaries, SqlCatalogueRepository, SqlInvoiceRepository,
                                         SqlReferentialProjection)


class BillingUnitOfWork(SqlAlchemyUnitOfWork):
    async def _open(self) -> None:
        await super()._open()
        self.merges = SqlMerges(self.session, orm.merges, orm.MERGE_REPOINTS)  # BEN-03
        self.catalogue = SqlCatalogueRepository(self.session)
        self.referential = SqlReferentialProjection(self.session)
        self.invoices = SqlInvoiceRepository(self.session)
        self.beneficiaries = SqlBeneficiaries(self.session)
