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


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def unsafe_text(text: str) -> bool:
    """A user's text that a spreadsheet would run as a formula (``=cmd|...``) or a page would read as
    markup (``<script>``): refused where users type free text, rather than stored and escaped everywhere."""
    return text.startswith(_FORMULA_START) or "<" in text or ">" in text
