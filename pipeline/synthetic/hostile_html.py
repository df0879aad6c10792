"""Hostile HTML pages for the extractor and the rights scan (issue 9, findings 3 and 4). Each takes a size.

* ``nested_divs(n)``: n nested <div>s around a paragraph (quadratic in extract_plain_text before the guard).
* ``attribute_flood(n)``: one <p> with n attributes (quadratic in lexbor and libxml2 parsing).
* ``optout_after_deep_subtree(n, signal)``: a rights signal placed after n nested <div>s (libxml2 stopped at 256,
  so the signal was not seen and the page kept).
* ``optout_in_flooded_meta(n)``: a tdm-reservation meta whose name/content follow n junk attributes.
"""

from __future__ import annotations

_TEXT = "<p>" + "Dies ist ein langer Absatz mit echtem Inhalt über die Stadtentwicklung in Europa. " * 4 + "</p>"

SIGNALS = {
    "tdm-meta": '<meta name="tdm-reservation" content="1">',
    "robots-noai": '<meta name="robots" content="noai">',
    "licence-nc": '<a rel="license" href="https://creativecommons.org/licenses/by-nc/4.0/">CC BY-NC</a>',
}


def nested_divs(n: int) -> bytes:
    return f"<html><head><title>t</title></head><body>{'<div>' * n}{_TEXT}{'</div>' * n}{_TEXT}</body></html>".encode()


def attribute_flood(n: int) -> bytes:
    attrs = " ".join(f"a{i}=x" for i in range(n))
    return f"<html><head><title>t</title></head><body><p {attrs}>{_TEXT[3:]}{_TEXT}</body></html>".encode()


def optout_after_deep_subtree(n: int, signal: str = "tdm-meta") -> bytes:
    return (
        f"<html><head><title>t</title></head><body>{'<div>' * n}{_TEXT}{'</div>' * n}"
        f"{SIGNALS[signal]}{_TEXT}</body></html>"
    ).encode()


def optout_in_flooded_meta(n: int) -> bytes:
    attrs = " ".join(f"a{i}=x" for i in range(n))
    return (
        f'<html><head><meta {attrs} name="tdm-reservation" content="1"><title>t</title></head>'
        f"<body>{_TEXT}</body></html>"
    ).encode()
