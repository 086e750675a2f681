"""``prestaflow referential load|show`` on the embedded default (REF-01..REF-05).

Every service runs in the command's process on SQLite under ``PRESTAFLOW_HOME`` (no PRESTAFLOW_URL,
no PRESTAFLOW_DATABASE_URL), so state persists between commands as it does for a user.
Exit codes: 0 done, 1 refused input (French messages printed), 2 usage error.
"""

import json
from pathlib import Path

import pytest

from cli_runner import SAMPLE, run

LABELS = ("référentiel planning", "catalogue de facturation", "modèles et règles d'envoi")


def show(home: Path) -> dict:
    result = run(home, "referential", "show", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def variant(tmp_path: Path, name: str, *replacements: tuple[str, str], append: str = "") -> Path:
    """A copy of the sample with each (old, new) replaced once (each old must be in the sample)."""
    text = SAMPLE.read_text(encoding="utf-8")
    for old, new in replacements:
        assert text.count(old) >= 1, old
        text = text.replace(old, new, 1)
    path = tmp_path / name
    path.write_text(text + append, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def loaded_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("loaded") / "home"
    result = run(home, "referential", "load", str(SAMPLE))
    assert result.exit_code == 0, result.output
    return home


# --- loading the sample ----------------------------------------------------------------------------------------------

def test_ref05_cli_load_sample_says_modifie_then_inchange_for_every_part(tmp_path):
    home = tmp_path / "home"
    first = run(home, "referential", "load", str(SAMPLE))
    assert first.exit_code == 0, first.output
    assert "modifié" in first.output
    assert first.output.splitlines() == [f"{label} : modifié (version 1)" for label in LABELS]

    second = run(home, "referential", "load", str(SAMPLE))
    assert second.exit_code == 0, second.output
    assert second.output.splitlines() == [f"{label} : inchangé (version 1)" for label in LABELS]
    assert "modifié" not in second.output


def test_ref05_cli_load_json_output(tmp_path):
    result = run(tmp_path / "home", "referential", "load", "--json", str(SAMPLE))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {label: {"changed": True, "version": 1} for label in LABELS}


def test_ref_cli_show_json_has_planning_and_every_projection(loaded_home):
    view = show(loaded_home)
    planning = view["planning"]
    assert planning["version"] == 1
    assert sorted(planning["sites"]) == ["ARM", "DIST", "DOU", "LIL"]
    assert planning["resources"]["ACR2025-L12"]["setting_version"] == 1

    importer = view["importer"]
    assert importer["version"] == 1
    (resource,) = [r for r in importer["resources"] if r["code"] == "ACR2025-L12"]
    assert resource["market_number"] == "2024-FT-ACR-0042"
    assert resource["ods_code"] == "ACR2025"
    assert importer["structure_siret"] == "41234567800019"
    addresses = {a["address"]: a["site_code"] for a in importer["site_addresses"]}
    assert addresses["12 RUE DE LILLE 59280 ARMENTIERES"] == "ARM"
    assert addresses["A DISTANCE"] == "DIST"

    affectation = view["affectation"]
    assert affectation["version"] == 1
    assert sorted(a["code"] for a in affectation["advisors"]) == ["cdurand", "jroux", "kbenamar", "mpetit"]
    assert sorted(s["code"] for s in affectation["sites"]) == ["ARM", "DIST", "DOU", "LIL"]

    billing = view["billing"]
    assert billing["referential"]["version"] == 1
    assert [r["code"] for r in billing["referential"]["resources"]] == ["ACR2025-L12"]
    assert billing["referential"]["resources"][0]["market_number"] == "2024-FT-ACR-0042"
    assert list(billing["catalogue"]["legal_entities"]) == ["BGE-HDF"]
    assert billing["catalogue"]["tariffs"][0]["amount_eur"] == "1200.00"

    notify = view["notify"]
    assert notify["version"] == 1
    assert sorted(t["code"] for t in notify["templates"]) == ["ACR-ANNULATION", "ACR-PRESENTATION", "ACR-RAPPEL"]
    assert len(notify["rules"]) == 3


def test_ref_cli_show_text_summary(loaded_home):
    result = run(loaded_home, "referential", "show")
    assert result.exit_code == 0, result.output
    assert "planning (version 1) — structure : BGE Hauts-de-France" in result.output
    assert "conseillers : cdurand, jroux, kbenamar, mpetit" in result.output


# --- refused files: exit 1, French messages, nothing loaded ----------------------------------------------------------

# A refused site, plus changes to billing's and notify's parts that would show if anything were loaded.
BAD_ANTENNE = (
    ("name: Armentières\n    antenne: LILLE", "name: Armentières\n    antenne: ROUBAIX"),
    ('amount_eur: "1200.00"', 'amount_eur: "1500.00"'),
    ("subject: \"Votre rendez-vous Activ'Créa du {{ action.date }}\"",
     "subject: \"Votre nouveau rendez-vous Activ'Créa du {{ action.date }}\""),
    ("    remote: false\n\nods:",
     "    remote: false\n  - {code: nouveau, name: Nouveau CONSEILLER, sites: [LIL]}\n\nods:"),
)


@pytest.mark.parametrize("first_load_sample", [False, True], ids=["empty", "after-sample"])
def test_ref01_cli_site_with_unknown_antenne_exits_1_and_loads_nothing(tmp_path, first_load_sample):
    home = tmp_path / "home"
    if first_load_sample:
        assert run(home, "referential", "load", str(SAMPLE)).exit_code == 0
    before = show(home)

    result = run(home, "referential", "load", str(variant(tmp_path, "bad.yaml", *BAD_ANTENNE)))
    assert result.exit_code == 1, result.output
    assert "Refusé, rien n'a été modifié" in result.output
    assert "Site « ARM » : antenne « ROUBAIX » inconnue." in result.output
    assert "modifié (version" not in result.output

    after = show(home)
    assert after == before
    assert after["billing"]["catalogue"]["tariffs"] == before["billing"]["catalogue"]["tariffs"]
    assert after["notify"] == before["notify"]


def test_ref01_cli_refused_file_is_accepted_once_fixed(tmp_path):
    """The refusal came from the antenne alone: the same changes with a known antenne load."""
    home = tmp_path / "home"
    assert run(home, "referential", "load", str(SAMPLE)).exit_code == 0
    fixed = variant(tmp_path, "fixed.yaml", *BAD_ANTENNE[1:])
    result = run(home, "referential", "load", str(fixed))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [f"{label} : modifié (version 2)" for label in LABELS]
    view = show(home)
    assert view["billing"]["catalogue"]["tariffs"][0]["amount_eur"] == "1500.00"
    assert "nouveau" in {a["code"] for a in view["affectation"]["advisors"]}


def test_ref_cli_invalid_yaml_exits_1_with_the_line_number(tmp_path):
    bad = variant(tmp_path, "broken.yaml", ("    name: Antenne Douaisis", "    name: Antenne: Douaisis"))
    line = next(i for i, text in enumerate(bad.read_text(encoding="utf-8").splitlines(), start=1)
                if "Antenne: Douaisis" in text)
    result = run(tmp_path / "home", "referential", "load", str(bad))
    assert result.exit_code == 1, result.output
    assert f"Fichier « broken.yaml » illisible, ligne {line}, colonne" in result.output
    assert "YAML incorrect" in result.output


def test_ref_cli_unknown_top_level_section_exits_1(tmp_path):
    bad = variant(tmp_path, "extra.yaml", append="\nusers:\n  - {code: admin}\n")
    home = tmp_path / "home"
    result = run(home, "referential", "load", str(bad))
    assert result.exit_code == 1, result.output
    assert "Section « users » inconnue" in result.output
    assert show(home)["planning"]["version"] == 0


def test_ref_cli_missing_file_exits_1(tmp_path):
    missing = tmp_path / "absent.yaml"
    result = run(tmp_path / "home", "referential", "load", str(missing))
    assert result.exit_code == 1, result.output
    assert f"Fichier « {missing} » introuvable." in result.output


def test_bil01_cli_tariff_with_unknown_ods_exits_1_and_loads_nothing(tmp_path):
    home = tmp_path / "home"
    bad = variant(tmp_path, "tariff.yaml", ("tariffs:\n  - ods: ACR2025", "tariffs:\n  - ods: ACR2030"))
    result = run(home, "referential", "load", str(bad))
    assert result.exit_code == 1, result.output
    assert "Tarif n°1 : ODS « ACR2030 » inconnue." in result.output
    view = show(home)
    assert view["planning"]["version"] == 0
    assert view["billing"]["catalogue"]["version"] == 0
    assert view["notify"]["version"] == 0


# --- usage errors: exit 2 --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ("referential", "load", "--bogus", "x.yaml"),
    ("referential", "frobnicate"),
    ("frobnicate",),
    ("referential", "load"),
])
def test_cli_usage_error_exits_2(tmp_path, args):
    result = run(tmp_path / "home", *args)
    assert result.exit_code == 2, result.output
    assert "Usage:" in result.output
