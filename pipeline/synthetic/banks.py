"""The sentence banks of the demo crawl (one YAML file per language in demo_data/) and the text helpers built on
them: URL slugs with the sites' transliteration and localised dates."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import yaml

DATA_DIR = Path(__file__).resolve().parent / "demo_data"
COUNTRY = {  # language -> ISO 3166 country of its sites (phone region, IBAN country)
    "de": "DE", "fr": "FR", "es": "ES", "it": "IT", "pl": "PL", "nl": "NL", "pt": "PT",
    "sv": "SE", "cs": "CZ", "fi": "FI", "hu": "HU", "el": "GR", "bg": "BG", "en": "GB",
}  # fmt: skip
LANGUAGES = ("de", "fr", "es", "it", "pl", "nl", "pt", "sv", "el", "cs", "fi", "hu", "bg", "en")


@cache
def load_bank(lang: str) -> dict[str, Any]:
    """The sentence bank of one language (pipeline/synthetic/demo_data/<lang>.yaml)."""
    with open(DATA_DIR / f"{lang}.yaml", encoding="utf-8") as f:
        return yaml.safe_load(f)


# Greek and Cyrillic letters as the sites' URL schemes transliterate them (ELOT 743 / Bulgarian streamlined).
_TRANSLIT = dict(zip("αβγδεζηικλμνξοπρστυφωάέήίόύώϊϋΐΰς", "avgdeziiklmnxoprstyfoaeiioyoiyiys", strict=True))
_TRANSLIT |= dict(zip("абвгдезийклмнопрстуфхъь", "abvgdeziyklmnoprstufhay", strict=True))
_TRANSLIT |= {
    "θ": "th",
    "χ": "ch",
    "ψ": "ps",
    "ж": "zh",
    "ц": "ts",
    "ч": "ch",
    "ш": "sh",
    "щ": "sht",
    "ю": "yu",
    "я": "ya",
    "ł": "l",
    "ß": "ss",
}


def slug(text: str) -> str:
    text = "".join(_TRANSLIT.get(c, c) for c in text.lower())
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60]


def date_text(bank: dict[str, Any], when: datetime) -> str:
    return when.strftime(bank["date_format"])
