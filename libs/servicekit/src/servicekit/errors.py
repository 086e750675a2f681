"""Domain errors: refusals with the French messages a user sees, each naming the entry and what
was expected. Raised by the domain and the service layer; only the entrypoints (``servicekit.http``)
turn them into HTTP answers."""

from typing import Any


class RefusedInput(Exception):
    """A command refused as a whole; nothing was changed."""

    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


class NotFound(RefusedInput):
    """The command names something that does not exist (an unknown id or code)."""


class Conflict(RefusedInput):
    """The command cannot apply to the current state (already done, no place left, in use)."""


_EXPECTED = {
    "missing": "champ obligatoire manquant",
    "extra_forbidden": "champ inconnu",
    "string_type": "texte attendu",
    "int_type": "nombre entier attendu",
    "int_parsing": "nombre entier attendu",
    "bool_type": "vrai ou faux attendu",
    "bool_parsing": "vrai ou faux attendu",
    "date_type": "date attendue (AAAA-MM-JJ)",
    "date_parsing": "date attendue (AAAA-MM-JJ)",
    "date_from_datetime_parsing": "date attendue (AAAA-MM-JJ)",
    "decimal_parsing": "montant attendu (par exemple 1200.00)",
    "decimal_type": "montant attendu (par exemple 1200.00)",
    "list_type": "liste attendue",
    "tuple_type": "liste attendue",
    "dict_type": "objet attendu",
    "model_type": "objet attendu",
    "literal_error": "valeur non autorisée",
    "greater_than": "valeur trop petite",
    "greater_than_equal": "valeur trop petite",
    "too_short": "liste trop courte",
    "string_pattern_mismatch": "format incorrect",
}


def _describe(loc: tuple[Any, ...], body: Any) -> str:
    """``('body', 'sites', 2, 'antenne')`` -> ``sites n°3 (« ARM ») › antenne``."""
    parts, node = [], body
    for step in loc:
        if step == "body":
            continue
        if isinstance(step, int):
            label = f"n°{step + 1}"
            node = node[step] if isinstance(node, list) and step < len(node) else None
            if isinstance(node, dict) and node.get("code"):
                label += f" (« {node['code']} »)"
            parts[-1:] = [f"{parts[-1]} {label}"] if parts else [label]
        else:
            node = node.get(step) if isinstance(node, dict) else None
            parts.append(str(step))
    return " › ".join(parts) or "requête"


def french_validation_messages(errors: list[dict[str, Any]], body: Any) -> list[str]:
    messages = []
    for error in errors:
        expected = _EXPECTED.get(error["type"], error.get("msg", "valeur incorrecte"))
        if error["type"] == "literal_error" and error.get("ctx", {}).get("expected"):
            expected += f" (attendu : {error['ctx']['expected']})"
        messages.append(f"{_describe(tuple(error['loc']), body)} : {expected}")
    return messages
