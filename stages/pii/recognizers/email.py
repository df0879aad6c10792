"""E-mail addresses: presidio's recognizer with an offline public-suffix check."""

from __future__ import annotations

from functools import lru_cache

import tldextract
from presidio_analyzer.predefined_recognizers import EmailRecognizer


@lru_cache(maxsize=1)
def offline_tld_extract() -> tldextract.TLDExtract:
    # The bundled suffix snapshot: the default extractor fetches publicsuffix.org at first use.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


class OfflineEmailRecognizer(EmailRecognizer):
    """Same patterns and scores as presidio's EmailRecognizer; the domain check never touches the network and
    also accepts hosts that are themselves a multi-label public suffix ("anna@mail.pl", "x@gov.uk")."""

    def validate_result(self, pattern_text: str) -> bool:
        parts = offline_tld_extract()(pattern_text)
        return parts.fqdn != "" or "." in parts.suffix
