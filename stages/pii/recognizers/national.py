"""National identifiers presidio does not ship (FR, NL, PT, BE, AT, DK), as presidio PatternRecognizers.

Patterns follow each identifier's published format; python-stdnum checks the check digits (and dates).
"""

from __future__ import annotations

from presidio_analyzer import Pattern
from stdnum.at import vnr
from stdnum.be import nn
from stdnum.dk import cpr
from stdnum.fr import nir
from stdnum.nl import bsn
from stdnum.pt import nif

from sovereign.stages.pii.recognizers.checked import ChecksumPatternRecognizer


class FrNirRecognizer(ChecksumPatternRecognizer):
    """French social security number (NIR, "numéro de sécurité sociale"): 13 digits + 2-digit key (97 - n % 97);
    department 2A/2B for Corsica."""

    ENTITY = "FR_NIR"
    COUNTRY_CODE = "fr"
    DEFAULT_LANGUAGE = "fr"
    PATTERNS = [
        Pattern("NIR", r"\b[1-478] ?\d{2} ?\d{2} ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}\b", 0.5),
    ]
    CONTEXT = ["sécurité", "securite", "sociale", "sécu", "secu", "nir", "insee", "vitale", "ss"]
    is_valid = staticmethod(nir.is_valid)


class NlBsnRecognizer(ChecksumPatternRecognizer):
    """Dutch citizen service number (BSN): 9 digits, 11-check. One random 9-digit number in 11 passes, so a
    context word is needed."""

    ENTITY = "NL_BSN"
    COUNTRY_CODE = "nl"
    DEFAULT_LANGUAGE = "nl"
    PATTERNS = [
        Pattern("BSN", r"\b\d{9}\b", 0.3),
        Pattern("BSN (grouped)", r"\b\d{4}\.\d{2}\.\d{3}\b|\b\d{3}[ .]\d{3}[ .]\d{3}\b", 0.3),
    ]
    CONTEXT = ["bsn", "bsn-nummer", "burgerservicenummer", "sofinummer", "sofi-nummer"]
    STRONG = False
    is_valid = staticmethod(bsn.is_valid)


class PtNifRecognizer(ChecksumPatternRecognizer):
    """Portuguese tax number (NIF, número de contribuinte): 9 digits, mod-11 check digit; needs context."""

    ENTITY = "PT_NIF"
    COUNTRY_CODE = "pt"
    DEFAULT_LANGUAGE = "pt"
    PATTERNS = [
        Pattern("NIF", r"\b[1235689]\d{8}\b", 0.3),
        Pattern("NIF (grouped)", r"\b[1235689]\d{2} \d{3} \d{3}\b", 0.3),
    ]
    CONTEXT = ["nif", "contribuinte", "fiscal", "nipc"]
    STRONG = False
    is_valid = staticmethod(nif.is_valid)


class BeNationalNumberRecognizer(ChecksumPatternRecognizer):
    """Belgian national register number (rijksregisternummer / numéro de registre national): birth date
    YYMMDD, 3-digit serial, 2-digit mod-97 check."""

    ENTITY = "BE_NATIONAL_NUMBER"
    COUNTRY_CODE = "be"
    DEFAULT_LANGUAGE = "nl"
    PATTERNS = [
        Pattern("BE NN", r"\b\d{2}\.?\d{2}\.?\d{2}[- ]?\d{3}\.?\d{2}\b", 0.5),
    ]
    CONTEXT = ["rijksregister", "rijksregisternummer", "registre", "national", "nationaal", "insz", "niss", "nn"]
    is_valid = staticmethod(nn.is_valid)


class AtSocialSecurityRecognizer(ChecksumPatternRecognizer):
    """Austrian social insurance number (Sozialversicherungsnummer / VSNR): 3-digit serial, check digit,
    birth date DDMMYY."""

    ENTITY = "AT_SOCIAL_SECURITY"
    COUNTRY_CODE = "at"
    DEFAULT_LANGUAGE = "de"
    PATTERNS = [
        Pattern("VSNR", r"\b\d{4} ?\d{6}\b", 0.5),
    ]
    CONTEXT = ["sozialversicherungsnummer", "versicherungsnummer", "svnr", "vsnr", "e-card", "sv-nummer", "sv-nr"]

    @staticmethod
    def is_valid(number: str) -> bool:
        # stdnum checks the check digit only; a real birth date (day 01-31, month 01-12) cuts random 10-digit
        # numbers passing from 1 in 10 to about 1 in 270.
        return vnr.is_valid(number) and 1 <= int(number[4:6]) <= 31 and 1 <= int(number[6:8]) <= 12


class DkCprRecognizer(ChecksumPatternRecognizer):
    """Danish personal number (CPR-nummer): birth date DDMMYY + 4 digits. Since 2007 there is no check digit,
    only the date rule, so a context word is needed."""

    ENTITY = "DK_CPR"
    COUNTRY_CODE = "dk"
    DEFAULT_LANGUAGE = "da"
    PATTERNS = [
        Pattern("CPR", r"\b[0-3]\d[01]\d{3}-?\d{4}\b", 0.3),
    ]
    CONTEXT = ["cpr", "cpr-nummer", "cpr-nr", "personnummer", "personnr"]
    STRONG = False
    is_valid = staticmethod(cpr.is_valid)
