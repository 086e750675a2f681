import re
import unicodedata


def normalise_label(text: str) -> str:
    """Compare labels ignoring case, accents, repeated white space and a trailing dot.

    REF-01: Prest@ppli's address strings are matched to sites this way.
    """
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"\s+", " ", text).strip().rstrip(".").strip()
    return text.casefold()
