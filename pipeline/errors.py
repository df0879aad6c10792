"""The errors Sovereign reports to its users, and how a validation error becomes one line.

A leaf module (it imports nothing from pipeline/ or stages/): stages, executors, packs and the CLI all raise
these, and the CLI prints any ``SovereignError`` as one line (exit 1), without a traceback.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError


class SovereignError(Exception):
    """An error whose message is safe to show as is: one line a user can act on, never document text or PII."""


class ConfigError(SovereignError):
    """A config (or policy file, or stage parameter) that cannot be used."""


class StageError(SovereignError):
    """An error a stage raises on purpose; its message is safe to record in the manifest."""


def _format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc[:12]:
        text = clip(str(part), 40)
        out += f"[{text}]" if isinstance(part, int) else (f".{text}" if out else text)
    return out or "(top level)"


def clip(text: str, limit: int) -> str:
    """At most `limit` characters, control characters escaped: the text came from the user's file."""
    cut = text[:limit]
    cut = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" if ord(c) < 256 else f"\\u{ord(c):04x}" for c in cut)
    return cut + ("…" if len(text) > limit else "")


def _describe(value: Any) -> str:
    """A short description of an offending value, without serialising it whole (it can be huge)."""
    if isinstance(value, dict):
        return ""
    if isinstance(value, list | tuple):
        return f" (got a list of {len(value)} items)"
    if isinstance(value, str):
        return f" (got {json.dumps(clip(value, 60), ensure_ascii=False)})"
    if value is None or isinstance(value, bool | int | float):
        return f" (got {clip(json.dumps(value, default=str), 60)})"
    return f" (got {type(value).__name__})"


MAX_PROBLEMS = 5


def format_validation_error(source: str, err: ValidationError) -> str:
    errors = err.errors(include_url=False)
    problems = [
        f"{_format_loc(tuple(e['loc']))}: {clip(e['msg'], 200)}{_describe(e.get('input'))}"
        for e in errors[:MAX_PROBLEMS]
    ]
    more = f"; and {len(errors) - MAX_PROBLEMS} more problems" if len(errors) > MAX_PROBLEMS else ""
    return f"{source}: " + "; ".join(problems) + more
