"""``prestaflow referential load|show`` on the embedded default (REF-01..REF-05).

Every service runs in the command's process on SQLite under ``PRESTAFLOW_HOME`` (no PRESTAFLOW_URL,
no PRESTAFLOW_DATABASE_URL), so state persists between commands as it does for a user.
Exit codes: 0 done, 1 refused input (French messages printed), 2 usage error.
"""

import ast
import json
import re
import string
from pathlib import Path

import click
import pytest
from cli_runner import SAMPLE, run
from prestaflow.cli import main

from prestaflow import click_fr

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
    bad = variant(tmp_path, "extra.yaml", append="\nutilisateurs:\n  - {code: admin}\n")
    home = tmp_path / "home"
    result = run(home, "referential", "load", str(bad))
    assert result.exit_code == 1, result.output
    assert "Section « utilisateurs » inconnue" in result.output
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
    assert "Utilisation :" in result.output


# --- click's own messages and the help texts, in French ---------------------------------------------------------

CLICK_ENGLISH = ("Usage:", "Options:", "Commands:", "Show this message", "Error:", "Try '", "[required]",
                 "[default:", "Missing", "No such", "Invalid value", "Did you mean")
# click's names for its types and a group's arguments, shown as metavars (whole words: "TEXTE" is French).
CLICK_ENGLISH_METAVARS = re.compile(r"\b(TEXT|INTEGER|FLOAT|BOOLEAN|COMMAND|ARGS|FILENAME|PATH|DIRECTORY)\b")


def test_cli_missing_required_option_is_a_french_usage_error_naming_it(tmp_path):
    result = run(tmp_path / "home", "import", "liste.csv")
    assert result.exit_code == 2, result.output
    assert "Erreur : Il manque l'option '--ressource'." in result.output
    assert result.output.startswith("Utilisation : ")
    assert " import [OPTIONS] FICHIER\n" in result.output
    assert re.search(r"Pour de l'aide, lancez « \S+ import --help »\.", result.output), result.output
    assert not [text for text in CLICK_ENGLISH if text in result.output], result.output


def test_cli_missing_argument_is_a_french_usage_error_naming_it(tmp_path):
    result = run(tmp_path / "home", "referential", "load")
    assert result.exit_code == 2, result.output
    assert "Erreur : Il manque l'argument 'FICHIER'." in result.output


def test_cli_unknown_command_is_a_french_usage_error(tmp_path):
    result = run(tmp_path / "home", "frobnicate")
    assert result.exit_code == 2, result.output
    assert "Erreur : Commande 'frobnicate' inconnue." in result.output
    assert not [text for text in CLICK_ENGLISH if text in result.output], result.output

    close = run(tmp_path / "home", "improt")
    assert close.exit_code == 2, close.output
    assert "Erreur : Commande 'improt' inconnue. (Vouliez-vous dire : 'import', 'imports' ?)" in close.output


def test_cli_unknown_option_is_a_french_usage_error(tmp_path):
    result = run(tmp_path / "home", "referential", "load", "--bogus", "x.yaml")
    assert result.exit_code == 2, result.output
    assert "Erreur : Option '--bogus' inconnue." in result.output


def test_cli_wrong_choice_value_is_a_french_usage_error(tmp_path):
    result = run(tmp_path / "home", "import", "liste.csv", "--ressource", "ACR2025-L12", "--liste", "J-5")
    assert result.exit_code == 2, result.output
    assert ("Erreur : Valeur incorrecte pour '--liste' : 'J-5' n'est pas l'une des valeurs possibles : "
            "'J-10', 'J-2'.") in result.output
    assert not [text for text in CLICK_ENGLISH if text in result.output], result.output


def test_cli_wrong_number_is_a_french_usage_error(tmp_path):
    result = run(tmp_path / "home", "planning", "plan", "--advisor", "cdurand", "--start", "2025-01-14 09:00",
                 "--end", "2025-01-14 10:00", "--max", "dix")
    assert result.exit_code == 2, result.output
    assert "Erreur : Valeur incorrecte pour '--max' : 'dix' n'est pas un nombre valide (entier)." in result.output


def test_cli_help_has_french_headings_and_french_command_help(tmp_path):
    result = run(tmp_path / "home", "--help")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("Utilisation : ") and lines[0].endswith(" [OPTIONS] COMMANDE [ARGUMENTS]...")
    assert "  Prestaflow : le back-office Activ'Créa." in lines
    assert "Options :" in lines
    assert "Commandes :" in lines
    assert "  --help  Afficher ce message et quitter." in lines
    assert re.search(r"^  import +Importer une « Liste des inscrits » Prest@ppli", result.output, re.MULTILINE)
    assert re.search(r"^  imports +Historique des imports :", result.output, re.MULTILINE)
    assert not [text for text in CLICK_ENGLISH if text in result.output], result.output

    result = run(tmp_path / "home", "import", "--help")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())  # click wraps the help to the terminal's width
    assert "Utilisation : " in text and " import [OPTIONS] FICHIER " in text
    assert "Importer une « Liste des inscrits » Prest@ppli (J-10 ou J-2) ; barre de progression sur un terminal." in text
    assert "--ressource TEXTE code de la ressource, par ex. ACR2025-L12 [obligatoire]" in text
    assert "--user TEXTE [par défaut : ($USER)]" in text
    assert "--help Afficher ce message et quitter." in text

    result = run(tmp_path / "home", "planning", "export", "--help")
    assert "--out CHEMIN" in result.output  # click.Path's type name, translated when the option was built


def _commands(group: click.Group, path: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield path + (name,), command
        if isinstance(command, click.Group):
            yield from _commands(command, path + (name,))


@pytest.mark.parametrize("path", [" ".join(path) for path, _ in _commands(main)])
def test_cli_every_command_has_a_french_help_without_click_english(tmp_path, path):
    result = run(tmp_path / "home", *path.split(), "--help")
    assert result.exit_code == 0, result.output
    assert not [text for text in CLICK_ENGLISH if text in result.output], result.output
    assert not CLICK_ENGLISH_METAVARS.search(result.output), result.output
    command = main
    for name in path.split():
        command = command.commands[name]
    assert command.help, f"{path} has no help"


def _click_msgids() -> tuple[set[str], set[tuple[str, str]]]:
    """The messages click passes to gettext (``_``) and to ngettext, read from its source."""
    singles, plurals = set(), set()
    for source in Path(click.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            texts = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if node.func.id == "_" and len(texts) == 1:
                singles.add(texts[0])
            elif node.func.id == "ngettext" and len(texts) == 2:
                plurals.add((texts[0], texts[1]))
    # The "[required]" of an option's help goes through gettext as a variable: extra["required"] = "required".
    core = (Path(click.__file__).parent / "core.py").read_text(encoding="utf-8")
    if '_(extra["required"])' in core and 'extra["required"] = "required"' in core:
        singles.add("required")
    return singles, plurals


def _placeholders(text: str) -> list[tuple[str, str | None]]:
    fields = [(name, conversion) for _, name, _, conversion in string.Formatter().parse(text) if name is not None]
    return sorted(fields + [(name, "%") for name in re.findall(r"%\((\w+)\)s", text)])


def test_click_fr_catalog_matches_click_and_keeps_placeholders():
    singles, plurals = _click_msgids()
    assert set(click_fr.CATALOG) <= singles, set(click_fr.CATALOG) - singles
    assert set(click_fr.PLURALS) <= plurals, set(click_fr.PLURALS) - plurals
    for msgid, french in click_fr.CATALOG.items():
        assert _placeholders(french) == _placeholders(msgid), msgid
    for (singular, plural), (french_singular, french_plural) in click_fr.PLURALS.items():
        assert _placeholders(french_singular) == _placeholders(singular), singular
        assert _placeholders(french_plural) == _placeholders(plural), plural
    # Every message a user can meet on this command line is translated.
    for msgid in ("Usage:", "Options", "Commands", "Show this message and exit.", "Error: {message}",
                  "Try '{command} {option}' for help.", "Missing option", "Missing argument",
                  "No such command {name!r}.", "No such option {name!r}.", "Invalid value for {param_hint}: {message}",
                  "default: {default}", "required", "Aborted!"):
        assert msgid in click_fr.CATALOG, msgid


def test_click_fr_falls_back_to_click_english_for_an_unknown_message():
    assert click_fr.gettext("A message click added later.") == "A message click added later."
    assert click_fr.ngettext("One new thing.", "{n} new things.", 1) == "One new thing."
    assert click_fr.ngettext("One new thing.", "{n} new things.", 3) == "{n} new things."
    assert click_fr.ngettext("Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments.",
                             2) == "L'option {name!r} attend {nargs} valeurs."
