"""Rights signals in a page's HTML: meta tags (tdm-reservation, robots, agent-specific robots, licence),
rel="license" links, licence-like anchors, badges and JSON-LD ``license`` values. Parsed with lxml: resiliparse
2.0.1 selects fast but each node access cost ~0.6 ms (measured: 6 s vs 0.56 s for lxml on the 105-page shared WARC)."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import lxml.etree

from sovereign.stages import html_guard
from sovereign.stages.base import StageError

# Elements worth looking at; anchors only when they point at a licence host (a page has hundreds of links).
_HOSTS = (
    "creativecommons.org",
    "govdata.de/dl-de",
    "open-government-licence",
    "licence-ouverte",
    "dati.gov.it/iodl",
    "opendatacommons.org",
    "data.norge.no/nlod",
    "dcat-ap.de/def/licenses",
)
# One C-level walk over these tags, filtered in parse_html exactly as the former XPath //meta[@name or @property] |
# //link[@href and (@rel or <host in @href>)] | //a[same] | //script[@type="application/ld+json"] | //img[<badge>]
# did; its five descendant walks and sort cost 35% of the stage (measured).
_TAGS = ("meta", "link", "a", "script", "img")
_BADGE_HOSTS = ("creativecommons.org/", "licensebuttons.net/")
_LICENCE_META = {"license", "licence", "dcterms.license", "dc.license", "dc.rights", "dcterms.rights", "copyright"}
_LICENCE_PROPS = {"cc:license", "dct:license", "dcterms:license", "license", "og:license"}


@dataclass
class LicenceLink:
    url: str
    where: str  # rel-license | meta | json-ld | link | anchor | badge
    tag: str  # a short rendering of the tag, for evidence


@dataclass
class HtmlSignals:
    metas: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # name (lower) -> contents
    licence_links: list[LicenceLink] = field(default_factory=list)


def _jsonld_licences(obj: Any, out: list[str], depth: int = 0) -> None:
    if depth > 6:
        return
    if isinstance(obj, dict):
        for key, val in obj.items():
            if key.lower() in ("license", "schema:license", "dct:license", "dcterms:license"):
                if isinstance(val, str):
                    out.append(val)
                elif isinstance(val, dict) and isinstance(val.get("@id") or val.get("url"), str):
                    out.append(val.get("@id") or val.get("url"))
                elif isinstance(val, list):
                    out.extend(v for v in val if isinstance(v, str))
            else:
                _jsonld_licences(val, out, depth + 1)
    elif isinstance(obj, list):
        for val in obj:
            _jsonld_licences(val, out, depth + 1)


def _contains_any(value: str, needles: tuple[str, ...]) -> bool:
    """XPath contains() over a few needles; a plain loop of `in` is 2x faster than a regex alternation (measured)."""
    for needle in needles:
        if needle in value:
            return True
    return False


def _parser(charset: str | None) -> lxml.etree.HTMLParser:
    # lxml.etree's parser with lxml.html's defaults: lxml.html adds only a Python element-class lookup (7% of the
    # stage, measured) for methods not used here. No id table (5% of the parse, measured): nothing looks ids up.
    try:
        return lxml.etree.HTMLParser(encoding=charset or "utf-8", collect_ids=False)
    except LookupError:
        return lxml.etree.HTMLParser(encoding="utf-8", collect_ids=False)


def _too_deep(parser: lxml.etree.HTMLParser) -> bool:
    """libxml2 stopped at its depth limit (256): everything after the deep subtree is missing from the tree."""
    return any(e.type == lxml.etree.ErrorTypes.ERR_RESOURCE_LIMIT for e in parser.error_log)


def _parse(raw: bytes, charset: str | None) -> tuple[Any, bool]:
    """(root or None, whether libxml2 stopped at its depth limit)."""
    parser = _parser(charset)
    try:
        root = lxml.etree.fromstring(raw, parser=parser)
    except (lxml.etree.ParserError, ValueError):
        return None, False  # not HTML: no signals
    return root, _too_deep(parser)


def parse_html(raw: bytes, charset: str | None = None) -> HtmlSignals:
    """The page's rights signals. Attribute floods are trimmed and nesting past libxml2's limit flattened first
    (stages/html_guard.py), so signals after a deep subtree are seen; raises StageError (the document is
    quarantined, never kept unscanned) when the page cannot be read whole even then."""
    sig = HtmlSignals()
    if html_guard.may_flood_attributes(raw):
        raw = html_guard.limit_bytes(raw)
    root, deep = _parse(raw, charset)
    if deep:
        root, deep = _parse(html_guard.limit_bytes(raw, html_guard.MAX_DEPTH), charset)
        if deep:
            raise StageError("rights: HTML nested too deep to scan for opt-out signals")
    if root is None:
        return sig  # not HTML, or an empty document (lxml.html.document_fromstring's ParserError)
    for el in root.iter(*_TAGS):
        tag = el.tag
        # The selection: meta[@name or @property], link|a[@href and (@rel or <licence host in @href>)],
        # script[@type="application/ld+json"], img[<badge host in @src>].
        if tag == "a" or tag == "link":
            href = el.get("href")
            if href is None or (el.get("rel") is None and not _contains_any(href, _HOSTS)):
                continue
        elif tag == "meta":
            if el.get("name") is None and el.get("property") is None:
                continue
        elif tag == "script":
            if el.get("type") != "application/ld+json":
                continue
        else:
            src = el.get("src")
            if src is None or not _contains_any(src, _BADGE_HOSTS):
                continue
        if tag == "meta":
            content = (el.get("content") or "").strip()
            name = (el.get("name") or "").strip().lower()
            prop = (el.get("property") or "").strip().lower()
            if name:
                sig.metas[name].append(content)
            if (name in _LICENCE_META or prop in _LICENCE_PROPS) and content:
                key = name or prop
                sig.licence_links.append(LicenceLink(content, "meta", f'<meta name="{key}" content="{content[:200]}">'))
        elif tag == "script":
            found: list[str] = []
            try:
                _jsonld_licences(json.loads(el.text or ""), found)
            except ValueError:
                continue
            sig.licence_links += [LicenceLink(u, "json-ld", f'JSON-LD "license": "{u[:200]}"') for u in found]
        elif tag == "img":
            src = (el.get("src") or "").strip()
            sig.licence_links.append(LicenceLink(src, "badge", f'<img src="{src[:200]}">'))
        else:
            href = (el.get("href") or "").strip()
            if not href:
                continue
            rels = (el.get("rel") or "").lower().split()
            where = "rel-license" if "license" in rels else ("link" if tag == "link" else "anchor")
            rel = f' rel="{el.get("rel")}"' if rels else ""
            sig.licence_links.append(LicenceLink(href, where, f'<{tag}{rel} href="{href[:200]}">'))
    return sig
