"""Linear-time limits on hostile HTML, shared by the extractor and the rights scan.

Both HTML parsers we use cost more than linear time on two shapes of input (measured, issue 9 finding 3):
lexbor (resiliparse) parses one element with n attributes in O(n^2) (10k: 0.3 s, 40k: 5 s, 160k: 152 s), and
libxml2 (lxml) likewise (160k: 48 s); resiliparse's ``extract_plain_text`` is superlinear in nesting depth
(4k nested divs: 0.3 s, 16k: 8.6 s); libxml2 stops parsing at depth 256, so signals after a deep subtree are lost.

This module rewrites such HTML before parsing, in one linear pass, only when a cheap check says it may need it:

* ``may_flood_attributes`` (a linear regex search, ~1 ns/byte, then an attribute count of the long tags it finds)
  is true for a page holding an element with more than ``FLOOD_MIN_ATTRS`` attributes: such a tag spans
  >= 2 * FLOOD_MIN_ATTRS characters. Known gap: a flood whose attributes are split by quoted values holding ">" every
  < 512 characters (``a=">" b=">" ...``) is not seen by the cheap search; a sound check (walking every tag's
  quoted values) cost 25% of extraction on real pages, so that shape is left to the per-document time budget.
* ``limit`` then keeps the first ``MAX_ATTRS`` attributes of each tag (plus the first of each rights-relevant name,
  so a flood cannot hide ``name``/``content``/``rel``/``href``), and, when ``max_depth`` is given, flattens
  elements nested deeper than that, as Blink does beyond depth 512: a too-deep start tag is emitted as an empty
  element (``<div a=1></div>``) and its end tag dropped, so its children become its siblings and no text or
  attribute is lost.

The nesting simulation is an approximation of the HTML5 tree builder (void elements, raw-text elements, comments,
optional end tags); callers re-check the real tree after parsing and fail closed when it is still too deep.
Hand-rolled because no library offers a linear, streaming HTML rewriter for Python (lxml and lexbor are the
parsers with the problem, html5lib is ~100x slower).
"""

from __future__ import annotations

import re

import numpy as np

MAX_ATTRS = 256  # attributes kept per tag; real pages stay far below (lexbor: ~0.2 ms per element at 256)
# Floods are looked for only from this size: lexbor's quadratic cost is ~12 ms for one element with 2k attributes
# (10k: 0.29 s), so smaller ones are harmless, and the longer minimum tag length (2 characters per attribute) leaves
# far fewer false candidates on real pages (inline scripts, long URLs): 0.4 -> ~0.1 ms per page, measured.
FLOOD_MIN_ATTRS = 2048
MAX_DEPTH = 200  # flattening depth: under libxml2's 256 limit, far below what slows resiliparse (1k: 20 ms)

_VOID = frozenset(
    "area base br col embed hr img input link meta param source track wbr keygen frame basefont bgsound image".split()
)
_RAW_TEXT = frozenset("script style textarea title xmp iframe noembed noframes plaintext".split())
# Elements whose start tag closes an open one of the same group (optional end tags; HTML5 8.2.5.4.7).
_SAME_GROUP = {"p": "p", "li": "li", "dt": "d", "dd": "d", "option": "option", "tr": "tr", "td": "c", "th": "c"}
# Attribute names the rights scan and the extractor read; kept beyond MAX_ATTRS (first occurrence only).
_KEEP = frozenset("name property content rel href src type http-equiv charset class id lang itemprop".split())

_LONG_TAG = re.compile(r"<[A-Za-z][^>]{" + str(2 * FLOOD_MIN_ATTRS) + ",}")
_TAG_START_B = re.compile(rb"<[A-Za-z]")
_MIN_TAG = 2 * FLOOD_MIN_ATTRS + 2  # "<", a letter, then the attributes' characters
_GT = ord(">")
# One token: comment, bogus comment / doctype, or a tag (quotes protect only in attribute values, as in HTML5).
_TOKEN = re.compile(
    r"""<!--.*?(?:-->|\Z)|<[!?/][^A-Za-z>][^>]*+>?|<[!?][^>]*+>?"""
    r"""|<(/?)([A-Za-z][^\s/>]*+)((?:[^>"'=]++|=\s*+(?:"[^"]*+"?|'[^']*+'?)|[="'])*+)(>?)""",
    re.S,
)
_ATTR = re.compile(r"""([^\s/>=][^\s/>=]*+|=[^\s/>=]*+)(?:\s*+=\s*+(?:"[^"]*+"?|'[^']*+'?|[^\s>]*+))?""")
_RAW_END = {name: re.compile(r"</" + name + r"[\s/>]", re.I) for name in _RAW_TEXT}


def may_flood_attributes(html: str | bytes) -> bool:
    """True when some tag may hold more than MAX_ATTRS attributes: a tag start followed by >= 2 * MAX_ATTRS
    characters before a ">", confirmed by counting that tag's attributes (long URLs, alt texts and minified scripts
    are long too). Bytes are checked as latin-1 text."""
    if isinstance(html, bytes):
        candidates = _long_tags_in_bytes(html)
        if not candidates:
            return False
        html = html.decode("latin-1")
    else:
        candidates = [(m.start(), m.end()) for m in _LONG_TAG.finditer(html)]  # one linear regex search
    for start, stop in candidates:
        if _separators(html, start, stop) < FLOOD_MIN_ATTRS:
            continue  # a long URL, alt text or script line, not a flood
        tag = _TOKEN.match(html, start)
        if tag is not None and tag.group(3) is not None and _count_attrs(tag.group(3)) > FLOOD_MIN_ATTRS:
            return True
    return False


def _long_tags_in_bytes(raw: bytes) -> list[tuple[int, int]]:
    """What ``_LONG_TAG.finditer`` finds, from the gaps between ">" bytes (numpy): only a gap that long can hold a
    candidate, and in it only the first tag start far enough from its end. The whole check on bytes (the rights
    scan's input) went from 0.18 to 0.13 ms per page of the trafilatura-dev WARC (130 KB pages, measured); on str
    the UTF-32 copy this needs costs what it saves, so str keeps the regex."""
    units = np.frombuffer(raw, np.uint8)
    ends = np.flatnonzero(units == _GT)
    starts = np.concatenate(([0], ends + 1))
    stops = np.concatenate((ends, [len(units)]))
    out = []
    for i in np.flatnonzero(stops - starts >= _MIN_TAG):
        start, stop = int(starts[i]), int(stops[i])
        m = _TAG_START_B.search(raw, start, stop - 2 * FLOOD_MIN_ATTRS)  # '<', a letter, >= 2 * FLOOD_MIN_ATTRS
        if m is not None:
            out.append((m.start(), stop))
    return out


def _separators(text: str, start: int = 0, end: int | None = None) -> int:
    """An upper bound on the attributes in a tag, at C speed: each after the first follows a blank, "/" or quote."""
    end = len(text) if end is None else end
    return sum(text.count(c, start, end) for c in " \t\n\r\f/\"'")


def _count_attrs(region: str) -> int:
    if len(region) < 2 * MAX_ATTRS:
        return 0
    seps = _separators(region)
    if seps < MAX_ATTRS:
        return seps
    return sum(1 for _ in _ATTR.finditer(region))


def limit_bytes(raw: bytes, max_depth: int | None = None) -> bytes:  # keeps deep tags (rights scan)
    """``limit`` on bytes of an ASCII-compatible encoding: latin-1 maps each byte to one character, so the markup
    (ASCII) is seen as it is and every other byte passes through unchanged."""
    text = raw.decode("latin-1")
    out = limit(text, max_depth)
    return raw if out is text else out.encode("latin-1")


def _trim_attrs(region: str) -> str | None:
    """The attribute region with at most MAX_ATTRS attributes (+ kept names), or None when it is under the cap."""
    if len(region) < 2 * MAX_ATTRS:
        return None
    attrs = [m.group(0) for m in _ATTR.finditer(region)]
    if len(attrs) <= MAX_ATTRS:
        return None
    kept = attrs[:MAX_ATTRS]
    seen = {_ATTR.match(a).group(1).lower() for a in kept}  # type: ignore[union-attr]
    for a in attrs[MAX_ATTRS:]:
        name = _ATTR.match(a).group(1).lower()  # type: ignore[union-attr]
        if name in _KEEP and name not in seen:
            seen.add(name)
            kept.append(a)
    return " " + " ".join(kept)


def limit(html: str, max_depth: int | None = None, keep_deep_tags: bool = True) -> str:
    """``html`` with attribute floods trimmed and, if ``max_depth`` is set, nesting flattened beyond it: too-deep
    start tags become empty elements (``keep_deep_tags``, for the rights scan, which reads their attributes) or
    are dropped (for text extraction, which is superlinear in the count of siblings at depth; their text stays).
    Linear in len(html). Returns the same object when nothing changed."""
    out: list[str] = []
    stack: list[str] = []  # open (not flattened) elements, at most max_depth
    in_stack: dict[str, int] = {}
    flattened: dict[str, int] = {}  # start tags emitted as empty elements whose end tags are still to come
    pos = 0  # end of the input copied to out
    changed = False
    i = 0
    n = len(html)
    while True:
        m = _TOKEN.search(html, i)
        if m is None:
            break
        i = m.end()
        name = m.group(2)
        if name is None:
            continue  # comment, doctype: copied as is
        name = name.lower()
        region = m.group(3)
        trimmed = _trim_attrs(region)
        replacement: str | None = None
        if m.group(1):  # end tag
            if trimmed is not None:
                replacement = f"</{m.group(2)}>"  # attributes on an end tag are ignored by parsers, not by their cost
            if max_depth is not None:
                if flattened.get(name):
                    flattened[name] -= 1
                    replacement = ""
                elif in_stack.get(name):
                    while stack:
                        top = stack.pop()
                        in_stack[top] -= 1
                        if top == name:
                            break
        else:
            if trimmed is not None:
                replacement = f"<{m.group(2)}{trimmed}{m.group(4)}"
            if name in _RAW_TEXT:
                end = _RAW_END[name].search(html, i)
                i = end.start() if end else n  # unterminated raw text runs to the end, as in HTML5
            elif max_depth is not None and name not in _VOID:
                group = _SAME_GROUP.get(name)
                if group and stack and _SAME_GROUP.get(stack[-1]) == group:
                    in_stack[stack.pop()] -= 1
                if len(stack) >= max_depth:
                    tag = replacement if replacement is not None else m.group(0)
                    closed = (tag if tag.endswith(">") else tag + ">") + f"</{m.group(2)}>"
                    replacement = closed if keep_deep_tags else ""
                    flattened[name] = flattened.get(name, 0) + 1
                else:
                    stack.append(name)
                    in_stack[name] = in_stack.get(name, 0) + 1
        if replacement is not None:
            out.append(html[pos : m.start()])
            out.append(replacement)
            pos = m.end()
            changed = True
    if not changed:
        return html
    out.append(html[pos:])
    return "".join(out)
