from servicekit.uow import SqlAlchemyUnitOfWork

from notify.adapters.repository import SqlSetupRepository


class NotifyUnitOfWork(SqlAlchemyUnitOfWork):
    async def _open(self) -> None:
        await super()._open()
        self.setup = SqlSetupRepository(self.session)
