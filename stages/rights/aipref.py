"""AI usage preferences: IETF aipref ``Content-Usage`` (an RFC 9651 Dictionary, parsed with http-sf) and
Cloudflare's ``Content-Signal`` (``key=yes|no`` pairs, no formal spec)."""

from __future__ import annotations

from dataclasses import dataclass, field

import http_sf


@dataclass
class Preference:
    """Labels found with their value: "y" (allowed), "n" (disallowed); ``readable`` False when the statement
    could not be parsed, in which case every preference is unknown (aipref vocab, "Processing")."""

    raw: str
    readable: bool = True
    values: dict[str, str] = field(default_factory=dict)

    def disallowed(self, labels: list[str]) -> list[str]:
        return [label for label in labels if self.values.get(label) == "n"]


def parse_content_usage(value: str) -> Preference:
    raw = value.strip()[:300]
    try:
        parsed = http_sf.parse(value.strip().encode("latin-1", errors="replace"), tltype="dictionary")
    except (http_sf.StructuredFieldError, ValueError, UnicodeError):
        return Preference(raw=raw, readable=False)
    values = {}
    for key, member in parsed.items():
        item = member[0] if isinstance(member, tuple) else member
        # Only the Tokens y and n carry a preference; strings, booleans and other tokens are unknown.
        if isinstance(item, http_sf.Token) and str(item) in ("y", "n"):
            values[key] = str(item)
    return Preference(raw=raw, values=values)


def parse_content_signal(value: str) -> Preference:
    raw = value.strip()[:300]
    values = {}
    readable = False
    for part in value.split(","):
        key, sep, val = part.partition("=")
        key, val = key.strip().lower(), val.strip().lower()
        if not sep or not key:
            continue
        readable = True
        if val in ("yes", "no"):
            values[key] = "y" if val == "yes" else "n"
    return Preference(raw=raw, readable=readable, values=values)
