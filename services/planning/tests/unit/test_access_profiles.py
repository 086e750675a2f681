"""SEC-02 / REF-02: *profils de droit* and users in the referential."""

import json
from pathlib import Path

import yaml

from planning.domain.referential import Referential, ReferentialPart, check_part

SAMPLE = Path(__file__).resolve().parents[4] / ".." / "shared" / "prestappli" / "samples" / "referentiel.yaml"


def planning_part() -> dict:
    data = json.loads(json.dumps(yaml.safe_load(SAMPLE.read_text(encoding="utf-8")), default=str))
    return {"antennes": [{k: v for k, v in a.items() if k != "legal_entity"} for a in data["antennes"]]} | {
        key: data[key] for key in ("sites", "advisors", "ods", "resources")}

PROFILES = [
    {"code": "CONSEILLER-DOU", "name": "Conseiller Douaisis",
     "rights": {"planning": "écriture", "affectation": "écriture", "import": "lecture"}, "antennes": ["DOUAISIS"]},
    {"code": "LECTURE-LILLE", "name": "Lecture Lille", "rights": {"planning": "lecture", "facturation": "lecture"},
     "antennes": ["LILLE"]},
    {"code": "ADMIN", "name": "Administrateur", "rights": {"administration": "écriture"}, "antennes": "toutes"},
]
USERS = [{"code": "sub-kb", "name": "Karim", "advisor": "kbenamar", "profiles": ["CONSEILLER-DOU", "LECTURE-LILLE"]},
         {"code": "sub-admin", "profiles": ["ADMIN"]},
         {"code": "sub-gone", "profiles": ["ADMIN"], "active": False}]


def loaded(**extra) -> tuple[Referential, list[str]]:
    return check_part(Referential(), ReferentialPart(**planning_part() | {"profiles": PROFILES, "users": USERS} | extra))


def test_SEC_02_a_users_rights_are_the_widest_of_their_profiles_on_the_antennes_they_cover():
    ref, problems = loaded()
    assert problems == []
    assert ref.access_of("sub-kb") == {
        "subject": "sub-kb", "advisor": "kbenamar", "antennes": ["DOUAISIS", "LILLE"],
        "rights": {"planning": "write", "affectation": "write", "import": "read", "facturation": "read"}}
    assert ref.access_of("sub-admin")["antennes"] is None  # « toutes »
    assert ref.access_of("sub-gone")["rights"] == {}  # inactive: nothing
    assert ref.access_of("nobody") == {"subject": "nobody", "rights": {}, "antennes": [], "advisor": None}


def test_SEC_02_unknown_modules_antennes_profiles_and_advisors_are_refused_in_french():
    _, problems = loaded(profiles=[{"code": "P", "name": "P", "rights": {"compta": "lecture"}, "antennes": ["PARIS"]}],
                         users=[{"code": "u", "profiles": ["P", "X"], "advisor": "nobody"}])
    assert problems == [
        "Profil « P » : module « compta » inconnu (attendu : planning, import, affectation, parcours, facturation, "
        "notifications, administration, audit).",
        "Profil « P » : antenne « PARIS » inconnue.",
        "Utilisateur « u » : profil « X » inconnu.",
        "Utilisateur « u » : conseiller « nobody » inconnu."]


def test_SEC_02_profiles_and_users_are_part_of_the_referentials_version():
    without, _ = check_part(Referential(), ReferentialPart(**planning_part()))
    with_profiles, _ = loaded()
    assert with_profiles.digest() != without.digest()  # a change of rights is a new referential version
