"""X-03: a hostile or careless referential file gets a clear French message, bounded memory, and
changes nothing (issue #20, cases 1-3 for the referential)."""

import json
import tracemalloc
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from cli_runner import SAMPLE, run

from prestaflow import referential_file
from prestaflow.referential_file import ReferentialFileError
from servicekit.limits import Limits


def alias_bomb(levels: int = 9) -> str:
    """The 675-byte "billion laughs" of the issue: each level is nine aliases of the previous one."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for n in range(1, levels):
        lines.append(f"a{n}: &a{n} [" + ",".join([f"*a{n - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def refusal(path: Path, bounds: Limits | None = None) -> list[str]:
    with pytest.raises(ReferentialFileError) as caught:
        referential_file.read(path, bounds)
    return caught.value.messages


def refusal_and_peak(path: Path) -> tuple[list[str], int]:
    """The messages, and the most memory Python held while reading."""
    tracemalloc.start()
    try:
        return refusal(path), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_x03_yaml_alias_bomb_refused_before_expansion(tmp_path):
    """X-03 case 1: aliases are refused when met, in kilobytes of memory, not gigabytes."""
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb(), encoding="utf-8")
    assert len(path.read_bytes()) < 700
    messages, peak = refusal_and_peak(path)
    assert peak < 5_000_000, peak
    assert messages == ["Fichier « bomb.yaml » illisible, ligne 1, colonne 5 : YAML incorrect (ancres et alias "
                        "YAML (« & », « * ») non acceptés dans un référentiel)."]


def test_x03_yaml_alias_bomb_through_the_command(tmp_path):
    """X-03 case 1, as a user runs it: exit code 1 and the French message, no traceback, nothing loaded."""
    path = tmp_path / "bomb.yaml"
    path.write_text(SAMPLE.read_text(encoding="utf-8") + alias_bomb(), encoding="utf-8")
    result = run(tmp_path / "home", "referential", "load", str(path))
    assert result.exit_code == 1, result.output
    assert "ancres et alias YAML" in result.output
    assert "Traceback" not in result.output
    shown = run(tmp_path / "home", "referential", "show", "--json")
    assert shown.exit_code == 0, shown.output
    assert not json.loads(shown.stdout)["planning"]["sites"]


def test_x03_a_single_anchor_is_refused_too(tmp_path):
    path = tmp_path / "anchor.yaml"
    path.write_text("structure: &s {name: BGE}\n", encoding="utf-8")
    assert "ancres et alias" in refusal(path)[0]


@pytest.mark.parametrize("bad", ["2025-02-30", "2020-13-45"])
def test_x03_impossible_date_named_with_its_entry_and_field(tmp_path, bad):
    """X-03 case 2: an impossible date names the section, the entry and the field."""
    text = SAMPLE.read_text(encoding="utf-8")
    path = tmp_path / "dates.yaml"
    path.write_text(text.replace("    start: 2025-01-01\n", f"    start: {bad}\n", 1), encoding="utf-8")
    assert refusal(path) == [f"Section « resources », entrée n°1, champ « start » : date « {bad} » impossible "
                             "(date AAAA-MM-JJ existante attendue)."]


def test_x03_valid_dates_still_travel_as_text():
    data = referential_file.read(SAMPLE)
    assert data["resources"][0]["start"] == "2025-01-01"


def test_x03_referential_file_size_refused_before_reading_it_whole(tmp_path):
    """X-03 case 3: a file over PRESTAFLOW_LIMIT_REFERENTIAL_BYTES is refused, its size and the limit named."""
    path = tmp_path / "huge.yaml"
    site = "  - {code: S%d, name: Site %d, antenne: LILLE, address: 1 rue X}\n"
    with path.open("w", encoding="utf-8") as out:
        out.write("sites:\n")
        for n in range(60_000):
            out.write(site % (n, n))
    messages, peak = refusal_and_peak(path)
    assert path.stat().st_size > 3_000_000
    assert peak < 3 * Limits().referential_bytes
    assert messages[0].startswith("Fichier « huge.yaml » trop volumineux (4,2 Mo")
    assert messages[0].endswith("; 2 Mo au plus, PRESTAFLOW_LIMIT_REFERENTIAL_BYTES).")


def test_x03_referential_limits_are_configurable(tmp_path, monkeypatch):
    """The same limits come from PRESTAFLOW_LIMIT_* (a larger structure raises them)."""
    monkeypatch.setenv("PRESTAFLOW_LIMIT_REFERENTIAL_BYTES", "1000")
    assert "trop volumineux" in refusal(SAMPLE)[0]
    monkeypatch.setenv("PRESTAFLOW_LIMIT_REFERENTIAL_BYTES", "100000")
    assert referential_file.read(SAMPLE)["structure"]


def test_x03_too_many_sites_and_too_long_values(tmp_path):
    """X-03 case 3: a section over PRESTAFLOW_LIMIT_REFERENTIAL_ENTRIES, a name over
    PRESTAFLOW_LIMIT_REFERENTIAL_TEXT_CHARS: refused, each named, the long value not quoted."""
    path = tmp_path / "big.yaml"
    name = "B" * 50_000
    path.write_text(f"structure: {{name: {name}, siret: '41234567800019'}}\nsites:\n"
                    + "".join(f"  - {{code: S{n}}}\n" for n in range(12)), encoding="utf-8")
    messages = refusal(path, Limits(referential_entries=10))
    assert messages == [
        "Section « structure », champ « name » : valeur trop longue (50\u202f000 caractères ; 500 au plus, "
        "PRESTAFLOW_LIMIT_REFERENTIAL_TEXT_CHARS).",
        "Section « sites » : 12 entrées ; 10 au plus (PRESTAFLOW_LIMIT_REFERENTIAL_ENTRIES).",
    ]


def test_x03_deep_nesting_is_a_message_not_a_recursion_error(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("sites: " + "[" * 200_000 + "]" * 200_000 + "\n", encoding="utf-8")
    assert "imbriqués trop profondément" in refusal(path)[0]


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                    st.text(max_size=40), st.dates().map(str), st.just("2025-02-30"))
TREES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=5),
                                                      st.dictionaries(st.text(max_size=10), inner, max_size=5)),
                     max_leaves=30)
DOCUMENTS = st.dictionaries(st.sampled_from(referential_file.SECTIONS + ("inconnue",)), TREES, max_size=6)
FRAGMENTS = st.lists(st.sampled_from(["sites:", "- ", "{", "}", "[", "]", "&a ", "*a", "!!python/object:x ",
                                      "code: S1", "\n", "  ", "start: 2025-02-30", ": ", "'", '"', "%YAML 1.1",
                                      "---", "<<: *a", "\t", "\x00", "é"]), max_size=60).map("".join)


def read_or_refuse(path: Path, text: str) -> None:
    """Either parts to send, or a ReferentialFileError with French messages: nothing else, ever."""
    path.write_text(text, encoding="utf-8")
    try:
        referential_file.split(referential_file.read(path))
    except ReferentialFileError as exc:
        assert exc.messages and all(isinstance(m, str) and 0 < len(m) < 2_000 for m in exc.messages)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(DOCUMENTS)
def test_x03_fuzz_referential_documents(tmp_path, document):
    """X-03 fuzz: any YAML document of size-bounded structure gives parts or French messages."""
    read_or_refuse(tmp_path / "fuzz.yaml", yaml.safe_dump(document, allow_unicode=True))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(FRAGMENTS)
def test_x03_fuzz_referential_text(tmp_path, text):
    """X-03 fuzz: any text made of YAML's pieces (anchors, tags, merges, tabs, NUL) gives no traceback."""
    read_or_refuse(tmp_path / "fuzz.yaml", text)
