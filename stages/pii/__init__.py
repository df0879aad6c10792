"""PII scrubbing on presidio: EU identifiers, e-mail, phone, IP, IBAN, cards (and PERSON with spaCy)."""

from stages.pii.stage import PiiStage

__all__ = ["PiiStage"]
