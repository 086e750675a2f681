"""What a template (modèle) may refer to: four objects and their fields (NOT-01)."""

FIELDS: dict[str, dict[str, str]] = {
    "beneficiary": {
        "civility": "civilité (« Mme », « M. » ou vide)",
        "salutation": "« Madame », « Monsieur » ou « Madame, Monsieur »",
        "greeting": "« Madame DUPONT », « Monsieur MARTIN », ou prénom et nom sans civilité",
        "first_name": "prénom",
        "last_name": "nom",
        "full_name": "prénom et nom",
        "gdpr_agreement_url": "lien personnel d'accord RGPD (mail RGPD seulement ; vide une fois l'accord donné)",
    },
    "action": {
        "date": "date du rendez-vous (14/01/2025)",
        "date_long": "date en toutes lettres (mardi 14 janvier 2025)",
        "time": "heure de début (9h00)",
        "end_time": "heure de fin, si connue (10h00)",
        "site": "nom du lieu",
        "address": "adresse du lieu (vide à distance)",
        "remote": "vrai pour un rendez-vous 100 % à distance",
        "mode": "« sur site » ou « à distance »",
        "ods": "nom de l'offre de service",
    },
    "order": {
        "number": "n° de commande France Travail (vide avant J-2)",
    },
    "structure": {
        "name": "nom de la structure",
        "virtual_office_url": "adresse de Mon Bureau Virtuel",
        "presentation_url": "page de présentation de la prestation",
    },
}
TEMPLATE_FIELDS = tuple(FIELDS)


def field_list() -> list[str]:
    return [f"{obj}.{name}" for obj, names in FIELDS.items() for name in names]
