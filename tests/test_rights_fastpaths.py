"""The rights stage's fast paths give what the slow paths they skip would: the HTML walk selects what the former
XPath selected, the from_url prefilter and the phrase gate only say "no" where the full matcher says no. Checked on
real pages (the shared WARC, dkpro, the C5 / trafilatura licence snippets) and on hand-made hard cases."""

from __future__ import annotations

import gzip
import json

import lxml.etree
import lxml.html
import pytest
from fastwarc.warc import ArchiveIterator, WarcRecordType

from sovereign.stages.rights.html import _HOSTS, parse_html
from sovereign.stages.rights.licences import LicenceMatcher
from sovereign.stages.rights.policy import load_registry
from tests.helpers.shared import shared_path

# The selection parse_html made before, with lxml.html and one XPath: the oracle for the new walk.
_HREF = " or ".join(f'contains(@href, "{h}")' for h in _HOSTS)
_OLD_XPATH = lxml.etree.XPath(
    f"//meta[@name or @property] | //link[@href and (@rel or {_HREF})] | //a[@href and (@rel or {_HREF})]"
    ' | //script[@type="application/ld+json"] | //img[contains(@src, "creativecommons.org/") or'
    ' contains(@src, "licensebuttons.net/")]'
)

HARD_HTML = [
    b"",
    b"   ",
    b"<!-- only a comment -->",
    b"\xef\xbb\xbf<html><head><META NAME='Robots' CONTENT='NoAI'></head></html>",
    b"<meta name><meta property=''><meta content='x'><META Name=' TDM-Reservation ' content=' 1 '>",
    b"<a REL='License' HREF=' https://creativecommons.org/licenses/by/4.0/ '>x</a><a href>y</a><a rel=x>z</a>",
    b"<link rel=stylesheet href=/a.css><link href='https://www.govdata.de/dl-de/by-2-0'><a href=''>e</a>",
    b"<a href='https://creativecommons.org/licenses/by/4.0/' href='https://x.example/'>dup</a>",
    b"<svg><a href='https://creativecommons.org/licenses/by-sa/4.0/'>svg</a><meta name=robots content=noai></svg>",
    b"<og:meta name=license content='https://creativecommons.org/licenses/by/4.0/'><x:a rel=license href=u>",
    b'<script type="application/ld+json">{"license": "https:\\/\\/creativecommons.org\\/licenses\\/by\\/4.0\\/"}'
    b"</script><script type=application/LD+JSON>{}</script><script type=application/ld+json>not json</script>",
    b"<img src='https://licensebuttons.net/l/by/4.0/88x31.png'><img src='//i.creativecommons.org/l/by/3.0/a.png'>",
    b"<a rel=license href='https://creative&#99;ommons.org/licenses/by/4.0/'>ref</a><a href='x&period;y'>p</a>",
    b"<textarea><a rel=license href='https://creativecommons.org/licenses/by/4.0/'></textarea>",
    "<meta name='licence' content='Datenlizenz Deutschland – Namensnennung – Version 2.0'>é".encode(
        "latin-1", "replace"
    ),
    "<html><head><meta charset=utf-16></head><a rel=license href='https://creativecommons.org/publicdomain/zero/1.0/'>"
    "</a></html>".encode("utf-16"),
]


def _old_signals(raw: bytes, charset: str | None = None) -> tuple:
    """parse_html as it was: lxml.html, the XPath, the same reading of each element."""
    from sovereign.stages.rights.html import _LICENCE_META, _LICENCE_PROPS, _jsonld_licences

    metas: dict[str, list[str]] = {}
    links: list[tuple[str, str, str]] = []
    try:
        parser = lxml.html.HTMLParser(encoding=charset or "utf-8")
    except LookupError:
        parser = lxml.html.HTMLParser(encoding="utf-8")
    try:
        root = lxml.html.document_fromstring(raw, parser=parser)
    except (lxml.etree.ParserError, ValueError):
        return [], []
    for el in _OLD_XPATH(root):
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag == "meta":
            content = (el.get("content") or "").strip()
            name = (el.get("name") or "").strip().lower()
            prop = (el.get("property") or "").strip().lower()
            if name:
                metas.setdefault(name, []).append(content)
            if (name in _LICENCE_META or prop in _LICENCE_PROPS) and content:
                links.append((content, "meta", f'<meta name="{name or prop}" content="{content[:200]}">'))
        elif tag == "script":
            found: list[str] = []
            try:
                _jsonld_licences(json.loads(el.text or ""), found)
            except ValueError:
                continue
            links += [(u, "json-ld", f'JSON-LD "license": "{u[:200]}"') for u in found]
        elif tag == "img":
            src = (el.get("src") or "").strip()
            links.append((src, "badge", f'<img src="{src[:200]}">'))
        else:
            href = (el.get("href") or "").strip()
            if not href:
                continue
            rels = (el.get("rel") or "").lower().split()
            where = "rel-license" if "license" in rels else ("link" if tag == "link" else "anchor")
            rel = f' rel="{el.get("rel")}"' if rels else ""
            links.append((href, where, f'<{tag}{rel} href="{href[:200]}">'))
    return sorted(metas.items()), links


def _signals(raw: bytes, charset: str | None = None) -> tuple:
    sig = parse_html(raw, charset)
    return sorted(sig.metas.items()), [(x.url, x.where, x.tag) for x in sig.licence_links]


def _pages() -> list[bytes]:
    pages = []
    with open(shared_path("warc", "trafilatura-dev-00.warc.gz"), "rb") as fh:
        for rec in ArchiveIterator(fh, record_types=WarcRecordType.response, parse_http=True):
            pages.append(rec.reader.read())
    pages += [p.read_bytes() for p in sorted(shared_path("conformance", "dkpro-c4corpus-license").glob("*.html"))]
    folder = shared_path("conformance", "licence")
    for name in ("c5_cc_html_cases.json", "trafilatura_license_cases.json"):
        pages += [c["html"].encode() for c in json.loads((folder / name).read_text()) if c.get("html")]
    for p in sorted(shared_path("conformance", "trafilatura-eval-pages", "html").iterdir())[:40]:
        pages.append(gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes())
    return pages


@pytest.fixture(scope="module")
def pages() -> list[bytes]:
    return _pages()


class _Unfiltered(LicenceMatcher):
    """The same matcher with its two prefilters switched off: what from_url / from_text computed before."""

    def _may_be_licence_url(self, url: str) -> bool:
        return True

    def _may_have_phrase(self, text: str) -> bool:
        return True


def test_html_signals_equal_the_xpath_version(pages):
    selected = 0
    for raw in pages:
        assert _signals(raw) == _old_signals(raw)
        selected += len(_signals(raw)[1])
    assert selected > 1000  # the pages do have rel= links, metas and licence links


def test_html_signals_equal_the_xpath_version_on_hard_cases():
    for raw in HARD_HTML:
        for charset in (None, "iso-8859-1", "windows-1250", "utf-16", "no-such-charset"):
            assert _signals(raw, charset) == _old_signals(raw, charset), (raw[:60], charset)


def test_from_url_prefilter_only_skips_non_matches(pages):
    registry = load_registry()[0]
    fast, full = LicenceMatcher(registry), _Unfiltered(registry)
    urls = [p for lic in registry.licences for p in lic.url_patterns]
    urls += [u.upper() for u in urls] + [f"  HTTP://WWW.{u}/deed.de#x " for u in urls]
    urls += ["https://i.creativecommons.org/l/by-sa/3.0/de/88x31.png", "https://licensebuttons.net/p/zero/1.0/a.png"]
    urls += ["http://publications.europa.eu/resource/authority/licence/CC_BY_4_0", "https://example.org/licenses/"]
    for raw in pages:
        urls += [x.url for x in parse_html(raw).licence_links]
    hits = 0
    for url in urls:
        got, want = fast.from_url(url), full.from_url(url)
        assert (got and (got.id, got.matched)) == (want and (want.id, want.matched)), url
        hits += want is not None
    assert hits > 50


def test_phrase_gate_only_skips_non_matches(pages):
    registry = load_registry()[0]
    fast, full = LicenceMatcher(registry), _Unfiltered(registry)
    phrases = [p for lic in registry.licences for p in lic.text_patterns]
    texts = []
    for p in phrases:
        texts += [p, p.upper(), p.title(), f"Text — {p.upper()} — « fin »", f"prefix{p.swapcase()}suffix"]
        # characters that case-insensitive re pairs with ASCII letters: Kelvin sign, long s, dotted / dotless i
        texts += [p.replace("k", "\u212a"), p.replace("s", "\u017f"), p.replace("i", "\u0130")]
    texts += [lxml.html.document_fromstring(raw).text_content() for raw in pages if raw.strip()]
    texts += ["", "ASCII only, no licence words", "Straße und Öffentlichkeit"]
    for text in texts:
        if fast._may_have_phrase(text):
            continue
        assert full.phrase_re.search(text) is None, text[:80]
        assert fast.from_text(text) is None
    matched = sum(full.phrase_re.search(t) is not None for t in texts)
    assert matched >= len(phrases) * 5


@pytest.mark.parametrize("odd", ["ı", "İ", "ſ"])
def test_phrase_with_ignorecase_twin_letters_matches_instead_of_raising(odd: str) -> None:
    """re.IGNORECASE pairs dotless i, dotted capital I and long s with ASCII letters; the matched phrase must still
    resolve to its licence (this raised KeyError before)."""
    matcher = LicenceMatcher(load_registry()[0])
    phrase = "Datenlizenz Deutschland – Namensnennung – Version 2.0"
    letter = "s" if odd == "ſ" else "i"
    text = "Die Inhalte stehen unter der " + phrase.replace(letter, odd, 1) + "."
    hit = matcher.from_text(text)
    assert hit is not None and hit.id == "DL-DE-BY-2.0"
