"""BIL-07: the Chorus Pro deposit runs once a night, at the configured hour (Europe/Paris)."""

from datetime import UTC, datetime
from types import SimpleNamespace

from servicekit.clock import FixedClock

from billing import bootstrap


async def test_bil07_nightly_deposit_runs_once_at_its_hour(monkeypatch):
    runs = []

    async def deposit(runtime):
        runs.append(runtime.clock.now())
        return {"lines": []}

    monkeypatch.setattr(bootstrap, "deposit", deposit)
    clock = FixedClock(datetime(2025, 4, 15, 19, 30, tzinfo=UTC))  # 21:30 in Paris
    runtime = SimpleNamespace(clock=clock)
    nightly = bootstrap.Nightly(22)
    assert await nightly.maybe_run(runtime) is None
    clock.at = datetime(2025, 4, 15, 20, 1, tzinfo=UTC)  # 22:01 in Paris
    assert await nightly.maybe_run(runtime) == {"lines": []}
    clock.at = datetime(2025, 4, 15, 20, 50, tzinfo=UTC)
    assert await nightly.maybe_run(runtime) is None  # once a night
    clock.at = datetime(2025, 4, 16, 20, 5, tzinfo=UTC)
    assert await nightly.maybe_run(runtime) == {"lines": []}
    assert len(runs) == 2
    assert await bootstrap.Nightly(None).maybe_run(runtime) is None
