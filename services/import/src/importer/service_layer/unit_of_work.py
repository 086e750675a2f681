from servicekit.merges import SqlMerges
from servicekit.uow import SqlAlchemyUnitOfWork

from importer.adapters import orm
from importer.adapters.gdpr import SqlGdprAgreements
from importer.adapters.people import SqlImportHistory, SqlPeople
from importer.adapters.repository import SqlReferentialProjection
from importer.adapters.restored import SqlRestoredRecords
from importer.adapters.staged import StagedPeople


class ImporterUnitOfWork(SqlAlchemyUnitOfWork):
    async def _open(self) -> None:
        await super()._open()
        self.referential = SqlReferentialProjection(self.session)
        self.people = SqlPeople(self.session)
        self.imports = SqlImportHistory(self.session)
        self.restored = SqlRestoredRecords(self.session)  # an audit replay's (OPS-04)
        self.gdpr = SqlGdprAgreements(self.session)  # BEN-02
        self.merges = SqlMerges(self.session, orm.merges, orm.MERGE_REPOINTS)  # BEN-03

    def staged_people(self) -> StagedPeople:
        """The records an import works on, in memory until its ``flush`` (in this transaction)."""
        return StagedPeople(self.session)
