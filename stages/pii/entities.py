"""The PII entities and which documents each is searched in: plain data, importable without presidio (config
validation and the driver need the names; only a stage process that scans text loads the recognizers)."""

from __future__ import annotations

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

# Entity -> the country whose documents it is searched in (None: every document). PHONE_NUMBER is built per region
# by the engine and PERSON needs spaCy, so neither is here.
ENTITY_COUNTRY: dict[str, str | None] = {
    "EMAIL_ADDRESS": None,
    "IP_ADDRESS": None,
    "IBAN_CODE": None,
    "CREDIT_CARD": None,
    "EU_VAT": None,
    "AT_SOCIAL_SECURITY": "at",
    "BE_NATIONAL_NUMBER": "be",
    "DE_ID_CARD": "de",
    "DE_PASSPORT": "de",
    "DE_SOCIAL_SECURITY": "de",
    "DE_TAX_ID": "de",
    "DE_TAX_NUMBER": "de",
    "DE_HEALTH_INSURANCE": "de",
    "DE_FUEHRERSCHEIN": "de",
    "DE_VAT_ID": "de",
    "DK_CPR": "dk",
    "ES_NIE": "es",
    "ES_NIF": "es",
    "FI_PERSONAL_IDENTITY_CODE": "fi",
    "FR_NIR": "fr",
    "IT_FISCAL_CODE": "it",
    "IT_IDENTITY_CARD": "it",
    "IT_VAT_CODE": "it",
    "NL_BSN": "nl",
    "PL_PESEL": "pl",
    "PT_NIF": "pt",
    "SE_PERSONNUMMER": "se",
    "UK_NINO": "uk",
    "UK_NHS": "uk",
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

# The reason of a document quarantined because a detector ran out of time (its text could not be fully checked).
DETECTOR_TIMEOUT = "pii:detector-timeout"
