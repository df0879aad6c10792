"""Phone numbers: presidio's phonenumbers-based recognizer, scored lower when the number is written
without an international or trunk prefix in a country that has a trunk prefix.

In Germany, France or the Netherlands a phone number is written "+49 …", "0049 …" or "030 …"; a bare
"4711-0815" there is an order or file number far more often than a phone, so it needs a context word
("Tel.", "Telefon") to pass the threshold. In countries without a trunk prefix (ES, PL, DK, PT…) the
same holds for an unbroken digit string; grouped numbers ("612 345 678") keep presidio's score. Numbers
under six digits always need context (Luxembourg's "2021" is a valid number and a year); dates never pass.
"""

from __future__ import annotations

import re
from functools import cache

import phonenumbers
from presidio_analyzer import RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import PhoneRecognizer

MIN_BARE_DIGITS = 6
# "08.05.2014", "1.3.21": dates that phonenumbers accepts as trunk-prefixed numbers.
_DATE = re.compile(r"\d{1,2}[./]\d{1,2}[./](?:\d{2}|\d{4})")


@cache
def _trunk_prefix(country_code: int) -> str | None:
    region = phonenumbers.region_code_for_country_code(country_code)
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region, None)
    return meta.national_prefix if meta is not None else None


class EuPhoneRecognizer(PhoneRecognizer):
    BARE_SCORE = 0.3  # below the stage's 0.4 threshold until a context word adds 0.35

    def _get_recognizer_result(
        self, match: phonenumbers.PhoneNumberMatch, text: str, region: str, nlp_artifacts: NlpArtifacts
    ) -> RecognizerResult:
        result = super()._get_recognizer_result(match, text, region, nlp_artifacts)
        raw = match.raw_string.lstrip("( ")
        if _DATE.fullmatch(raw):
            result.score = 0.0  # removed by any threshold
            return result
        trunk = _trunk_prefix(match.number.country_code)
        digits = sum(ch.isdigit() for ch in raw)
        prefixed = raw.startswith(("+", "00"))
        if (
            digits < MIN_BARE_DIGITS
            or (trunk and not prefixed and not raw.startswith(trunk))
            or (not trunk and not prefixed and raw.isdigit())  # "609771859": an order number until "Tel." says
        ):
            result.score = self.BARE_SCORE
        return result
