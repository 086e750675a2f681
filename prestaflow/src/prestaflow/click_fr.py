"""French for click's own messages: usage line, help headings, usage errors, prompts.

click marks its messages with ``gettext`` and ``ngettext``, imported as module globals (``_`` and
``ngettext``) into each of its modules and called at run time. ``install()`` points those globals at
lookups in ``CATALOG`` and ``PLURALS``; a msgid missing from them (e.g. new in a click upgrade) is shown
in English, as before. Placeholders ({name!r}, {param_hint}, ...) are kept exactly as in the msgid.

Call ``install()`` before any ``click.Path`` is built: a Path names its type (``_("path")``, shown as
the CHEMIN metavar and in its errors) when it is constructed. It changes click for the whole process.

The names click gives its parameter types (the metavar ``TEXT``, ``INTEGER`` in "is not a valid
integer") and a group's usage line (``COMMAND [ARGS]...``) are not messages: ``install()`` renames the
types, and ``FrenchGroup`` (``@click.group(cls=FrenchGroup)``, inherited by its subgroups) writes the usage.

Developer-only errors (a wrongly declared option, an unknown colour or stream, ``Choice.__repr__``) are
left out on purpose: users never meet them and they stay in English.
"""

import gettext as _gettext
import importlib
import pkgutil

import click

# msgid (as in click's source) -> French. French typography: a space before ':' '?' '!'.
CATALOG: dict[str, str] = {
    # Usage line and help page. A heading gets its ':' from click (``f"{heading}:"``): the trailing
    # space here gives the French "Options :".
    "Usage:": "Utilisation :",
    "Options": "Options ",
    "Commands": "Commandes ",
    "Positional arguments": "Arguments positionnels ",
    "Show this message and exit.": "Afficher ce message et quitter.",
    "Show the version and exit.": "Afficher la version et quitter.",
    "%(prog)s, version %(version)s": "%(prog)s, version %(version)s",
    # Extras in an option's help: "[default: 1]", "[required]".
    "default: {default}": "par défaut : {default}",
    "required": "obligatoire",
    "env var: {var}": "variable d'environnement : {var}",
    "(dynamic)": "(dynamique)",
    "deprecated": "obsolète",
    "DeprecationWarning: The command {name!r} is deprecated.{extra_message}":
        "DeprecationWarning : la commande {name!r} est obsolète.{extra_message}",
    "DeprecationWarning: The {param_type} {name!r} is deprecated.{extra_message}":
        "DeprecationWarning : {param_type} {name!r} obsolète.{extra_message}",
    # Usage errors (exit code 2). click writes "{missing}{param_hint}.", e.g. "Il manque l'option '--x'."
    "Error: {message}": "Erreur : {message}",
    "Try '{command} {option}' for help.": "Pour de l'aide, lancez « {command} {option} ».",
    "Missing option": "Il manque l'option",
    "Missing argument": "Il manque l'argument",
    "Missing parameter": "Il manque le paramètre",
    "Missing {param_type}": "Il manque le paramètre ({param_type})",
    "Missing parameter: {param_name}": "Paramètre manquant : {param_name}",
    "Missing command.": "Il manque la commande.",
    "No such command {name!r}.": "Commande {name!r} inconnue.",
    "No such option {name!r}.": "Option {name!r} inconnue.",
    "Invalid value for {param_hint}: {message}": "Valeur incorrecte pour {param_hint} : {message}",
    "Invalid value: {message}": "Valeur incorrecte : {message}",
    "Option {name!r} does not take a value.": "L'option {name!r} ne prend pas de valeur.",
    "Argument {name!r} takes {nargs} values.": "L'argument {name!r} attend {nargs} valeurs.",
    "Value must be an iterable.": "La valeur doit être une liste.",
    "unknown error": "erreur inconnue",
    "Could not open file {filename!r}: {message}": "Impossible d'ouvrir le fichier {filename!r} : {message}",
    # Values refused by a parameter type.
    "Choose from:\n\t{choices}": "Valeurs possibles :\n\t{choices}",
    "{value!r} is not a valid {number_type}.": "{value!r} n'est pas un nombre valide ({number_type}).",
    "{value} is not in the range {range}.": "{value} n'est pas dans l'intervalle {range}.",
    "{value!r} is not a valid boolean. Recognized values: {states}":
        "{value!r} n'est pas un booléen valide. Valeurs reconnues : {states}",
    "{value!r} is not a valid UUID.": "{value!r} n'est pas un UUID valide.",
    # click.Path: its type's name (also its metavar), then "{name} {filename!r} ..." with name.title().
    "file": "fichier",
    "directory": "dossier",
    "path": "chemin",
    "{name} {filename!r} does not exist.": "{name} {filename!r} introuvable.",
    "{name} {filename!r} is a file.": "{name} {filename!r} : c'est un fichier.",
    "{name} {filename!r} is a directory.": "{name} {filename!r} : c'est un dossier.",
    "{name} {filename!r} is not readable.": "{name} {filename!r} : lecture impossible.",
    "{name} {filename!r} is not writable.": "{name} {filename!r} : écriture impossible.",
    "{name} {filename!r} is not executable.": "{name} {filename!r} : exécution impossible.",
    # Prompts, confirmations, interruption, progress bar, editor.
    "Aborted!": "Abandon.",
    "Do you want to continue?": "Voulez-vous continuer ?",
    "Confirm the action without prompting.": "Confirmer l'action sans poser la question.",
    "Repeat for confirmation": "Saisissez de nouveau pour confirmer",
    "Error: The two entered values do not match.": "Erreur : les deux valeurs saisies diffèrent.",
    "Error: invalid input": "Erreur : saisie incorrecte",
    "Press any key to continue...": "Appuyez sur une touche pour continuer...",
    "d": "j",  # days, in a progress bar's remaining time ("2j 01:00:00")
    "{editor}: Editing failed": "{editor} : échec de la modification",
    "{editor}: Editing failed: {e}": "{editor} : échec de la modification : {e}",
    "Windows error: {error}": "Erreur Windows : {error}",
    # Shell completion.
    "Shell completion is not supported for Bash versions older than 4.4.":
        "La complétion n'est pas prise en charge par les versions de Bash antérieures à la 4.4.",
    "Couldn't detect Bash version, shell completion is not supported.":
        "Version de Bash introuvable : la complétion n'est pas prise en charge.",
}

# (singular msgid, plural msgid) -> (French singular, French plural). The form is chosen as click's
# msgids expect it (singular for n == 1 only: some hard-code "1"), so the French plural reads right for 0.
PLURALS: dict[tuple[str, str], tuple[str, str]] = {
    ("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})"):
        ("Argument en trop ({args})", "Arguments en trop ({args})"),
    ("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)"):
        ("Vouliez-vous dire {possibility} ?", "(Vouliez-vous dire : {possibilities} ?)"),
    ("{value!r} is not {choice}.", "{value!r} is not one of {choices}."):
        ("{value!r} n'est pas la valeur attendue : {choice}.",
         "{value!r} n'est pas l'une des valeurs possibles : {choices}."),
    ("Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments."):
        ("L'option {name!r} attend une valeur.", "L'option {name!r} attend {nargs} valeurs."),
    ("Takes {nargs} values but 1 was given.", "Takes {nargs} values but {len} were given."):
        ("{nargs} valeurs attendues, 1 seule reçue.", "{nargs} valeurs attendues, {len} reçues."),
    ("{len_type} values are required, but {len_value} was given.",
     "{len_type} values are required, but {len_value} were given."):
        ("{len_type} valeurs attendues, {len_value} reçue.", "{len_type} valeurs attendues, {len_value} reçues."),
    ("{value!r} does not match the format {format}.", "{value!r} does not match the formats {formats}."):
        ("{value!r} ne correspond pas au format {format}.",
         "{value!r} ne correspond à aucun des formats {formats}."),
}


# click's built-in parameter types -> their French name (upper-cased, it is the option's metavar).
TYPE_NAMES: dict[click.ParamType, str] = {click.STRING: "texte", click.INT: "entier", click.FLOAT: "décimal",
                                          click.BOOL: "booléen"}


class FrenchGroup(click.Group):
    """A group whose usage line reads ``COMMANDE [ARGUMENTS]...``; its subgroups are FrenchGroups too."""

    group_class = type  # click: subgroups made with ``@group.group()`` take this group's class

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("subcommand_metavar", "COMMANDE [ARGUMENTS]...")
        super().__init__(*args, **kwargs)


def gettext(message: str) -> str:
    """The French for one of click's messages, or the message itself when it has none."""
    return CATALOG.get(message, message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The French singular or plural of one of click's messages, or click's English when it has none."""
    forms = PLURALS.get((singular, plural), (singular, plural))
    return forms[0] if n == 1 else forms[1]


def install() -> None:
    """Make every click module that translates its messages look them up here, and give click's
    parameter types their French names (idempotent)."""
    for param_type, name in TYPE_NAMES.items():
        param_type.name = name
    for info in pkgutil.iter_modules(click.__path__):
        try:
            module = importlib.import_module(f"click.{info.name}")
        except (ImportError, AssertionError):  # click._winconsole asserts it runs on Windows
            continue
        names = vars(module)
        if names.get("_") in (_gettext.gettext, gettext):
            module._ = gettext
        if names.get("ngettext") in (_gettext.ngettext, ngettext):
            module.ngettext = ngettext
