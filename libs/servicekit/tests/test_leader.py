"""OPS-01: scheduled work (19:00 batch, Chorus deposit, daily closing, hourly purge) runs on one
replica at a time, the holder of a PostgreSQL advisory-lock lease, with two replicas on the real
PostgreSQL; when the leader stops or loses its connection, the other replica takes over."""

import asyncio

from sqlalchemy import text

from servicekit.bus import Bus
from servicekit.pytest_plugin import PG_URL
from servicekit.runtime import ServiceRuntime, assemble

from kit_app import NotesUnitOfWork, kit, make_sessions, metadata


async def _replicas(settings, runs: list[str]) -> list[ServiceRuntime]:
    engine, _ = await make_sessions(PG_URL, f"{settings.db_schema_prefix}kit")  # the relay's tables
    await engine.dispose()
    replicas = []
    for name in ("replica-a", "replica-b"):
        runtime = assemble("kit", settings, Bus("memory://"), metadata, kit, migrations=None, handlers={},
                           subscriptions=(), uow_class=NotesUnitOfWork)
        runtime.leadership.retry_seconds = 0.05

        async def job(name=name) -> None:
            runs.append(name)

        runtime.periodic.append((0.02, job))
        replicas.append(runtime)
    return replicas


async def _ran_during(runs: list[str], seconds: float) -> set[str]:
    start = len(runs)
    await asyncio.sleep(seconds)
    return set(runs[start:])


async def _taken_over_by(runs: list[str], name: str, timeout: float = 15.0) -> None:
    """Wait (a bound, not a measure) until ``name`` runs the job."""
    start = len(runs)
    for _ in range(int(timeout / 0.05)):
        if name in runs[start:]:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{name} never took the lease over")


async def test_ops01_scheduled_jobs_run_on_one_of_two_replicas_and_the_other_takes_over(pg_settings):
    runs: list[str] = []
    a, b = await _replicas(pg_settings, runs)
    a.start_relay()
    await asyncio.sleep(0.2)
    b.start_relay()
    try:
        assert await _ran_during(runs, 0.6) == {"replica-a"}
        assert len(runs) > 10  # the job did run, again and again, on the leader
        await a.stop()  # a rolling update stops the leader: its lease is released
        await _taken_over_by(runs, "replica-b")
        assert await _ran_during(runs, 0.6) == {"replica-b"}
    finally:
        await a.stop()
        await b.stop()


async def _lease_holders(runtime: ServiceRuntime) -> list[int]:
    async with runtime.database.engine.connect() as conn:
        return list((await conn.execute(text(
            "SELECT l.pid FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted "
            "AND l.objid = hashtext(:name)::oid"), {"name": runtime.leadership.lock_name})).scalars())


async def test_ops01_a_leader_that_loses_its_database_connection_loses_the_lease(pg_settings):
    runs: list[str] = []
    a, b = await _replicas(pg_settings, runs)
    a.start_relay()
    await asyncio.sleep(0.2)
    b.start_relay()
    try:
        assert await _ran_during(runs, 0.4) == {"replica-a"}
        [before] = await _lease_holders(a)
        # The leader's lease connection is cut (a network partition, a failover): PostgreSQL frees its
        # lock at once; whichever replica asks first takes it (A, finding its connection dead, asks
        # on a new one), and from then on only that one runs the jobs.
        async with a.database.engine.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": before})
        for _ in range(300):  # a bound, not a measure
            holders = await _lease_holders(a)
            if holders and holders != [before]:
                break
            await asyncio.sleep(0.05)
        assert len(holders) == 1 and holders != [before]
        assert len(await _ran_during(runs, 0.6)) == 1  # one replica, never both
    finally:
        await a.stop()
        await b.stop()
