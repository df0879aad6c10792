"""Base for pattern recognizers whose candidates are confirmed by a python-stdnum validator.

python-stdnum implements the published check-digit and format rules of each identifier; re-implementing
them here would duplicate tested code. ``strong`` says whether a passing checksum alone is proof enough
(score 1.0, like presidio's own checksum recognizers) or, for short checksums that random numbers pass
about one time in ten, only keeps the candidate at its pattern score so that a context word must lift it
over the threshold.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import ClassVar

from presidio_analyzer import Pattern, PatternRecognizer

_SEPARATORS = re.compile(r"[\s.\-/]")


class ChecksumPatternRecognizer(PatternRecognizer):
    """Subclasses set ENTITY, COUNTRY_CODE, PATTERNS, CONTEXT, DEFAULT_LANGUAGE, STRONG and ``is_valid``."""

    ENTITY: ClassVar[str]
    COUNTRY_CODE: ClassVar[str]
    DEFAULT_LANGUAGE: ClassVar[str]
    PATTERNS: ClassVar[list[Pattern]]
    CONTEXT: ClassVar[list[str]]
    STRONG: ClassVar[bool] = True
    is_valid: ClassVar[Callable[[str], bool]]

    def __init__(
        self,
        patterns: list[Pattern] | None = None,
        context: list[str] | None = None,
        supported_language: str | None = None,
        supported_entity: str | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(
            supported_entity=supported_entity or self.ENTITY,
            patterns=patterns or self.PATTERNS,
            context=context or self.CONTEXT,
            supported_language=supported_language or self.DEFAULT_LANGUAGE,
            name=name,
        )

    def validate_result(self, pattern_text: str) -> bool | None:
        if not type(self).is_valid(_SEPARATORS.sub("", pattern_text)):
            return False
        return True if self.STRONG else None
