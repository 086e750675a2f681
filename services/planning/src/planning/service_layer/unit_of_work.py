from servicekit.uow import SqlAlchemyUnitOfWork

from planning.adapters.agenda_repository import SqlAgendaRepository
from planning.adapters.repository import ReferentialRepository, SqlReferentialRepository


class PlanningUnitOfWork(SqlAlchemyUnitOfWork):
    referential: ReferentialRepository

    async def _open(self) -> None:
        await super()._open()
        self.referential = SqlReferentialRepository(self.session)
        self.agenda = SqlAgendaRepository(self.session)
