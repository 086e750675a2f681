"""One database per service: a PostgreSQL schema (asyncpg) or an SQLite file (aiosqlite)."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from servicekit.settings import ServiceSettings


class Database:
    def __init__(self, service: str, settings: ServiceSettings, migrations: Path):
        self.service = service
        self.migrations = migrations
        if settings.database_url:
            self.url = make_url(settings.database_url)
        else:
            settings.home.mkdir(parents=True, exist_ok=True)
            self.url = make_url(f"sqlite+aiosqlite:///{settings.home.resolve() / (service + '.db')}")
        self.is_postgres = self.url.get_backend_name() == "postgresql"
        self.schema = f"{settings.db_schema_prefix}{service}" if self.is_postgres else None
        if self.is_postgres:
            # hide_parameters: a database error's text (logged, kept with a dead letter) must not
            # carry the row's values, which may be personal data.
            self.engine: AsyncEngine = create_async_engine(
                self.url, pool_size=10, max_overflow=10, hide_parameters=True,
                # Custom plans always: a generic plan is made once, maybe while a table is still
                # small, then kept as it grows; a consumer's lookup of a batch's ids by ``= ANY($1)``
                # then compared each row of the table with every id. Statements here read and write
                # batches, so planning each execution costs little.
                connect_args={"server_settings": {"search_path": self.schema,
                                                  "plan_cache_mode": "force_custom_plan"}},
            )
        else:
            self.engine = create_async_engine(self.url, hide_parameters=True, connect_args={"timeout": 30})
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            # SQLite starts transactions lazily; BEGIN IMMEDIATE takes the write lock up front so
            # two writers queue instead of failing on a lock upgrade.
            event.listen(self.engine.sync_engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    async def migrate(self) -> None:
        """Bring the service's schema to the latest Alembic revision."""
        async with self.engine.connect() as conn:
            if self.is_postgres:
                # Replicas starting together migrate one at a time (the lock is released on disconnect).
                await conn.execute(text("SELECT pg_advisory_lock(hashtext(:name))"), {"name": f"migrate:{self.schema}"})
                await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
                await conn.commit()
            try:
                await conn.run_sync(self._upgrade)
                await conn.commit()
            finally:
                if self.is_postgres:
                    await conn.execute(text("SELECT pg_advisory_unlock(hashtext(:name))"),
                                       {"name": f"migrate:{self.schema}"})
                    await conn.commit()

    def _upgrade(self, connection: Connection) -> None:
        config = Config()
        config.set_main_option("script_location", str(self.migrations))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001 - readiness reports any failure as not ready
            return False

    async def drop(self) -> None:
        """Tests only: remove the service's schema."""
        if self.is_postgres:
            async with self.engine.begin() as conn:
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))

    async def dispose(self) -> None:
        await self.engine.dispose()


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None  # let the "begin" listener issue BEGIN itself
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA secure_delete=ON")  # erased personal data does not stay in free pages
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
