"""extract: HTTP bodies (HTML) -> main-content plain text.

Engines: ``resiliparse`` (default: resiliparse main-content extraction plus our boilerplate cleaner, see
stages/boilerplate.py) and ``trafilatura`` (precision mode; slower, kept for comparison and as a fallback
choice). Documents that already carry text (JSONL/Parquet inputs) pass through untouched.
"""

from __future__ import annotations

import codecs
from typing import Any, ClassVar, Literal

from pydantic import Field
from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.encoding import bytes_to_str, detect_encoding, map_encoding_to_html5
from resiliparse.parse.html import HTMLTree

from sovereign.stages import boilerplate, html_guard
from sovereign.stages.base import DocumentStage, Drop, StageParams
from sovereign.stages.registry import register

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", "application/vnd.wap.xhtml+xml"})
TEXT_TYPES = frozenset({"text/plain"})
# Magic numbers of binary payloads sometimes served without (or with a wrong) Content-Type.
_BINARY_MAGIC = (b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"PK\x03\x04", b"\x1f\x8b", b"RIFF", b"\x00\x00\x01")
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_BE, "utf-16-be"), (codecs.BOM_UTF16_LE, "utf-16-le"))


def media_type(content_type: str | None) -> tuple[str | None, str | None]:
    """(media type, charset parameter) of a Content-Type header value, lower-cased."""
    if not content_type:
        return None, None
    parts = content_type.split(";")
    charset = None
    for param in parts[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip("\"'") or None
    return parts[0].strip().lower() or None, charset


def _usable(raw: bytes, label: str | None) -> str | None:
    """The Python codec for a declared charset if the body really decodes with it, else None."""
    if not label:
        return None
    name = map_encoding_to_html5(label)  # WHATWG labels: latin1 -> cp1252, etc.; None for unknown labels
    if not name:
        return None
    # A UTF-16/32 declaration on a body without NUL bytes is wrong: ASCII markup would encode with NULs.
    if name.startswith(("utf-16", "utf-32")) and b"\x00" not in raw[:4096]:
        return None
    try:
        raw.decode(name)
    except LookupError:
        return None
    except UnicodeDecodeError:
        # A UTF-8 page with a few broken sequences is still UTF-8 (browsers honour the header and replace them);
        # many broken sequences mean a wrong declaration (e.g. a Latin-1 page labelled UTF-8): detect instead.
        if name != "utf-8" or raw.decode("utf-8", errors="replace").count("\ufffd") > len(raw) // 100:
            return None
    return name


def decode(raw: bytes, declared: str | None) -> tuple[str, str]:
    """(text, encoding used). Order as browsers do: BOM, the HTTP charset if the bytes agree with it, the HTML
    meta charset, then uchardet's guess. Never raises on bad bytes: they become U+FFFD."""
    for bom, name in _BOMS:
        if raw.startswith(bom):
            return raw[len(bom) :].decode(name, errors="replace"), name
    name = _usable(raw, declared) or detect_encoding(raw, from_html_meta=True)
    if name.startswith(("utf-16", "utf-32")) and b"\x00" not in raw[:4096]:  # a meta tag read as ASCII
        name = "utf-8"  # cannot be right about UTF-16 (WHATWG: treat it as UTF-8)
    try:
        # Python's codec with replacement: resiliparse's bytes_to_str would fall back to other encodings on the
        # first bad byte and turn a UTF-8 page with one broken sequence into mojibake.
        return raw.decode(name, errors="replace"), name
    except LookupError:
        return bytes_to_str(raw, name, errors="replace"), name


def looks_binary(raw: bytes) -> bool:
    head = raw[:1024]
    return head.startswith(_BINARY_MAGIC) or head.count(b"\x00") > len(head) // 10


def resiliparse_text(tree: HTMLTree, clean: bool = True) -> str:
    if not clean:
        return extract_plain_text(tree, main_content=True)
    markup = extract_plain_text(
        tree,
        main_content=True,
        comments=False,  # comment threads and bylines are the largest share of boilerplate left otherwise
        post_meta=False,
        alt_texts=False,
        list_bullets=False,
        preserve_formatting="minimal_html",  # keeps <a>/<h*>/<li> so the cleaner sees link density per block
        links=True,
        skip_elements=boilerplate.SKIP_SELECTORS,
    )
    return boilerplate.clean(markup)


# Depth at which a parsed page is flattened before extraction: extract_plain_text is superlinear in depth (4k nested
# divs: 0.3 s, 16k: 8.6 s, measured) and Blink itself stops nesting at 512. One lexbor selector checks it (~1 ms).
# It runs only on pages with more than DEEP_CHECK_MIN_TAGS '<': below that even fully nested markup extracts in
# under 0.5 s (4k nested divs: 0.4 s), far inside the per-document budget. At 2,000 the check ran on 21% of real
# pages and cost ~6% of extraction; at 4,096 it runs on 2% (trafilatura-dev WARC, measured).
_DEEP = " > ".join(["*"] * 512)
DEEP_CHECK_MIN_TAGS = 4096


def safe_tree(html: str) -> tuple[str, HTMLTree | None]:
    """(html, its lexbor tree) with attribute floods trimmed and nesting beyond 512 flattened (html_guard); the
    tree is None when the page is still too deep after flattening (the caller fails closed). Pages within the
    limits come back as they are."""
    if html_guard.may_flood_attributes(html):
        html = html_guard.limit(html)
    tree = HTMLTree.parse(html)
    if html.count("<") < DEEP_CHECK_MIN_TAGS or tree.document is None or tree.document.query_selector(_DEEP) is None:
        return html, tree
    html = html_guard.limit(html, html_guard.MAX_DEPTH, keep_deep_tags=False)
    tree = HTMLTree.parse(html)
    return html, (tree if tree.document.query_selector(_DEEP) is None else None)


def trafilatura_text(html: str) -> str:
    import trafilatura  # imported lazily: ~0.5 s and lxml, only for runs that choose this engine

    return trafilatura.extract(html, favor_precision=True, include_comments=False, deduplicate=False) or ""


@register
class ExtractStage(DocumentStage):
    name: ClassVar[str] = "extract"
    version: ClassVar[str] = "1"
    reasons: ClassVar[dict[str, str]] = {
        "extract:empty": "no text, or less than min_chars of it, after extraction",
        "extract:unsupported-content-type": "the body is not HTML or plain text (e.g. a PDF or an image)",
        "extract:html-too-deep": "HTML nested deeper than the guard can flatten (hostile input)",
    }

    class Params(StageParams):
        engine: Literal["resiliparse", "trafilatura"] = "resiliparse"
        min_chars: int = Field(50, ge=0, description="drop documents whose extracted text is shorter")
        boilerplate: bool = Field(True, description="resiliparse engine: run the boilerplate-line cleaner")
        plain_text: bool = Field(True, description="keep text/plain bodies as they are (decoded)")

    def apply(self, doc: dict[str, Any]) -> dict[str, Any] | Drop:
        raw = doc.get("_raw")
        if raw is None:
            if doc.get("text") is None:
                return Drop("extract:empty", {"chars": 0})
            return {}  # text inputs (JSONL/Parquet) are already extracted
        mtype, header_charset = media_type(doc.get("_content_type"))
        plain = mtype in TEXT_TYPES and self.params.plain_text
        if (mtype is not None and mtype not in HTML_TYPES and not plain) or looks_binary(raw):
            return Drop("extract:unsupported-content-type", {"content_type": (mtype or "unknown")[:100]})
        html, _ = decode(raw, doc.get("_charset") or header_charset)
        if plain:
            text = html.strip()
        else:
            html, tree = safe_tree(html)
            if tree is None:  # nesting the guard could not flatten: never extract it at superlinear cost
                return Drop("extract:html-too-deep", {"max_depth": 512})
            if self.params.engine == "trafilatura":
                text = trafilatura_text(html)  # lxml under trafilatura has the same limits: the guarded page
            else:
                text = resiliparse_text(tree, clean=self.params.boilerplate)
        chars = len(text.strip())
        if chars < self.params.min_chars:
            return Drop("extract:empty", {"chars": chars})
        return {"text": text}
