"""Which presidio recognizers exist for which entity and country, and how to build them for one language.

presidio ships most of them (several off by default); ``national.py``, ``eu_vat.py`` and ``email.py`` add
what it lacks, as PatternRecognizers that can be upstreamed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from presidio_analyzer import EntityRecognizer
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    DeFuehrerscheinRecognizer,
    DeHealthInsuranceRecognizer,
    DeIdCardRecognizer,
    DePassportRecognizer,
    DeSocialSecurityRecognizer,
    DeTaxIdRecognizer,
    DeTaxNumberRecognizer,
    DeVatIdRecognizer,
    EsNieRecognizer,
    EsNifRecognizer,
    FiPersonalIdentityCodeRecognizer,
    IbanRecognizer,
    IpRecognizer,
    ItFiscalCodeRecognizer,
    ItIdentityCardRecognizer,
    ItVatCodeRecognizer,
    NhsRecognizer,
    PlPeselRecognizer,
    SePersonnummerRecognizer,
    UkNinoRecognizer,
)

from sovereign.stages.pii.entities import DEFAULT_ENTITIES, ENTITY_COUNTRY, LANGUAGE_COUNTRIES
from sovereign.stages.pii.recognizers.email import OfflineEmailRecognizer
from sovereign.stages.pii.recognizers.eu_vat import EuVatRecognizer
from sovereign.stages.pii.recognizers.national import (
    AtSocialSecurityRecognizer,
    BeNationalNumberRecognizer,
    DkCprRecognizer,
    FrNirRecognizer,
    NlBsnRecognizer,
    PtNifRecognizer,
)
from sovereign.stages.pii.recognizers.phone import CandidatePhoneRecognizer, EuPhoneRecognizer


@dataclass(frozen=True)
class Spec:
    build: Callable[[str], EntityRecognizer]  # language -> recognizer instance
    country: str | None  # presidio country code ("uk" for the UK); None = runs for every document


def _pattern(cls: type) -> Callable[[str], EntityRecognizer]:
    return lambda lang: cls(supported_language=lang)


_RECOGNIZERS: dict[str, type] = {
    "EMAIL_ADDRESS": OfflineEmailRecognizer,
    "IP_ADDRESS": IpRecognizer,
    "IBAN_CODE": IbanRecognizer,
    "CREDIT_CARD": CreditCardRecognizer,
    "EU_VAT": EuVatRecognizer,
    "AT_SOCIAL_SECURITY": AtSocialSecurityRecognizer,
    "BE_NATIONAL_NUMBER": BeNationalNumberRecognizer,
    "DE_ID_CARD": DeIdCardRecognizer,
    "DE_PASSPORT": DePassportRecognizer,
    "DE_SOCIAL_SECURITY": DeSocialSecurityRecognizer,
    "DE_TAX_ID": DeTaxIdRecognizer,
    "DE_TAX_NUMBER": DeTaxNumberRecognizer,
    "DE_HEALTH_INSURANCE": DeHealthInsuranceRecognizer,
    "DE_FUEHRERSCHEIN": DeFuehrerscheinRecognizer,
    "DE_VAT_ID": DeVatIdRecognizer,
    "DK_CPR": DkCprRecognizer,
    "ES_NIE": EsNieRecognizer,
    "ES_NIF": EsNifRecognizer,
    "FI_PERSONAL_IDENTITY_CODE": FiPersonalIdentityCodeRecognizer,
    "FR_NIR": FrNirRecognizer,
    "IT_FISCAL_CODE": ItFiscalCodeRecognizer,
    "IT_IDENTITY_CARD": ItIdentityCardRecognizer,
    "IT_VAT_CODE": ItVatCodeRecognizer,
    "NL_BSN": NlBsnRecognizer,
    "PL_PESEL": PlPeselRecognizer,
    "PT_NIF": PtNifRecognizer,
    "SE_PERSONNUMMER": SePersonnummerRecognizer,
    "UK_NINO": UkNinoRecognizer,
    "UK_NHS": NhsRecognizer,
}

# Everything but PHONE_NUMBER (built per region by the engine) and PERSON (spaCy, optional).
CATALOGUE: dict[str, Spec] = {name: Spec(_pattern(cls), ENTITY_COUNTRY[name]) for name, cls in _RECOGNIZERS.items()}

__all__ = ["CATALOGUE", "DEFAULT_ENTITIES", "LANGUAGE_COUNTRIES", "Spec", "build_phone", "phone_region"]

# Country code (TLD / presidio style) -> phonenumbers region.
PHONE_REGION: dict[str, str] = {"uk": "GB", "gr": "GR", "el": "GR"}

# Whole words (the engine matches context words whole: "tel" must not fire on "Hotel" or "Mittel").
PHONE_CONTEXT = [
    "phone", "telephone", "mobile", "cell", "call", "fax", "tel", "telefon", "telefonnummer", "handy",
    "handynummer", "mobil", "mobilnummer", "rufnummer", "festnetz", "telefax", "téléphone", "portable", "tél",
    "teléfono", "móvil", "telefono", "cellulare", "telefoon", "telefoonnummer", "mobiel", "gsm", "telefone",
    "telemóvel", "telemovel", "puhelin", "puh", "matkapuhelin", "tlf", "telefonnr", "tfn", "mobilnr", "telefonu",
    "kom", "komórka", "τηλ", "τηλέφωνο",
]  # fmt: skip


def phone_region(country: str) -> str:
    return PHONE_REGION.get(country, country.upper())


def build_phone(
    language: str, regions: tuple[str, ...], candidates_only: bool = True, min_score: float | None = None
) -> EuPhoneRecognizer:
    """``candidates_only``: the matcher runs on its own 6+-digit candidates (the stage), skipping those that
    cannot reach ``min_score``; else on the whole text (presidio's way, the benchmark anchor)."""
    if candidates_only:
        return CandidatePhoneRecognizer(
            supported_language=language,
            supported_regions=regions,
            context=PHONE_CONTEXT,
            name=f"PhoneRecognizer[{','.join(regions)}]",
            min_score=min_score,
        )
    return EuPhoneRecognizer(
        supported_language=language,
        supported_regions=regions,
        context=PHONE_CONTEXT,
        name=f"PhoneRecognizer[{','.join(regions)}]",
    )
