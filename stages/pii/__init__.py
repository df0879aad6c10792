"""PII scrubbing on presidio: EU identifiers, e-mail, phone, IP, IBAN, cards (and PERSON with spaCy)."""

from stages.pii.stage import PiiStage
from stages.pii.url import scrub_url

__all__ = ["PiiStage", "scrub_url"]
