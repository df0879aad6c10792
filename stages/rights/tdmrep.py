"""W3C TDM Reservation Protocol: /.well-known/tdmrep.json rules, the tdm-reservation header and meta tag.

Only the value 1 reserves, 0 does not; anything else is a protocol error and counts as unset (spec 1.1).
Location patterns follow robots.txt path rules (``*``, ``$``, percent-decoding); the first matching rule in
array order wins (spec "Technique: file at origin").

A site's file may hold hundreds of thousands of rules and is consulted for every page of the site, so rules are
indexed by their literal prefix (the pattern up to its first ``*``, or without its final ``$``): every match starts
with that prefix, so a lookup only tries the rules whose prefix is one of the path's own prefixes, in array order.
Evidence values (locations, policy URLs, header and meta values) are shaped by ``stages.rights.redact``.
"""

from __future__ import annotations

import heapq
import json
from dataclasses import dataclass
from typing import Any

from sovereign.stages.rights.redact import shape
from sovereign.stages.rights.robots import _quote_path, _quote_pattern, _URLPattern


@dataclass
class TdmValue:
    reservation: int | None  # 1, 0, or None (unset)
    policy: str | None
    source: str  # tdmrep.json | header | meta
    signal: str | dict[str, Any]  # the exact header line or meta tag; for the file, {index, rule} of the entry
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


class _Rule:
    """One entry with a location. The protego pattern is built on first use: a file of 200k rules is parsed once
    per worker, but a site's pages meet only the few rules their paths' prefixes select."""

    __slots__ = ("index", "location", "quoted", "entry", "_pattern")

    def __init__(self, index: int, location: str, entry: dict[str, Any]) -> None:
        self.index = index
        self.location = location
        self.entry = entry
        self.quoted: str = _quote_pattern(location) if _quote_pattern is not None else ""
        self._pattern: Any = None

    @property
    def pattern(self) -> Any:
        if self._pattern is None and self.quoted:
            self._pattern = _URLPattern(self.quoted)
        return self._pattern


def _literal_prefix(text: str) -> str:
    """What every path the quoted (protego) pattern matches starts with."""
    star = text.find("*")
    if star >= 0:
        return text[:star]
    return text[:-1] if text.endswith("$") else text


def _shown_reservation(value: Any) -> Any:
    """The entry's tdm-reservation as evidence: the spec's values as they are, anything else shaped."""
    if value is None or isinstance(value, bool | int | float):
        return value
    return shape(value if isinstance(value, str) else f"<{type(value).__name__}>", 40)


class TdmRepFile:
    """A parsed tdmrep.json. ``error`` is set (and no rules) when it is not a JSON array of objects."""

    def __init__(self, body: bytes | None) -> None:
        self.rules: list[_Rule] = []
        self.error: str | None = None
        self._by_prefix: dict[str, list[_Rule]] = {}  # literal prefix -> its rules in array order
        self._prefix_lengths: list[int] = []  # the distinct prefix lengths, ascending
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
                self.rules.append(_Rule(i, entry["location"], entry))
        for rule in self.rules:
            if rule.quoted:  # a pattern that quotes to nothing never matches
                self._by_prefix.setdefault(_literal_prefix(rule.quoted), []).append(rule)
        self._prefix_lengths = sorted({len(p) for p in self._by_prefix})

    def candidates(self, path: str) -> list[list[_Rule]]:
        """The rule lists (each in array order) whose prefix starts ``path``: O(distinct prefix lengths <= path)."""
        out = []
        for n in self._prefix_lengths:
            if n > len(path):
                break
            hit = self._by_prefix.get(path[:n])
            if hit:
                out.append(hit)
        return out

    def first(self, url: str) -> _Rule | None:
        """The first rule (in array order) whose location matches the URL's path (+ query): the candidate lists
        merged by array index, so the first match found is the one a scan of every rule would find."""
        path = _quote_path(url)
        for rule in heapq.merge(*self.candidates(path), key=lambda r: r.index):
            if rule.pattern.match(path):
                return rule
        return None

    def match(self, url: str) -> TdmValue | None:
        """The value of the first matching rule, or None (unset)."""
        rule = self.first(url)
        return None if rule is None else self._value(rule)

    @staticmethod
    def _value(rule: _Rule) -> TdmValue:
        entry = rule.entry
        value = reservation_value(entry.get("tdm-reservation"))
        raw_policy = entry.get("tdm-policy")
        policy = shape(raw_policy) if value == 1 and isinstance(raw_policy, str) else None
        shown: dict[str, Any] = {"location": shape(rule.location)}
        if "tdm-reservation" in entry:
            shown["tdm-reservation"] = _shown_reservation(entry["tdm-reservation"])
        if "tdm-policy" in entry:
            shown["tdm-policy"] = shape(raw_policy) if isinstance(raw_policy, str) else _shown_reservation(raw_policy)
        signal = {"index": rule.index, "rule": shown}
        return TdmValue(value, policy, "tdmrep.json", signal, valid=value is not None)


_SHOWN = 4  # repeated header or meta values quoted in evidence; the decision reads them all


def _from_values(reservations: list[str], policies: list[str], technique: str, signal: str) -> TdmValue | None:
    if not reservations:
        return None
    valid = [v for v in (reservation_value(r) for r in reservations) if v is not None]
    # Repeated values that disagree: the reservation wins (conservative; the spec does not say).
    value = 1 if 1 in valid else (valid[0] if valid else None)
    policy = shape(policies[0]) if policies and value == 1 else None
    return TdmValue(value, policy, technique, signal, valid=value is not None)


def from_header(reservations: list[str], policies: list[str]) -> TdmValue | None:
    line = "; ".join(f"tdm-reservation: {shape(v, 40)}" for v in reservations[:_SHOWN])
    line += "; …" if len(reservations) > _SHOWN else ""  # a header repeated 10k times stays a short line
    if policies:
        line += f"; tdm-policy: {shape(policies[0])}"
    return _from_values(reservations, policies, "header", line)


def from_meta(reservations: list[str], policies: list[str]) -> TdmValue | None:
    tag = " ".join(f'<meta name="tdm-reservation" content="{shape(v, 40)}">' for v in reservations[:_SHOWN])
    tag += " …" if len(reservations) > _SHOWN else ""
    if policies:
        tag += f' <meta name="tdm-policy" content="{shape(policies[0])}">'
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
