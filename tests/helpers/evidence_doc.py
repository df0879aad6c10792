"""docs/evidence.md as data: for each reason, the evidence keys it documents, and a check of real evidence."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DOC = Path(__file__).resolve().parents[2] / "docs" / "evidence.md"
KEPT = ""  # the table's "(kept)" row: evidence of kept documents


@dataclass
class Key:
    optional: bool = False
    nested: dict[str, Key] | None = None  # None: any value; {} or more: an object with exactly those keys


@dataclass
class Reasons:
    exact: dict[str, dict[str, Key]] = field(default_factory=dict)
    patterns: list[tuple[re.Pattern[str], dict[str, Key]]] = field(default_factory=list)

    def keys_for(self, reason: str | None) -> dict[str, Key] | None:
        if (reason or KEPT) in self.exact:
            return self.exact[reason or KEPT]
        return next((keys for pattern, keys in self.patterns if pattern.fullmatch(reason or "")), None)


def _parse_keys(text: str) -> dict[str, Key]:
    """`a, b?, c{x, y?}` -> {a: Key(), b: Key(optional), c: Key(nested={x, y?})}."""
    out: dict[str, Key] = {}
    depth, start, parts = 0, 0, []
    for i, ch in enumerate(text + ","):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    for part in filter(None, parts):
        name, brace, rest = part.partition("{")
        optional = name.endswith("?") or part.endswith("?")
        nested = _parse_keys(rest.rstrip("?").removesuffix("}")) if brace else None
        out[name.rstrip("?").strip()] = Key(optional, nested)
    return out


def documented() -> Reasons:
    reasons = Reasons()
    for line in DOC.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not line.startswith("| ") or cells[0] in ("stage", "---"):
            continue
        codes = re.findall(r"`([^`]+)`", cells[1])
        keys = _parse_keys(cells[2])
        if cells[0] == "(kept)":
            reasons.exact[KEPT] = keys
        for code in codes:
            if "<" in code:
                pattern = re.escape(code.split("<")[0]) + r"[A-Za-z0-9_-]+"
                reasons.patterns.append((re.compile(pattern), keys))
            else:
                reasons.exact[code] = keys
    return reasons


def problems(evidence: Any, keys: dict[str, Key], where: str = "") -> list[str]:
    """What in ``evidence`` the documented ``keys`` do not describe (empty when it matches)."""
    if evidence is None:
        return [] if all(k.optional for k in keys.values()) else [f"{where or 'evidence'}: missing"]
    if not isinstance(evidence, dict):
        return [f"{where or 'evidence'}: not an object"]
    out = [f"{where}{k}: not documented" for k in evidence if k not in keys]
    out += [f"{where}{k}: documented but absent" for k, key in keys.items() if not key.optional and k not in evidence]
    for k, key in keys.items():
        if key.nested is not None and k in evidence:
            out += problems(evidence[k], key.nested, f"{where}{k}.")
    return out
