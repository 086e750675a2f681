from servicekit.merges import SqlMerges
from servicekit.uow import SqlAlchemyUnitOfWork

from planning.adapters import orm

from planning.adapters.agenda_repository import SqlAgendaRepository, SqlRegistrations
from planning.adapters.journey_repository import SqlEnrolments
from planning.adapters.journey_views_repository import SqlJourneyViews
from planning.adapters.repository import ReferentialCache, ReferentialRepository, SqlReferentialRepository


class PlanningUnitOfWork(SqlAlchemyUnitOfWork):
    referential: ReferentialRepository

    def __init__(self, *args, referential_cache: ReferentialCache, **kwargs):
        super().__init__(*args, **kwargs)
        self._referential_cache = referential_cache

    async def _open(self) -> None:
        await super()._open()
        self.merges = SqlMerges(self.session, orm.merges, orm.MERGE_REPOINTS)  # BEN-03
        self.referential = SqlReferentialRepository(self.session, self._referential_cache)
        self.agenda = SqlAgendaRepository(self.session)
        self.registrations = SqlRegistrations(self.session)
        self.enrolments = SqlEnrolments(self.session)
        self.views = SqlJourneyViews(self.session)
