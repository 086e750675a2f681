from servicekit.uow import SqlAlchemyUnitOfWork

from importer.adapters.repository import SqlReferentialProjection


class ImporterUnitOfWork(SqlAlchemyUnitOfWork):
    async def _open(self) -> None:
        await super()._open()
        self.referential = SqlReferentialProjection(self.session)
