"""Personal data in a document's URL: query parameters, the fragment, path segments with an '@', and userinfo.

Crawled URLs carry e-mail addresses, phone numbers and IBANs in query strings (``?mail=anna%40example.de``),
often percent-encoded. Each parameter is decoded (up to three times: double encoding hides an '@' as ``%2540``)
and scanned with the same presidio engine as the text, its key next to its value so that "tel" or "iban" counts as
a context word. Only the pieces with a detection are rewritten (decoded, detections replaced by the typed
placeholder, encoded again); scheme, host, the rest of the path and every other parameter keep their bytes, so a
URL without personal data comes out unchanged. Userinfo ("user:password@") is dropped: it is credentials.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import quote, quote_plus, unquote, unquote_plus

from sovereign.stages.pii.engine import Found

KEY_SEP = " \u00a6 "  # between key and value: no recognizer matches across it, a context word still reaches
MAX_DECODE = 3
_AUTHORITY = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*://)([^/?#]*)")
_PARAM = re.compile(r"[^&;]+")
_SAFE = "<>!$'()*,/:@~"  # placeholders stay readable; the rest is ordinary URL punctuation


@dataclass(frozen=True)
class Piece:
    """A slice of the URL to scan: url[start:end] is its raw text; ``key_len`` > 0 for a "key=value" parameter."""

    start: int
    end: int
    plus: bool  # '+' means a space (query) or itself (path, fragment)
    key_len: int = 0


def _decode(raw: str, plus: bool) -> str:
    # '+' is a space only in the first decoding; a decoded '+' is a character ("%2B49" is "+49").
    text = unquote_plus(raw) if plus else unquote(raw)
    for _ in range(MAX_DECODE - 1):
        step = unquote(text)
        if step == text:
            break
        text = step
    return text


def _encode(text: str, plus: bool) -> str:
    return quote_plus(text, safe=_SAFE) if plus else quote(text, safe=_SAFE)


def split_url(url: str) -> tuple[str, list[Piece]]:
    """The URL without userinfo, and its pieces that may hold personal data."""
    m = _AUTHORITY.match(url)
    if m and "@" in m.group(2):
        url = m.group(1) + m.group(2).rsplit("@", 1)[1] + url[m.end() :]
        m = _AUTHORITY.match(url)
    hash_at = url.find("#")
    end = hash_at if hash_at >= 0 else len(url)
    query_at = url.find("?", 0, end)
    path_end = query_at if query_at >= 0 else end
    pieces: list[Piece] = []
    path_start = m.end() if m else 0
    for seg in re.finditer(r"[^/]+", url[path_start:path_end]):
        if "@" in _decode(seg.group(), False):
            pieces.append(Piece(path_start + seg.start(), path_start + seg.end(), False))
    if query_at >= 0:
        for p in _PARAM.finditer(url, query_at + 1, end):
            eq = p.group().find("=")
            pieces.append(Piece(p.start(), p.end(), True, eq + 1 if eq > 0 else 0))
    if hash_at >= 0 and hash_at + 1 < len(url):
        pieces.append(Piece(hash_at + 1, len(url), False))
    return url, pieces


def scan_text(url: str, piece: Piece) -> tuple[str, int]:
    """The decoded text to scan for a piece, and where its value starts in it."""
    raw = url[piece.start : piece.end]
    if not piece.key_len:
        return _decode(raw, piece.plus), 0
    key = _decode(raw[: piece.key_len - 1], piece.plus)
    return key + KEY_SEP + _decode(raw[piece.key_len :], piece.plus), len(key) + len(KEY_SEP)


def rewrite(
    url: str,
    pieces: list[Piece],
    found: list[list[Found]],
    texts: list[tuple[str, int]],
    substitute: Callable[[str, list[Found]], str],
) -> str:
    """The URL with each piece that has detections replaced by its scrubbed, re-encoded text."""
    out: list[str] = []
    pos = 0
    for piece, spans, (text, value_at) in zip(pieces, found, texts, strict=True):
        if not spans:
            continue
        if value_at:
            key_len = value_at - len(KEY_SEP)
            key_spans = [f for f in spans if f.end <= key_len]
            value_spans = [
                Found(f.start - value_at, f.end - value_at, f.entity, f.score) for f in spans if f.start >= value_at
            ]
            if len(key_spans) + len(value_spans) < len(spans):  # a span across the separator: cannot happen
                new = _encode(substitute(text, spans), piece.plus)
            else:
                key = substitute(text[:key_len], key_spans) if key_spans else text[:key_len]
                value = substitute(text[value_at:], value_spans) if value_spans else text[value_at:]
                new = _encode(key, piece.plus) + "=" + _encode(value, piece.plus)
        else:
            new = _encode(substitute(text, spans), piece.plus)
        out += [url[pos : piece.start], new]
        pos = piece.end
    out.append(url[pos:])
    return "".join(out)


def scrub_urls(
    find: Callable[[list[tuple[str, str | None, str | None]]], list[list[Found]]],
    urls: list[tuple[str, str | None, str | None]],
    substitute: Callable[[str, list[Found]], str],
) -> list[str]:
    """Each (url, language, country) scrubbed, with one detector call for all their pieces."""
    split = [split_url(u) for u, _, _ in urls]
    texts = [[scan_text(u, p) for p in pieces] for u, pieces in split]
    items = [(t, lang, country) for (_, lang, country), ts in zip(urls, texts, strict=True) for t, _ in ts]
    found = find(items) if items else []
    out: list[str] = []
    k = 0
    for (u, pieces), ts in zip(split, texts, strict=True):
        out.append(rewrite(u, pieces, found[k : k + len(pieces)], ts, substitute) if pieces else u)
        k += len(pieces)
    return out


@cache
def _default_stage() -> Any:
    from sovereign.stages.pii.stage import PiiStage  # the stage imports this module

    stage = PiiStage()
    stage.ensure_setup()
    return stage


def scrub_url(url: str) -> str:
    """``url`` with personal data in its query, fragment, '@'-path segments and userinfo replaced by typed
    placeholders (the pii stage's default entities and placeholders, every recognizer, country from the TLD)."""
    return _default_stage().scrub_url_batch([{"url": url}])[0]
