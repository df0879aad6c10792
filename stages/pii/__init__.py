"""PII scrubbing on presidio: EU identifiers, e-mail, phone, IP, IBAN, cards (and PERSON with spaCy)."""

from sovereign.stages.pii.stage import PiiStage


def scrub_url(url: str) -> str:
    """``url`` with personal data in its query, fragment, '@'-path segments and userinfo replaced by typed
    placeholders (stages.pii.url.scrub_url; presidio loads on the first call)."""
    from sovereign.stages.pii.url import scrub_url as scrub

    return scrub(url)


__all__ = ["PiiStage", "scrub_url"]
