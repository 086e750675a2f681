"""Templates (NOT-01): fields checked when saved, defaults filled in, rendering escaped."""

from datetime import UTC, datetime

import pytest

from notify.domain.defaults import DEFAULT_TEXTS, SYSTEM_TEMPLATES, with_bodies
from notify.domain.rendering import (PARIS, build_context, french_date_long, leftover_placeholders, render,
                                     sample_context)
from notify.domain.setup import NotificationSetup, Rule, SetupPart, Template, template_problems

LINKS = {"virtual_office_url": "https://mbv.example/", "presentation_url": "https://bge.example/activ-crea"}


def test_not01_an_unknown_field_is_refused_naming_it():
    template = Template(code="T", channel="email", subject="RDV le {{ action.jour }}",
                        body_html="<p>{{ beneficiary.nom }} {{ beneficiary['prenom'] }} {{ agence.code }}</p>",
                        body_text="{{ beneficiary }}")
    assert template_problems(template) == [
        "Modèle « T » (objet) : champ « action.jour » inconnu (champs possibles de action : date, date_long, time, "
        "end_time, site, address, remote, mode, ods).",
        "Modèle « T » (corps HTML) : champ « agence » inconnu (champs possibles : beneficiary, action, order, "
        "structure).",
        "Modèle « T » (corps HTML) : champ « beneficiary.nom » inconnu (champs possibles de beneficiary : civility, "
        "salutation, greeting, first_name, last_name, full_name, gdpr_agreement_url).",
        "Modèle « T » (corps HTML) : champ « beneficiary.prenom » inconnu (champs possibles de beneficiary : civility, "
        "salutation, greeting, first_name, last_name, full_name, gdpr_agreement_url).",
        "Modèle « T » (texte) : « beneficiary » seul n'est pas un champ : écrivez par exemple beneficiary.civility.",
    ]


def test_not01_the_sample_templates_and_every_default_are_valid():
    for code, text in DEFAULT_TEXTS.items():
        assert template_problems(Template(code=code, channel="email", subject="x", body_text=text)) == []
    for template in SYSTEM_TEMPLATES.values():
        assert template_problems(template) == []
    setup = NotificationSetup().merged_with(SetupPart(
        templates=(Template(code="ACR-RAPPEL", channel="email",
                            subject="Rappel le {{ action.date }} à {{ action.time }}"),),
        rules=(Rule(ods="ACR2025", confirmation="yes", template="ACR-RAPPEL", delay_days=-2),
               Rule(ods="ACR2025", confirmation="any", template="SYS-RGPD", delay_days=0),
               Rule(ods="ACR2025", confirmation="no", template="INCONNU", delay_days=-2))))
    assert setup.problems() == ["Règle ACR2025 / confirmation no / J-2 : modèle « INCONNU » inconnu."]


@pytest.mark.parametrize("code", [*DEFAULT_TEXTS, "AUTRE"])
def test_not01_a_template_without_body_gets_a_french_default_fully_rendered(code):
    template, defaulted = with_bodies(Template(code=code, channel="email", subject="Objet {{ action.date }}"))
    assert defaulted and template.body_text
    rendered = render(template, sample_context(LINKS))
    assert leftover_placeholders(rendered) == []
    assert rendered.text.startswith("Bonjour Madame EXEMPLE,")
    assert "L'équipe BGE Hauts-de-France" in rendered.text and "None" not in rendered.text
    assert rendered.html.startswith("<!DOCTYPE html>") and 'lang="fr"' in rendered.html
    kept, defaulted = with_bodies(Template(code=code, channel="email", subject="x", body_text="Mon texte"))
    assert not defaulted and kept.body_text == "Mon texte"


def test_not01_html_escapes_every_field_text_and_subject_stay_plain():
    context = sample_context(LINKS)
    context["beneficiary"]["last_name"] = "<script>alert('x')</script>"
    html_template = Template(code="H", channel="email", subject="Pour {{ beneficiary.last_name }}\r\nBcc: x@y",
                             body_html="<p>Bonjour {{ beneficiary.last_name }}</p>")
    rendered = render(html_template, context)
    assert "<script>" not in rendered.html and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in rendered.html
    assert rendered.subject == "Pour <script>alert('x')</script> Bcc: x@y"  # one line: no header injection
    assert "Bonjour <script>alert('x')</script>" in rendered.text
    text_template = Template(code="T", channel="email", subject="s", body_text="Bonjour {{ beneficiary.last_name }}")
    assert "&lt;script&gt;" in render(text_template, context).html


def test_not01_sms_is_one_line_of_text():
    sms = Template(code="S", channel="sms",
                   body_text="{{ structure.name }} :\n RDV le {{ action.date }}\n à {{ action.time }}.")
    rendered = render(sms, sample_context(LINKS))
    assert (rendered.subject, rendered.text, rendered.html) == (None, "BGE Hauts-de-France : RDV le 14/01/2025 à 9h00.",
                                                                None)


def test_french_dates_and_greetings():
    assert french_date_long(datetime(2025, 4, 1, 8, 0, tzinfo=UTC)) == "mardi 1er avril 2025"
    assert french_date_long(datetime(2025, 1, 14, 23, 30, tzinfo=UTC)) == "mercredi 15 janvier 2025"  # Paris day
    referential = {"sites": {"DIST": {"name": "À distance", "address": None, "remote": True}}}
    appointment = {"starts_at": datetime(2025, 1, 15, 10, 0, tzinfo=UTC), "site": "DIST", "remote": True, "ods": "X",
                   "order_number": None}
    context = build_context({"civility": None, "first_name": "Piotr", "last_name": "KOWALSKI"}, appointment,
                            referential, LINKS)
    assert context["beneficiary"]["greeting"] == "Piotr KOWALSKI"
    assert context["beneficiary"]["salutation"] == "Madame, Monsieur"
    assert (context["action"]["time"], context["action"]["mode"], context["action"]["address"]) == (
        "11h00", "à distance", "")
    assert context["order"]["number"] is None
    order = Template(code="O", channel="email", subject="n° {{ order.number }}.", body_text="x")
    assert render(order, context).subject == "n° ."  # an unknown value renders empty, never « None »
    assert build_context({"civility": "M.", "first_name": "Moussa", "last_name": "N'DIAYE"}, appointment, referential,
                         LINKS)["beneficiary"]["greeting"] == "Monsieur N'DIAYE"
    assert datetime(2025, 1, 15, 10, 0, tzinfo=UTC).astimezone(PARIS).hour == 11
