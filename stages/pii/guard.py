"""Fail closed when a presidio recognizer does not finish.

presidio runs every pattern with a time budget (``REGEX_TIMEOUT_SECONDS``, 60 s unless the environment says
otherwise) and, when a pattern runs out of it, logs a WARNING and goes on without that pattern's later matches:
the text is then only partly scrubbed and nothing else says so. presidio offers no other signal (no flag on the
results, no exception), so ``watch_timeouts`` counts those log records for the duration of one call, in this
thread only, and the engine turns any count into ``DetectorTimeout``: the document is quarantined, never kept.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from presidio_analyzer import analyzer_engine, pattern_recognizer
from presidio_analyzer.predefined_recognizers.generic import iban_recognizer

from sovereign.stages.base import StageError
from sovereign.stages.pii.entities import DETECTOR_TIMEOUT

PRESIDIO_LOGGER = "presidio-analyzer"
# presidio reads its budget from these module globals at call time (all three read the same variable).
_BUDGET_MODULES = (pattern_recognizer, iban_recognizer, analyzer_engine)


class DetectorTimeout(StageError):
    """A recognizer ran out of time on this text: its detections are incomplete (message holds no text)."""

    reason = DETECTOR_TIMEOUT

    def __init__(self, timeouts: int) -> None:
        super().__init__(f"{timeouts} presidio pattern run(s) timed out; detections incomplete")


class _TimeoutCounter(logging.Handler):
    """Counts presidio's 'timed out' records per thread; forwards ERROR and above as before, drops the rest
    (presidio's INFO/WARNING records are set-up chatter and stay out of run logs)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.local = threading.local()

    def count(self) -> int:
        return getattr(self.local, "count", 0)

    def reset(self) -> None:
        self.local.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        exc = record.exc_info[1] if record.exc_info else None
        # Match on the format string (never formatted with values) or the exception type presidio caught.
        if isinstance(exc, TimeoutError) or "timed out" in str(record.msg):
            self.local.count = self.count() + 1
        elif record.levelno >= logging.ERROR:
            logging.getLogger().handle(record)


_COUNTER = _TimeoutCounter()


def _install() -> None:
    log = logging.getLogger(PRESIDIO_LOGGER)
    if _COUNTER not in log.handlers:
        log.addHandler(_COUNTER)
    # WARNING must reach the handler (a logger's level filters before its handlers); nothing propagates, so run
    # logs see only what the counter forwards.
    log.setLevel(logging.WARNING)
    log.propagate = False


_install()


@contextmanager
def watch_timeouts() -> Iterator[None]:
    """Raise DetectorTimeout after the block if presidio reported a timed-out pattern during it."""
    _install()  # idempotent; survives a logging.config call made after import
    _COUNTER.reset()
    yield
    seen = _COUNTER.count()
    _COUNTER.reset()
    if seen:
        raise DetectorTimeout(seen)


def set_regex_timeout(seconds: float) -> None:
    """presidio's per-pattern budget for this process (its modules read a global at call time)."""
    for module in _BUDGET_MODULES:
        module.REGEX_TIMEOUT_SECONDS = seconds  # type: ignore[attr-defined]
