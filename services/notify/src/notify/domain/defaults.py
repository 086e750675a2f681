"""Seeded texts: the built-in system templates, and French bodies for templates loaded without one.

The sample referential gives the Activ'Créa templates a subject only; a template with no body gets
the default body of its code here, or a generic one. System messages (virtual-office access and
reminder, GDPR information) are sent without any set-up, as in the reference CRM; a template
loaded with the same code replaces the built-in one.
"""

from notify.domain.setup import SYSTEM_CODES, NotificationSetup, Template

MBV_ACCESS, MBV_REMINDER, GDPR = SYSTEM_CODES

_SIGNATURE = """
Bien cordialement,
L'équipe {{ structure.name }}

Ce message est envoyé automatiquement : merci de ne pas y répondre directement."""

DEFAULT_TEXTS: dict[str, str] = {
    "ACR-PRESENTATION": """Bonjour {{ beneficiary.greeting }},

Votre conseiller France Travail vous a orienté(e) vers la prestation Activ'Créa, que {{ structure.name }} \
vous propose pour explorer votre projet de création ou de reprise d'entreprise.

Votre entretien de diagnostic est prévu le {{ action.date_long }} à {{ action.time }}\
{% if action.remote %}, à distance : votre conseiller vous contactera à l'heure du rendez-vous.\
{% else %}, à l'adresse suivante : {{ action.site }}, {{ action.address }}.{% endif %}

Pour découvrir la prestation : {{ structure.presentation_url }}
Avant le rendez-vous, merci de remplir le questionnaire de votre bureau virtuel : {{ structure.virtual_office_url }}

Votre rendez-vous sera confirmé par France Travail deux jours avant la date.
""" + _SIGNATURE,
    "ACR-RAPPEL": """Bonjour {{ beneficiary.greeting }},

Nous vous rappelons votre entretien de diagnostic Activ'Créa le {{ action.date_long }} à {{ action.time }}\
{% if action.remote %}, à distance : votre conseiller vous contactera à l'heure du rendez-vous.\
{% else %}, à l'adresse suivante : {{ action.site }}, {{ action.address }}.{% endif %}
{% if order.number %}
Votre prise en charge par France Travail est confirmée (commande n° {{ order.number }}).
{% endif %}
En cas d'empêchement, merci de nous prévenir au plus tôt.
""" + _SIGNATURE,
    "ACR-ANNULATION": """Bonjour {{ beneficiary.greeting }},

France Travail n'a pas confirmé votre rendez-vous Activ'Créa du {{ action.date_long }} à {{ action.time }} : \
ce rendez-vous est donc annulé.

Pour toute question, rapprochez-vous de votre conseiller France Travail.
""" + _SIGNATURE,
    MBV_ACCESS: """Bonjour {{ beneficiary.greeting }},

Votre espace en ligne « Mon Bureau Virtuel » est ouvert : {{ structure.virtual_office_url }}
Connectez-vous avec votre adresse e-mail pour retrouver vos rendez-vous et remplir le questionnaire \
à compléter avant votre entretien Activ'Créa du {{ action.date_long }} à {{ action.time }}.
""" + _SIGNATURE,
    MBV_REMINDER: """Bonjour {{ beneficiary.greeting }},

Vous ne vous êtes pas encore connecté(e) à votre espace « Mon Bureau Virtuel ».
Merci de vous y connecter avant votre entretien Activ'Créa du {{ action.date_long }} à {{ action.time }} \
pour remplir le questionnaire : {{ structure.virtual_office_url }}
""" + _SIGNATURE,
    GDPR: """Bonjour {{ beneficiary.greeting }},

Dans le cadre de votre accompagnement, {{ structure.name }} enregistre des données vous concernant : \
identité, coordonnées, identifiant France Travail, rendez-vous et suivi de votre parcours.

Ces données servent uniquement à vous accompagner, à rendre compte de la prestation à France Travail \
qui la finance, et à la facturer. Elles sont conservées pendant la durée de l'accompagnement puis \
le temps des obligations légales, et ne sont jamais vendues.

Vous pouvez à tout moment y accéder, les faire rectifier ou effacer, vous opposer à leur traitement \
ou en demander la limitation, en écrivant à {{ structure.name }}. Vous pouvez aussi adresser une \
réclamation à la CNIL (www.cnil.fr).

{% if beneficiary.gdpr_agreement_url %}Pour nous donner votre accord, ouvrez ce lien personnel (il ne sert qu'une fois \
et expire après quelques semaines) : {{ beneficiary.gdpr_agreement_url }}
Vous pouvez aussi nous le confirmer lors de votre prochain rendez-vous.
{% else %}Merci de nous confirmer que vous avez pris connaissance de ces informations \
lors de votre prochain rendez-vous.
{% endif %}""" + _SIGNATURE,
}

GENERIC_TEXT = """Bonjour {{ beneficiary.greeting }},

{{ structure.name }} vous écrit au sujet de votre rendez-vous du {{ action.date_long }} à {{ action.time }}.
""" + _SIGNATURE

SYSTEM_TEMPLATES: dict[str, Template] = {
    MBV_ACCESS: Template(code=MBV_ACCESS, channel="email",
                         subject="Votre accès à Mon Bureau Virtuel – {{ structure.name }}"),
    MBV_REMINDER: Template(code=MBV_REMINDER, channel="email",
                           subject="Rappel : connectez-vous à Mon Bureau Virtuel avant votre rendez-vous du "
                                   "{{ action.date }}"),
    GDPR: Template(code=GDPR, channel="email",
                   subject="Information sur le traitement de vos données personnelles – {{ structure.name }}"),
}


def templates_of(setup: NotificationSetup) -> dict[str, Template]:
    """Every template a message may use: the built-in system ones, replaced by loaded ones of the same code."""
    return SYSTEM_TEMPLATES | setup.templates


def with_bodies(template: Template) -> tuple[Template, bool]:
    """The template with French bodies filled in where it has none, and whether defaults were used."""
    if template.channel == "sms" or template.body_text or template.body_html:
        return template, False
    return template.model_copy(update={"body_text": DEFAULT_TEXTS.get(template.code, GENERIC_TEXT)}), True
