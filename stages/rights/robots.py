"""robots.txt (RFC 9309) read from a capture: protego evaluates the rules; this module adds what RFC 9309 asks of
the caller (status codes, the 500 KiB limit, UTF-8 decoding) and reports which group and rule decided.
Content-Usage (IETF AI preferences) and Content-Signal lines, which protego skips, are read here too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from protego import Protego

from sovereign.stages.rights.aipref import Preference, parse_content_signal, parse_content_usage

try:  # protego internals, to name the deciding rule in evidence; the decision itself is protego's can_fetch
    from protego._urlpattern import _URLPattern
    from protego._utils import _quote_path, _quote_pattern
except ImportError:  # pragma: no cover - a protego without them still decides, with less evidence
    _quote_path = _quote_pattern = _URLPattern = None  # type: ignore[assignment]


@dataclass
class RobotsVerdict:
    allowed: bool
    agent: str
    group: str | None = None  # the user-agent line of the group that applied ("*" or a token)
    rule: str | None = None  # e.g. "disallow: /private/"

    def evidence(self) -> dict[str, Any]:
        return {"agent": self.agent, "group": self.group, "rule": self.rule}


@dataclass
class _UsageRule:
    path: str  # "/" when the line has no path
    pattern: Any
    pref: Preference
    line: str


@dataclass
class _Group:
    agents: list[str] = field(default_factory=list)  # lower-case
    usage: list[_UsageRule] = field(default_factory=list)
    signal: list[_UsageRule] = field(default_factory=list)


_UA_LINE = re.compile(r"^\s*user[- ]?agent\s*:\s*(.*)$", re.IGNORECASE)
_EXT_LINE = re.compile(r"^\s*(content-usage|content-signal)\s*:\s*(.*)$", re.IGNORECASE)
_RULE_LINE = re.compile(r"^\s*[A-Za-z-]+\s*:")
# A user-agent value is one product token; Google's reference parser (and its RFC 9309 tests) read "FOO BAR" as
# "FOO". protego would look for the whole string, so cut the value at the first blank before parsing.
_UA_VALUE = re.compile(r"^([ \t]*user-?agent[ \t]*:[ \t]*[^\s#]+)[ \t]+[^#\r\n]*", re.IGNORECASE | re.MULTILINE)


def _pattern(path: str) -> Any:
    if _URLPattern is None:
        return None
    quoted = _quote_pattern(path)
    return _URLPattern(quoted) if quoted else None


class RobotsFile:
    """One parsed robots.txt body. Construct once per capture; evaluate per document."""

    def __init__(self, text: str) -> None:
        self.parser = Protego.parse(_UA_VALUE.sub(r"\1", text) if "gent" in text else text)
        self.groups = self._extension_groups(text)
        self._group_cache: dict[str, list[_Group]] = {}

    @staticmethod
    def _extension_groups(text: str) -> list[_Group]:
        # protego ignores Content-Usage / Content-Signal, so group them ourselves with RFC 9309's grouping rule:
        # consecutive user-agent lines open a group; a user-agent line after a rule line opens the next.
        groups: list[_Group] = []
        cur: _Group | None = None
        last_was_ua = False
        for raw in text.splitlines():
            m = _EXT_LINE.match(raw)
            if m and cur is not None:
                value = m.group(2).split("#", 1)[0].strip()  # the value ends at "#" (attach draft ABNF)
                path = "/"
                if value.startswith("/"):
                    path, _, value = value.partition(" ")
                    path, value = path.strip(), value.strip()
                is_usage = m.group(1).lower() == "content-usage"
                pref = parse_content_usage(value) if is_usage else parse_content_signal(value)
                rule = _UsageRule(path=path, pattern=_pattern(path), pref=pref, line=f"{m.group(1)}: {m.group(2)}")
                (cur.usage if is_usage else cur.signal).append(rule)
                last_was_ua = False
                continue
            line = raw.split("#", 1)[0]
            m = _UA_LINE.match(line)
            if m:
                if cur is None or not last_was_ua:
                    cur = _Group()
                    groups.append(cur)
                cur.agents.append(m.group(1).strip().lower())
                last_was_ua = True
            elif _RULE_LINE.match(line):
                last_was_ua = False
        return groups

    def decide(self, url: str, agent: str) -> RobotsVerdict:
        allowed = self.parser.can_fetch(url, agent)
        verdict = RobotsVerdict(allowed=allowed, agent=agent)
        try:
            rule_set = self.parser._get_matching_rule_set(agent)
        except AttributeError:  # pragma: no cover - protego changed its internals
            return verdict
        if rule_set is None:
            return verdict
        verdict.group = rule_set.user_agent
        if not allowed and _quote_path is not None:  # name the rule only for refusals (the evidence of a drop)
            quoted = _quote_path(url)
            for rule in rule_set._rules:
                if rule.value.match(quoted):
                    verdict.rule = f"{rule.field}: {rule.value._pattern}"[:300]
                    break
        return verdict

    def _group_for(self, agent: str) -> list[_Group]:
        token = agent.lower()
        if token not in self._group_cache:
            specific = [g for g in self.groups if token != "*" and token in g.agents]
            self._group_cache[token] = specific or [g for g in self.groups if "*" in g.agents]
        return self._group_cache[token]

    def preferences(self, url: str, agent: str, kind: str) -> list[tuple[_UsageRule, Preference]]:
        """Content-Usage (kind "usage") or Content-Signal ("signal") rules for the agent that apply to the URL:
        the longest matching path wins; rules with the same path are all returned (most restrictive combines)."""
        groups = self._group_for(agent)
        if _quote_path is None or not any(g.usage or g.signal for g in groups):
            return []
        quoted = _quote_path(url)
        matches: list[_UsageRule] = []
        for group in groups:
            for rule in group.usage if kind == "usage" else group.signal:
                if rule.pattern is not None and rule.pattern.match(quoted):
                    matches.append(rule)
        if not matches:
            return []
        best = max(r.pattern.priority for r in matches)
        return [(r, r.pref) for r in matches if r.pattern.priority == best]


def decode_robots(body: bytes | None, max_bytes: int) -> str | None:
    """UTF-8 text of the first ``max_bytes`` (RFC 9309 2.3, 2.5); None when it is not text at all."""
    data = (body or b"")[:max_bytes]
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"\x00" in data[:1024]:
        return None  # binary (e.g. a gzip body saved undecoded): unreadable, not "no rules"
    return data.decode("utf-8", errors="replace")
