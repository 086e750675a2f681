"""BEN-03 on the command line (embedded default, state kept between commands): ``prestaflow beneficiary
duplicates`` lists the doublon an import reported, ``merge`` merges it and says what each service did, and
refusals exit 1 with a French message."""

import json

from cli_runner import SAMPLE, run
from doublons import J10, MOUSSA_AGAIN, doublon_list


def test_ben03_duplicates_then_merge_on_the_command_line(tmp_path):
    home = tmp_path / "home"
    assert run(home, "referential", "load", str(SAMPLE)).exit_code == 0
    assert run(home, "import", str(J10), "--ressource", "ACR2025-L12").exit_code == 0
    doublons = tmp_path / "doublons.csv"
    doublons.write_bytes(doublon_list(MOUSSA_AGAIN))
    imported = run(home, "import", str(doublons), "--ressource", "ACR2025-L12")
    assert imported.exit_code == 0 and "doublon probable de la fiche" in imported.output

    listed = run(home, "beneficiary", "duplicates")
    assert listed.exit_code == 0 and "mêmes nom, prénom et date de naissance :" in listed.output
    assert "1 doublon(s) probable(s)." in listed.output
    [pair] = json.loads(run(home, "beneficiary", "duplicates", "--json").stdout)
    keep, other = pair["keep"]["id"], pair["other"]["id"]
    assert (pair["keep"]["ft_id"], pair["other"]["ft_id"]) == ("2345678B", "8888888H")

    merged = run(home, "beneficiary", "merge", keep, other)
    assert merged.exit_code == 0, merged.output
    assert f"Fiche {other} fusionnée dans {keep} (BeneficiariesMerged) :" in merged.output
    for service in ("importer", "planning", "affectation", "notify", "billing"):
        assert f"  {service} : " in merged.output and f"  {service} : pas encore suivi" not in merged.output
    assert "billing : rien à reprendre (les factures émises ne sont jamais réécrites)" in merged.output
    assert "0 doublon(s) probable(s)." in run(home, "beneficiary", "duplicates").output

    again = run(home, "beneficiary", "merge", keep, other)
    assert again.exit_code == 1
    assert f"La fiche à fusionner {other} est déjà fusionnée dans la fiche {keep}" in again.output
    itself = run(home, "beneficiary", "merge", keep, keep)
    assert itself.exit_code == 1 and "avec elle-même" in itself.output
