from servicekit.uow import SqlAlchemyUnitOfWork

from importer.adapters.people import SqlImportHistory, SqlPeople
from importer.adapters.repository import SqlReferentialProjection


class ImporterUnitOfWork(SqlAlchemyUnitOfWork):
    async def _open(self) -> None:
        await super()._open()
        self.referential = SqlReferentialProjection(self.session)
        self.people = SqlPeople(self.session)
        self.imports = SqlImportHistory(self.session)
