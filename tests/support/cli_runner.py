"""Run ``prestaflow`` as a user would on the embedded default: every service in the command's process
on SQLite under ``PRESTAFLOW_HOME`` (no PRESTAFLOW_URL, no PRESTAFLOW_DATABASE_URL), so state persists
between commands."""

import json
import os
from pathlib import Path

from click.testing import CliRunner, Result

from prestaflow.cli import main

SAMPLES = Path(__file__).resolve().parents[2] / ".." / "shared" / "prestappli" / "samples"
SAMPLE = SAMPLES / "referentiel.yaml"


def run(home: Path, *args: str, clock_file: Path | None = None) -> Result:
    """``clock_file``: the services' time is read from it (PRESTAFLOW_CLOCK_FILE), for commands whose
    effect depends on the day."""
    env = {k: None for k in os.environ if k.startswith("PRESTAFLOW_")}
    env.update(PRESTAFLOW_HOME=str(home), PRESTAFLOW_URL=None, PRESTAFLOW_DATABASE_URL=None)
    if clock_file is not None:
        env["PRESTAFLOW_CLOCK_FILE"] = str(clock_file)
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


class ClockedCli:
    """The command line on one home, with the services' clock in a file the test moves."""

    def __init__(self, home: Path, clock: Path):
        self.home, self.clock = home, clock

    def on(self, moment: str) -> None:
        self.clock.write_text(moment)

    def __call__(self, *args: str) -> Result:
        return run(self.home, *args, clock_file=self.clock)

    def json(self, *args: str):
        result = self(*args, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)


def imported_j10(home: Path, clock: Path) -> ClockedCli:
    """The sample referential loaded and the sample J-10 list imported on 4 January 2025, 9:00 (Paris)."""
    cli = ClockedCli(home, clock)
    cli.on("2025-01-04T09:00:00+01:00")
    assert cli("referential", "load", str(SAMPLE)).exit_code == 0
    assert cli("import", str(SAMPLES / "liste_inscrits_J-10.csv"), "--ressource", "ACR2025-L12",
               "--liste", "J-10").exit_code == 0
    return cli
