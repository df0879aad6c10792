"""EU VAT identification numbers of all 27 member states (country prefix + national format), checked with
python-stdnum's per-country checksum rules."""

from __future__ import annotations

from presidio_analyzer import Pattern
from stdnum.eu import vat

from sovereign.stages.pii.recognizers.checked import ChecksumPatternRecognizer

# Formats from the EU VIES documentation; an optional space or dot may follow the prefix.
_FORMATS = (
    r"AT ?U\d{8}|BE ?[01]\d{9}|BG ?\d{9,10}|CY ?\d{8}[A-Z]|CZ ?\d{8,10}|DE ?\d{9}|DK ?\d{8}|EE ?\d{9}|EL ?\d{9}"
    r"|ES ?[A-Z0-9]\d{7}[A-Z0-9]|FI ?\d{8}|FR ?[A-HJ-NP-Z0-9]{2} ?\d{9}|HR ?\d{11}|HU ?\d{8}"
    r"|IE ?\d[A-Z0-9+*]\d{5}[A-W][A-I]?|IT ?\d{11}|LT ?(?:\d{12}|\d{9})|LU ?\d{8}|LV ?\d{11}|MT ?\d{8}"
    r"|NL ?\d{9}B\d{2}|PL ?\d{10}|PT ?\d{9}|RO ?\d{2,10}|SE ?\d{12}|SI ?\d{8}|SK ?\d{10}"
)


class EuVatRecognizer(ChecksumPatternRecognizer):
    ENTITY = "EU_VAT"
    COUNTRY_CODE = "eu"
    DEFAULT_LANGUAGE = "en"
    # Case-sensitive (presidio compiles with IGNORECASE): "es 99453012T" is Spanish "is", not a VAT prefix.
    PATTERNS = [Pattern("EU VAT", rf"\b(?-i:{_FORMATS})\b", 0.5)]
    CONTEXT = ["vat", "ust-id", "ustid", "umsatzsteuer", "tva", "btw", "iva", "nip", "moms", "alv", "dph", "dic"]
    is_valid = staticmethod(vat.is_valid)
