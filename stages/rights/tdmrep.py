"""W3C TDM Reservation Protocol: /.well-known/tdmrep.json rules, the tdm-reservation header and meta tag.

Only the value 1 reserves, 0 does not; anything else is a protocol error and counts as unset (spec 1.1).
Location patterns follow robots.txt path rules (``*``, ``$``, percent-decoding); the first matching rule in
array order wins (spec "Technique: file at origin").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from stages.rights.robots import _pattern, _quote_path


@dataclass
class TdmValue:
    reservation: int | None  # 1, 0, or None (unset)
    policy: str | None
    source: str  # tdmrep.json | header | meta
    signal: str  # the exact header line, meta tag or file entry
    valid: bool = True  # False when a value was present but not 0/1


def reservation_value(value: Any) -> int | None:
    """1 or 0 for the spec's values (number, or the strings "1"/"0" after trimming), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value in (0, 1):
        return value
    if isinstance(value, str) and value.strip() in ("0", "1"):
        return int(value.strip())
    return None


@dataclass
class _Rule:
    index: int
    location: str
    pattern: Any
    entry: dict[str, Any]


class TdmRepFile:
    """A parsed tdmrep.json. ``error`` is set (and no rules) when it is not a JSON array of objects."""

    def __init__(self, body: bytes | None) -> None:
        self.rules: list[_Rule] = []
        self.error: str | None = None
        try:
            data = json.loads((body or b"").decode("utf-8-sig"))
        except (ValueError, UnicodeDecodeError):
            self.error = "not valid JSON"
            return
        if not isinstance(data, list):
            self.error = "not a JSON array"
            return
        for i, entry in enumerate(data):
            if isinstance(entry, dict) and isinstance(entry.get("location"), str) and entry["location"]:
                self.rules.append(_Rule(i, entry["location"], _pattern(entry["location"]), entry))

    def match(self, url: str) -> TdmValue | None:
        """The first rule whose location matches the URL's path (+ query), or None (unset)."""
        path = _quote_path(url)
        for rule in self.rules:
            if rule.pattern is not None and rule.pattern.match(path):
                entry = rule.entry
                value = reservation_value(entry.get("tdm-reservation"))
                policy = entry.get("tdm-policy") if value == 1 and isinstance(entry.get("tdm-policy"), str) else None
                shown = {k: entry[k] for k in ("location", "tdm-reservation", "tdm-policy") if k in entry}
                signal = json.dumps(shown, ensure_ascii=False, sort_keys=True)[:300]
                return TdmValue(value, policy, "tdmrep.json", f"[{rule.index}] {signal}", valid=value is not None)
        return None


def _from_values(reservations: list[str], policies: list[str], technique: str, signal: str) -> TdmValue | None:
    if not reservations:
        return None
    valid = [v for v in (reservation_value(r) for r in reservations) if v is not None]
    # Repeated values that disagree: the reservation wins (conservative; the spec does not say).
    value = 1 if 1 in valid else (valid[0] if valid else None)
    policy = policies[0][:300] if policies and value == 1 else None
    return TdmValue(value, policy, technique, signal, valid=value is not None)


def from_header(reservations: list[str], policies: list[str]) -> TdmValue | None:
    line = "; ".join(f"tdm-reservation: {v[:40]}" for v in reservations)
    if policies:
        line += f"; tdm-policy: {policies[0][:200]}"
    return _from_values(reservations, policies, "header", line)


def from_meta(reservations: list[str], policies: list[str]) -> TdmValue | None:
    tag = " ".join(f'<meta name="tdm-reservation" content="{v[:40]}">' for v in reservations)
    if policies:
        tag += f' <meta name="tdm-policy" content="{policies[0][:200]}">'
    return _from_values(reservations, policies, "meta", tag)


def combine(steps: list[TdmValue | None], precedence: str) -> tuple[TdmValue | None, str]:
    """The TDMRep result over file < header < meta, and the rule that applied.

    ``spec``: each later valid value overrides; absent or invalid values keep the previous one (spec
    "Precedence"). ``any-reservation``: a 1 anywhere reserves (conservative reading)."""
    present = [s for s in steps if s is not None and s.reservation is not None]
    if not present:
        return None, "tdmrep: no valid value (unset)"
    if precedence == "any-reservation":
        reserved = [s for s in present if s.reservation == 1]
        if reserved:
            return reserved[-1], "tdmrep_precedence=any-reservation: a value 1 from any technique reserves"
        return present[-1], "tdmrep_precedence=any-reservation: no technique reserves"
    return present[-1], "tdmrep_precedence=spec: the most specific technique present wins (file < header < meta)"
