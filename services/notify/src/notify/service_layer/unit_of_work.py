from collections.abc import Callable
from typing import Any

from servicekit.merges import SqlMerges
from servicekit.uow import SqlAlchemyUnitOfWork

from notify.adapters import orm

from notify.adapters.files import SentCopies
from notify.adapters.messages import SqlMessages
from notify.adapters.projections import SqlActions, SqlAppointments, SqlContacts, SqlLogins, SqlReferential
from notify.adapters.repository import SetupCache, SqlSetupRepository


class NotifyUnitOfWork(SqlAlchemyUnitOfWork):
    def __init__(self, *args: Any, on_due: Callable[[], None] = lambda: None, setup_cache: SetupCache | None = None,
                 sent_copies: SentCopies | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._on_due = on_due
        self._setup_cache = setup_cache or SetupCache()
        self.sent_copies = sent_copies or SentCopies(None)

    async def _open(self) -> None:
        await super()._open()
        self.merges = SqlMerges(self.session, orm.merges, orm.MERGE_REPOINTS)  # BEN-03
        self.setup = SqlSetupRepository(self.session, self._setup_cache)
        self.contacts = SqlContacts(self.session)
        self.logins = SqlLogins(self.session)
        self.appointments = SqlAppointments(self.session)
        self.actions = SqlActions(self.session)
        self.referential = SqlReferential(self.session)
        self.messages = SqlMessages(self.session)

    async def commit(self) -> None:
        due = self.messages.added_due
        await super().commit()
        self.messages.added_due = []
        if due and min(due) <= self.clock.now():
            self._on_due()  # a system message goes at once: wake the postman
