"""X-03: `prestaflow import` with a list over PRESTAFLOW_LIMIT_IMPORT_BYTES: refused before the file is read."""

from click.testing import CliRunner
from cli_runner import SAMPLES

from prestaflow.cli import main


def test_x03_import_command_refuses_an_oversized_list_without_reading_it(tmp_path):
    big = tmp_path / "liste.csv"
    big.write_bytes((SAMPLES / "liste_inscrits_J-10.csv").read_bytes() * 10)
    result = CliRunner().invoke(main, ["import", str(big), "--ressource", "ACR2025-L12"], env={
        "PRESTAFLOW_HOME": str(tmp_path / "home"), "PRESTAFLOW_URL": None, "PRESTAFLOW_DATABASE_URL": None,
        "PRESTAFLOW_LIMIT_IMPORT_BYTES": "10000"}, catch_exceptions=False)
    assert result.exit_code == 1, result.output
    assert "Fichier « liste.csv » trop volumineux (21,2 ko ; 10 ko au plus, PRESTAFLOW_LIMIT_IMPORT_BYTES)." \
        in result.output
    assert "Traceback" not in result.output
