from servicekit.merges import SqlMerges
from servicekit.uow import SqlAlchemyUnitOfWork

from affectation.adapters import orm

from affectation.adapters.repository import SqlReferentialProjection
from affectation.adapters.worklist import SqlWorklist


class AffectationUnitOfWork(SqlAlchemyUnitOfWork):
    async def _open(self) -> None:
        await super()._open()
        self.merges = SqlMerges(self.session, orm.merges, orm.MERGE_REPOINTS)  # BEN-03
        self.referential = SqlReferentialProjection(self.session)
        self.worklist = SqlWorklist(self.session)

    async def commit(self) -> None:
        await self.worklist.flush()  # the worklist entries handlers changed, written together
        await super().commit()
