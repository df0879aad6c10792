"""Licence detection against licenses/registry.yaml: Creative Commons URLs (type, version, port), public-sector
licence URLs, phrases and aliases, and DCAT-AP catalogues that map datasets to ``dct:license``."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sovereign.stages.rights.policy import Licence, Registry

_CC = re.compile(
    r"^creativecommons\.org/(?:licenses|licences|publicdomain)/(?:([a-z][a-z0-9+-]*)/(\d+\.\d+)"
    r"(?:/([a-z]{2}|igo|scotland)(?=[/?#]|$))?)?"
)
_EU_VOCAB = re.compile(
    r"^publications\.europa\.eu/resource/authority/licence/cc_?(by(?:_nc|_nd|_sa)*|0|pdm)_(\d)_(\d)$"
)
# Licence badges: i.creativecommons.org/l/by-sa/4.0/88x31.png, licensebuttons.net/p/zero/1.0/88x31.png
_BADGE = re.compile(r"^(?:i\.creativecommons\.org|licensebuttons\.net|mirrors\.creativecommons\.org)/([lp])/")
_CC_SPDX_ID = re.compile(r"^cc[- ](by(?:[- ](?:nc|nd|sa))*|sa|pdm)[- ](\d\.\d)(?:[- ]([a-z]{2}|igo))?$", re.IGNORECASE)
_STRIP_TAIL = re.compile(r"/(?:deed\.[a-z_-]+|deed|legalcode(?:\.[a-z_-]+)?|rdf)$")
# Codes creativecommons.org has used for licences and tools; anything else is "cc-unknown".
CC_CODES = {
    "by",
    "by-sa",
    "by-nd",
    "by-nc",
    "by-nc-sa",
    "by-nc-nd",
    "by-nd-nc",
    "sa",
    "nd",
    "nc",
    "nc-sa",
    "nd-nc",
    "zero",
    "mark",
    "certification",
    "sampling",
    "sampling+",
    "nc-sampling+",
    "devnations",
    "publicdomain",
}
TRAINING_ORDER = {"yes": 0, "conditional": 1, "no": 2}
# Substrings that every URL from_url can match contains (after strip + lower), besides the registry's url patterns.
_URL_NEEDLES = ("creativecommons.org", "licensebuttons.net", "publications.europa.eu/resource/authority/licence/")
# Short keywords that cover most registry phrases; a phrase without one is anchored on its longest ASCII run.
_PHRASE_KEYWORDS = ("licen", "lizenz", "iodl", "dl-de")
# The only non-ASCII characters that a case-insensitive ``re`` match can pair with an ASCII pattern character
# (İ ı ſ and the Kelvin sign, found by trying every code point); text holding one skips the keyword gate.
_CASE_ODD = re.compile("[\u0130\u0131\u017f\u212a]")


_IGNORECASE_TWINS = str.maketrans({"İ": "i", "ı": "i", "ſ": "s", "\u212a": "k"})


def _fold(phrase: str) -> str:
    """The key a phrase match is looked up by. Python's re.IGNORECASE also matches İ, ı, ſ and the Kelvin sign
    against ASCII letters, which str.lower() alone does not map back."""
    return phrase.translate(_IGNORECASE_TWINS).lower()


@dataclass
class LicenceMatch:
    id: str  # the specific id recorded on the document, e.g. CC-BY-SA-3.0-DE
    entry: Licence  # the registry entry whose terms apply
    matched: str  # what matched: the URL, phrase or value


# A licence's conditions, as the shards' licence_conditions column names them (registry flag -> name).
LICENCE_CONDITIONS = {
    "attribution": "attribution",
    "share_alike": "share-alike",
    "non_commercial": "non-commercial",
    "no_derivatives": "no-derivatives",
}
TRAINING_UNKNOWN = "unknown"  # licence_training of a document with no licence found: the explicit "none found"


def licence_columns(match: LicenceMatch | None) -> dict[str, Any]:
    """The shard columns of a kept document's licence: the registry id (never a variant: the family of
    CC-BY-NC-ND-4.0 is CC-BY-NC-ND), the variant as detected, the registry's training class and conditions."""
    if match is None:
        return {"licence": None, "licence_spdx": None, "licence_training": TRAINING_UNKNOWN, "licence_conditions": None}
    entry = match.entry
    return {
        "licence": entry.id,
        "licence_spdx": match.id,
        "licence_training": entry.training,
        "licence_conditions": [name for flag, name in LICENCE_CONDITIONS.items() if getattr(entry, flag)],
    }


def normalise_url(url: str) -> str:
    u = url.strip().lower()
    u = re.sub(r"^[a-z]+:", "", u).lstrip("/")
    u = u.removeprefix("www.")
    u = u.split("#", 1)[0].rstrip("/")
    return _STRIP_TAIL.sub("", u).rstrip("/")


def parse_cc_url(url: str) -> tuple[str, str | None, str | None] | None:
    """(code, version, port) for a creativecommons.org licence URL; ("cc-unknown", None, None) for a CC licence
    path we cannot read; None when the URL is not a CC licence URL."""
    norm = _BADGE.sub(
        lambda b: "creativecommons.org/" + ("licenses/" if b.group(1) == "l" else "publicdomain/"), normalise_url(url)
    )
    m = _CC.match(norm)
    if not m:
        return None
    if not m.group(1) or m.group(1) not in CC_CODES:
        return ("cc-unknown", None, None)
    return (m.group(1), m.group(2), m.group(3))


class LicenceMatcher:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.by_id = {lic.id.lower(): lic for lic in registry.licences}
        self.by_cc = {lic.cc_code: lic for lic in registry.licences if lic.cc_code}
        self.by_alias = {a.lower(): lic for lic in registry.licences for a in lic.aliases}
        self.url_patterns = sorted(
            ((normalise_url(p), lic) for lic in registry.licences for p in lic.url_patterns),
            key=lambda t: -len(t[0]),  # longest pattern first: by-nc-sa before by
        )
        phrases = [(p, lic) for lic in registry.licences for p in lic.text_patterns]
        self.by_phrase = {_fold(p): lic for p, lic in phrases}
        self.phrase_re = (
            re.compile("|".join(re.escape(p) for p, _ in sorted(phrases, key=lambda t: -len(t[0]))), re.IGNORECASE)
            if phrases
            else None
        )
        self.host_defaults = {h.lower(): d for d in registry.host_defaults for h in d.hosts}
        # Cheap necessary conditions in front of from_url (called for every rel= link of a page) and the phrase
        # search (IGNORECASE alternation over the whole text): together about half of the stage before (measured).
        self.url_needles = _minimal_needles([*_URL_NEEDLES, *(p for p, _ in self.url_patterns)])
        self._url_needle_re = re.compile("|".join(re.escape(n) for n in self.url_needles))
        self.phrase_anchors = _minimal_needles([_phrase_anchor(p) for p, _ in phrases])

    def _may_be_licence_url(self, url: str) -> bool:
        """False only when from_url cannot match: every match needs a needle in the stripped, lowered URL
        (normalise_url only cuts pieces off that string)."""
        return self._url_needle_re.search(url.strip().lower()) is not None

    def _may_have_phrase(self, text: str) -> bool:
        """False only when the phrase regex cannot match. A match pairs each ASCII pattern character with an ASCII
        text character of the same lower case, or with one of _CASE_ODD; without those, each phrase's anchor
        (an ASCII run of it) appears in text.lower()."""
        if not text.isascii() and _CASE_ODD.search(text):
            return True
        low = text.lower()
        return any(a in low for a in self.phrase_anchors)

    def _cc_id(self, code: str, version: str | None, port: str | None) -> LicenceMatch | None:
        entry = self.by_cc.get(code)
        if entry is None or version is None:
            return None
        if code == "zero":
            spec = "CC0-1.0"
        elif code == "mark":
            spec = "CC-PDM-1.0"
        else:
            spec = f"CC-{code.upper()}-{version}" + (f"-{port.upper()}" if port else "")
        return LicenceMatch(spec, entry, "")

    def from_url(self, url: str) -> LicenceMatch | None:
        if not self._may_be_licence_url(url):
            return None
        cc = parse_cc_url(url)
        if cc is not None:
            m = self._cc_id(*cc)
            if m:
                m.matched = url[:300]
            return m
        norm = normalise_url(url)
        eu = _EU_VOCAB.match(norm)  # EU Publications Office licence vocabulary, e.g. .../licence/CC_BY_4_0
        if eu:
            code = {"0": "zero", "pdm": "mark"}.get(eu.group(1), eu.group(1).replace("_", "-"))
            m = self._cc_id(code, f"{eu.group(2)}.{eu.group(3)}", None)
            if m:
                m.matched = url[:300]
                return m
        for pattern, lic in self.url_patterns:
            if norm == pattern or norm.startswith(pattern + "/") or norm.startswith(pattern + "."):
                return LicenceMatch(lic.id, lic, url[:300])
        return None

    def from_value(self, value: str) -> LicenceMatch | None:
        """A licence column or catalogue value: an id, alias, URL or phrase."""
        v = value.strip()
        low = v.lower()
        if low in self.by_id:
            return LicenceMatch(self.by_id[low].id, self.by_id[low], v[:300])
        if low in self.by_alias:
            return LicenceMatch(self.by_alias[low].id, self.by_alias[low], v[:300])
        m = _CC_SPDX_ID.match(low)
        if m:
            code = "mark" if m.group(1) == "pdm" else m.group(1).replace(" ", "-")
            hit = self._cc_id(code, m.group(2), m.group(3))
            if hit:
                hit.matched = v[:300]
                return hit
        if low in ("cc0-1.0", "cc0"):
            return LicenceMatch("CC0-1.0", self.by_id["cc0-1.0"], v[:300])
        if "/" in v or "." in v:
            hit = self.from_url(v)
            if hit:
                return hit
        return self.from_text(v)

    def from_text(self, text: str) -> LicenceMatch | None:
        if self.phrase_re is None or not text or not self._may_have_phrase(text):
            return None
        m = self.phrase_re.search(text)
        if not m:
            return None
        lic = self.by_phrase[_fold(m.group(0))]
        return LicenceMatch(lic.id, lic, m.group(0))

    def host_default(self, hostname: str | None) -> tuple[str, str] | None:
        """(licence id, legal basis) when the registry gives the host (or a parent domain) a default licence."""
        host = (hostname or "").lower()
        while host:
            d = self.host_defaults.get(host)
            if d:
                return d.licence, d.basis
            host = host.partition(".")[2]
        return None

    def entry_for(self, licence_id: str) -> Licence | None:
        hit = self.from_value(licence_id)
        return hit.entry if hit else None


def _phrase_anchor(phrase: str) -> str:
    """A keyword of the phrase, else its longest run of ASCII characters (lower case); "" when it has none."""
    low = "".join(c.lower() if c.isascii() else "\0" for c in phrase)
    for kw in _PHRASE_KEYWORDS:
        if kw in low:
            return kw
    return max(low.split("\0"), key=len)


def _minimal_needles(needles: list[str]) -> tuple[str, ...]:
    """The needles not containing another one (finding the shorter one is enough); ("",) if one is empty."""
    uniq = sorted(set(needles), key=lambda n: (len(n), n))
    kept: list[str] = []
    for n in uniq:
        if not any(k in n for k in kept):
            kept.append(n)
    return tuple(kept)


def load_dcat(path: str) -> dict[str, str]:
    """DCAT-AP catalogue (JSON-LD) -> {dataset identifier: licence value}. Datasets are found by their
    ``@id``, ``dct:identifier`` and ``dcat:landingPage``; the licence is the dataset's ``dct:license`` or, failing
    that, that of its first distribution that has one."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    nodes: list[dict[str, Any]] = []

    def walk(obj: Any) -> None:
        if isinstance(obj, dict):
            nodes.append(obj)
            for v in obj.values():
                walk(v)
        elif isinstance(obj, list):
            for v in obj:
                walk(v)

    walk(data)
    by_id = {n["@id"]: n for n in nodes if isinstance(n.get("@id"), str)}

    def get(node: dict[str, Any], *keys: str) -> list[Any]:
        out: list[Any] = []
        for k in keys:
            v = node.get(k)
            out.extend(v if isinstance(v, list) else ([] if v is None else [v]))
        return out

    def text(v: Any) -> str | None:
        if isinstance(v, str):
            return v
        if isinstance(v, dict):
            ref = v.get("@id") or v.get("@value")
            return ref if isinstance(ref, str) else None
        return None

    lic_keys = ("dct:license", "dcterms:license", "license", "http://purl.org/dc/terms/license")
    out: dict[str, str] = {}
    for node in nodes:
        types = get(node, "@type")
        if not any(isinstance(t, str) and t.split(":")[-1].split("#")[-1] == "Dataset" for t in types):
            continue
        lic = next((t for t in (text(v) for v in get(node, *lic_keys)) if t), None)
        if lic is None:
            for dist in get(node, "dcat:distribution", "distribution"):
                dnode = by_id.get(dist.get("@id"), dist) if isinstance(dist, dict) else by_id.get(dist, {})
                lic = next((t for t in (text(v) for v in get(dnode, *lic_keys)) if t), None)
                if lic:
                    break
        if lic is None:
            continue
        keys = [node.get("@id")] + get(node, "dct:identifier", "identifier", "dcat:landingPage", "landingPage")
        for k in keys:
            k = text(k)
            if k:
                out[k] = lic
    return out
