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

from stages.pii.recognizers.email import OfflineEmailRecognizer
from stages.pii.recognizers.eu_vat import EuVatRecognizer
from stages.pii.recognizers.national import (
    AtSocialSecurityRecognizer,
    BeNationalNumberRecognizer,
    DkCprRecognizer,
    FrNirRecognizer,
    NlBsnRecognizer,
    PtNifRecognizer,
)
from stages.pii.recognizers.phone import CandidatePhoneRecognizer, EuPhoneRecognizer


@dataclass(frozen=True)
class Spec:
    build: Callable[[str], EntityRecognizer]  # language -> recognizer instance
    country: str | None  # presidio country code ("uk" for the UK); None = runs for every document


def _pattern(cls: type) -> Callable[[str], EntityRecognizer]:
    return lambda lang: cls(supported_language=lang)


# Entities the stage looks for unless the config says otherwise.
DEFAULT_ENTITIES: tuple[str, ...] = (
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "IP_ADDRESS",
    "IBAN_CODE",
    "CREDIT_CARD",
    "EU_VAT",
    "AT_SOCIAL_SECURITY",
    "BE_NATIONAL_NUMBER",
    "DE_ID_CARD",
    "DE_PASSPORT",
    "DE_SOCIAL_SECURITY",
    "DE_TAX_ID",
    "DK_CPR",
    "ES_NIE",
    "ES_NIF",
    "FI_PERSONAL_IDENTITY_CODE",
    "FR_NIR",
    "IT_FISCAL_CODE",
    "NL_BSN",
    "PL_PESEL",
    "PT_NIF",
    "SE_PERSONNUMMER",
    "UK_NINO",
)

# Everything but PHONE_NUMBER (built per region by the engine) and PERSON (spaCy, optional).
CATALOGUE: dict[str, Spec] = {
    "EMAIL_ADDRESS": Spec(_pattern(OfflineEmailRecognizer), None),
    "IP_ADDRESS": Spec(_pattern(IpRecognizer), None),
    "IBAN_CODE": Spec(_pattern(IbanRecognizer), None),
    "CREDIT_CARD": Spec(_pattern(CreditCardRecognizer), None),
    "EU_VAT": Spec(_pattern(EuVatRecognizer), None),
    "AT_SOCIAL_SECURITY": Spec(_pattern(AtSocialSecurityRecognizer), "at"),
    "BE_NATIONAL_NUMBER": Spec(_pattern(BeNationalNumberRecognizer), "be"),
    "DE_ID_CARD": Spec(_pattern(DeIdCardRecognizer), "de"),
    "DE_PASSPORT": Spec(_pattern(DePassportRecognizer), "de"),
    "DE_SOCIAL_SECURITY": Spec(_pattern(DeSocialSecurityRecognizer), "de"),
    "DE_TAX_ID": Spec(_pattern(DeTaxIdRecognizer), "de"),
    "DE_TAX_NUMBER": Spec(_pattern(DeTaxNumberRecognizer), "de"),
    "DE_HEALTH_INSURANCE": Spec(_pattern(DeHealthInsuranceRecognizer), "de"),
    "DE_FUEHRERSCHEIN": Spec(_pattern(DeFuehrerscheinRecognizer), "de"),
    "DE_VAT_ID": Spec(_pattern(DeVatIdRecognizer), "de"),
    "DK_CPR": Spec(_pattern(DkCprRecognizer), "dk"),
    "ES_NIE": Spec(_pattern(EsNieRecognizer), "es"),
    "ES_NIF": Spec(_pattern(EsNifRecognizer), "es"),
    "FI_PERSONAL_IDENTITY_CODE": Spec(_pattern(FiPersonalIdentityCodeRecognizer), "fi"),
    "FR_NIR": Spec(_pattern(FrNirRecognizer), "fr"),
    "IT_FISCAL_CODE": Spec(_pattern(ItFiscalCodeRecognizer), "it"),
    "IT_IDENTITY_CARD": Spec(_pattern(ItIdentityCardRecognizer), "it"),
    "IT_VAT_CODE": Spec(_pattern(ItVatCodeRecognizer), "it"),
    "NL_BSN": Spec(_pattern(NlBsnRecognizer), "nl"),
    "PL_PESEL": Spec(_pattern(PlPeselRecognizer), "pl"),
    "PT_NIF": Spec(_pattern(PtNifRecognizer), "pt"),
    "SE_PERSONNUMMER": Spec(_pattern(SePersonnummerRecognizer), "se"),
    "UK_NINO": Spec(_pattern(UkNinoRecognizer), "uk"),
    "UK_NHS": Spec(_pattern(NhsRecognizer), "uk"),
}

# Countries whose identifiers appear in text of a language (national and large minority languages).
LANGUAGE_COUNTRIES: dict[str, tuple[str, ...]] = {
    "bg": ("bg",),
    "cs": ("cz",),
    "da": ("dk",),
    "de": ("de", "at", "ch", "lu", "be"),
    "el": ("gr", "cy"),
    "en": ("uk", "ie", "mt"),
    "es": ("es",),
    "et": ("ee",),
    "fi": ("fi",),
    "fr": ("fr", "be", "lu", "ch"),
    "ga": ("ie",),
    "hr": ("hr",),
    "hu": ("hu",),
    "it": ("it", "ch"),
    "lt": ("lt",),
    "lv": ("lv",),
    "mt": ("mt",),
    "nl": ("nl", "be"),
    "pl": ("pl",),
    "pt": ("pt",),
    "ro": ("ro",),
    "sk": ("sk",),
    "sl": ("si",),
    "sv": ("se", "fi"),
}

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
