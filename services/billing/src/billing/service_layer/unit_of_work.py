from servicekit.uow import SqlAlchemyUnitOfWork

from billing.adapters.repository import SqlCatalogueRepository, SqlReferentialProjection


class BillingUnitOfWork(SqlAlchemyUnitOfWork):
    async def _open(self) -> None:
        await super()._open()
        self.catalogue = SqlCatalogueRepository(self.session)
        self.referential = SqlReferentialProjection(self.session)
