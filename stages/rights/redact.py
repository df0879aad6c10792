"""Evidence values without personal data: what the rights stage may quote from a page, a header or a host capture.

The manifest schema says evidence never holds personal data, yet the values a site sends are free-form: a
``tdm-policy`` URL, a meta content, an X-Robots-Tag line or a licence link can carry an e-mail address, a phone
number or an IBAN (``?contact=anna%40example.de``). Design:

- The tokens a decision rests on are recorded as separate, normalised fields by the stage and are not touched here:
  directives (``noai``), aipref labels (``train-ai``), the reservation value (1/0), the licence id, the agent.
- Every free-form value goes through ``shape``: a bounded preview, percent-decoded, with every piece that can be
  personal data replaced by ``<redacted>``: URL userinfo, URL query and fragment (parameters are where crawled URLs
  carry personal data), any word with an ``@`` (e-mail addresses, ``mailto:``) and any run of 5 or more digits,
  separators allowed (phone numbers, IBANs, card and national numbers). Names cannot be found this way; the preview
  is bounded so that what a page can smuggle into the manifest stays small.
- When the preview differs from the value (redacted, decoded or cut), ``[sha256:<16 hex>]`` of the exact value is
  appended, so a reviewer can match it against the crawl without the manifest holding it. A value with none of
  the above is kept as it is, so the evidence of ordinary pages (and their manifest bytes) does not change.

Hand-rolled rather than presidio (``stages.pii.scrub_url``): that loads the PII engine (seconds, hundreds of MB) into
every rights worker and decides per entity; here over-redacting is harmless, and a structural mask that needs no
model is linear in the (bounded) value and cannot miss an e-mail for a failed recogniser.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import unquote

REDACTED = "<redacted>"
LIMIT = 200  # characters of preview, as the stage's former [:200] cuts
_WINDOW = 2 * LIMIT  # characters of the value looked at; the rest is never shown
_MIN_DIGITS = 5  # digits in a run from which it is masked ("4.0", "2025" stay; a phone number or IBAN goes)

# Each pattern has no nested ambiguity (separators and digits are disjoint) and runs on at most _WINDOW characters.
_USERINFO = re.compile(r"(?<=//)[^/\s@\"'<>]*@")
_URL_TAIL = re.compile(r"[?#][^\s\"'<>]*")
_AT_WORD = re.compile(r"[^\s,;\"'<>()\[\]{}]*@[^\s,;\"'<>()\[\]{}]*")
_DIGIT_RUN = re.compile(r"\+?\d(?:[\s().\-/]{0,3}\d)*")
_PARTIAL_TAIL = re.compile(r"[^\s,;\"'<>]*$")  # the word a cut went through: it may be half an identifier
# Anything mask() or decoding could change: one search lets ordinary values (most evidence) through at ~1 us.
_TRIGGER = re.compile(r"[@?#%]|(?:\d[\s().\-/]{0,3}){4}\d")


def digest(value: str) -> str:
    """``sha256:`` and the first 16 hex digits of the value's UTF-8 bytes (as the crawl holds them)."""
    return "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _decode(text: str) -> str:
    """Percent-decoded up to three times: double encoding hides an '@' as %2540."""
    for _ in range(3):
        step = unquote(text, errors="replace")
        if step == text:
            break
        text = step
    return text


def _digits(m: re.Match[str]) -> str:
    run = m.group(0)
    return REDACTED if sum(c.isdigit() for c in run) >= _MIN_DIGITS else run


def _tail(m: re.Match[str]) -> str:
    tail = m.group(0)
    return tail if len(tail) == 1 else tail[0] + REDACTED  # a bare "?" (or one before "<redacted>") stays


def mask(text: str) -> str:
    """``text`` with the pieces that may be personal data replaced by ``<redacted>`` (no cut, no digest)."""
    text = _USERINFO.sub("", text)
    text = _URL_TAIL.sub(_tail, text)
    text = _AT_WORD.sub(REDACTED, text)
    return _DIGIT_RUN.sub(_digits, text)


def shape(value: str | None, limit: int = LIMIT) -> str | None:
    """The preview of a free-form value for evidence (see the module docstring); None stays None."""
    if value is None:
        return None
    value = str(value)
    if len(value) <= limit and _TRIGGER.search(value) is None:
        return value
    text = value
    if len(text) > _WINDOW:
        text = _PARTIAL_TAIL.sub("", text[:_WINDOW]) + "…"
    # Query and fragment go before decoding too: an encoded space (%20) would end them early once decoded.
    text = mask(_decode(_URL_TAIL.sub(_tail, _USERINFO.sub("", text))))
    if len(text) > limit:
        text = text[:limit] + "…"
    if text != value:
        text = f"{text} [{digest(value)}]"
    return text


def shape_all(values: list[str], limit: int = LIMIT) -> list[str]:
    return [shape(v, limit) or "" for v in values]
