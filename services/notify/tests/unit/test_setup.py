"""Templates and sending rules (NOT-01, NOT-02): pure rules of ``notify.domain.setup``.

The sample is shared/prestappli/samples/referentiel.yaml; its notify part (templates, rules) is
built as prestaflow/src/prestaflow/referential_file.py ``split`` builds it.
"""

import json
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from notify.domain.setup import NotificationSetup, SetupPart, Template, duplicate_codes, template_problems

SAMPLE = Path(__file__).resolve().parents[4] / ".." / "shared" / "prestappli" / "samples" / "referentiel.yaml"


def notify_part() -> dict:
    data = json.loads(json.dumps(yaml.safe_load(SAMPLE.read_text(encoding="utf-8")), default=str))
    return {"templates": data["templates"], "rules": data["rules"]}


def problems_of(**changes) -> list[str]:
    raw = notify_part()
    raw.update(changes)
    part = SetupPart.model_validate(raw)
    return duplicate_codes(part) + NotificationSetup().merged_with(part).problems()


def email(code="ACR-TEST", **fields) -> Template:
    return Template(code=code, channel="email", **({"subject": "Votre rendez-vous"} | fields))


def test_not_sample_setup_is_valid():
    raw = notify_part()
    setup = NotificationSetup().merged_with(SetupPart.model_validate(raw))
    assert setup.problems() == []
    assert sorted(setup.templates) == ["ACR-ANNULATION", "ACR-PRESENTATION", "ACR-RAPPEL"]
    assert len(setup.rules) == 3
    assert setup.merged_with(SetupPart.model_validate(raw)).digest() == setup.digest()


def test_not01_known_fields_are_accepted():
    t = email(subject="RDV du {{ action.date }}",
              body_html="<p>Bonjour {{ beneficiary.first_name }},</p>"
                        "{% if order.number %}{{ order.number }}{% endif %}",
              body_text="{{ structure.name }} : {% for s in [1, 2] %}{{ s }} {% endfor %}{{ action['time'] }}")
    assert template_problems(t) == []


def test_not01_unknown_field_of_a_known_object_is_refused_naming_it():
    problems = template_problems(email(body_text="Bonjour {{ beneficiary.nom }}"))
    assert len(problems) == 1
    assert problems[0].startswith("Modèle « ACR-TEST » (texte) : champ « beneficiary.nom » inconnu")


def test_not01_template_referring_to_an_unknown_field_is_refused_naming_it():
    problems = template_problems(email(subject="Bonjour {{ person.name }}"))
    assert problems == ["Modèle « ACR-TEST » (objet) : champ « person » inconnu (champs possibles : "
                        "beneficiary, action, order, structure)."]


def test_not01_unknown_fields_are_each_named_with_the_part_they_are_in():
    problems = template_problems(email(body_html="{{ person.name }} {{ adviser }}", body_text="{{ beneficary.email }}"))
    assert problems == [
        "Modèle « ACR-TEST » (corps HTML) : champ « adviser » inconnu (champs possibles : "
        "beneficiary, action, order, structure).",
        "Modèle « ACR-TEST » (corps HTML) : champ « person » inconnu (champs possibles : "
        "beneficiary, action, order, structure).",
        "Modèle « ACR-TEST » (texte) : champ « beneficary » inconnu (champs possibles : "
        "beneficiary, action, order, structure).",
    ]


def test_not01_unknown_field_in_the_sample_file_refuses_the_part():
    raw = notify_part()
    raw["templates"][1]["subject"] = "Rappel {{ person.name }}"
    problems = problems_of(templates=raw["templates"])
    assert len(problems) == 1
    assert problems[0].startswith("Modèle « ACR-RAPPEL » (objet) : champ « person » inconnu")


@pytest.mark.parametrize("source,line", [
    ("{{ action.date }", 1),
    ("Bonjour,\n\nVotre rendez-vous du {{ action.date }\nÀ bientôt", 3),
    ("Ligne 1\nLigne 2\n{% if action.remote %}à distance{% endfor %}", 3),
])
def test_not01_syntax_error_is_refused_with_its_line(source, line):
    problems = template_problems(email(body_text=source))
    assert len(problems) == 1
    assert problems[0].startswith(f"Modèle « ACR-TEST » (texte), ligne {line} : syntaxe incorrecte (")


def test_not01_email_without_subject_is_refused():
    for subject in (None, ""):
        problems = template_problems(Template(code="ACR-SANS-OBJET", channel="email", subject=subject,
                                              body_text="Bonjour"))
        assert problems == ["Modèle « ACR-SANS-OBJET » : un e-mail doit avoir un objet."]


def test_not01_sms_without_text_is_refused_with_text_accepted():
    assert template_problems(Template(code="ACR-SMS", channel="sms")) == [
        "Modèle « ACR-SMS » : un SMS doit avoir un texte."]
    assert template_problems(Template(code="ACR-SMS", channel="sms", body_text="RDV le {{ action.date }}")) == []


def test_not01_unknown_channel_is_refused():
    with pytest.raises(ValidationError):
        Template(code="ACR-FAX", channel="fax", subject="x")


def test_not02_rule_with_unknown_template_is_refused():
    raw = notify_part()
    raw["rules"][1]["template"] = "ACR-RELANCE"
    problems = problems_of(rules=raw["rules"])
    assert problems == ["Règle ACR2025 / confirmation yes / J-2 : modèle « ACR-RELANCE » inconnu."]


def test_not02_rule_template_loaded_earlier_is_known():
    raw = notify_part()
    setup = NotificationSetup().merged_with(SetupPart.model_validate({"templates": raw["templates"]}))
    later = setup.merged_with(SetupPart.model_validate({"rules": raw["rules"]}))
    assert later.problems() == []


def test_not02_rule_delay_and_confirmation_are_checked():
    rule = {"ods": "ACR2025", "confirmation": "any", "template": "ACR-PRESENTATION", "delay_days": 0}
    with pytest.raises(ValidationError):
        SetupPart.model_validate({"rules": [{**rule, "confirmation": "maybe"}]})
    with pytest.raises(ValidationError):
        SetupPart.model_validate({"rules": [{**rule, "delay_days": -61}]})


def test_not_duplicate_template_codes_in_one_part_are_refused():
    raw = notify_part()
    problems = problems_of(templates=raw["templates"] + [raw["templates"][0]])
    assert problems == ["Modèle « ACR-PRESENTATION » : code en double dans le fichier."]
