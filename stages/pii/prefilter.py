"""Cheap candidate scan: one compiled regex finds every place where a recognizer could fire, and only
windows around those places go to presidio.

Every supported entity contains an '@', a run of at least six digits (with the separators numbers are
written with), a dotted IPv4 address, a letters-and-digits token of seven or more characters, or two
colons (IPv6). Runs that are just a date ("12.03.2021") are skipped: no recognizer reports a date (the
phone recognizer rejects them). The windows are padded so that the whole entity and the context words
before it are inside. Phone numbers under six digits are out of scope (extensions, not personal data).
"""

from __future__ import annotations

import re

# Every branch starts with '@', a digit or ':', and the digit branches share their first \d, so the regex
# engine skips other text at C speed (a letter-led pattern scanned at ~6 MB/s; this one at ~65 MB/s).
_CANDIDATE = re.compile(
    r"@"  # e-mail
    r"|\d(?:"
    r"(?:[ \-./()]{0,2}\d){5,}"  # >= 6 digits: phones, IDs, IBAN, cards, VAT
    r"|(?<=[A-Za-z]\d)|(?=[A-Za-z])"  # a letter-digit seam: codice fiscale, NIE, ID cards, NINO
    r"|\d{0,2}\.\d{1,3}\.\d{1,3}\.\d"  # IPv4
    r")"
    r"|:[0-9A-Fa-f]{0,4}:"  # IPv6
)
_SPACE = re.compile(r"\s")
_DATE = re.compile(r"\d{1,2}\.\s?\d{1,2}\.\s?(?:19|20)\d\d|(?:19|20)\d\d-\d\d-\d\d|\d{1,2}/\d{1,2}/(?:19|20)\d\d")
_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")

LEFT_PAD = 64  # room for presidio's five context words before a match, and an e-mail's local part
RIGHT_PAD = 64  # room for entity parts after the candidate (an e-mail's domain, an IBAN's last groups)
SNAP = 32  # how far a window edge moves to reach whitespace, so no token is cut
MIN_MIXED = 7  # shortest letters+digits identifier (ES NIE/NIF, ID cards, NINO are 8-9)


def _snap_left(text: str, pos: int) -> int:
    lo = max(0, pos - SNAP)
    cut = max(text.rfind(" ", lo, pos + 1), text.rfind("\n", lo, pos + 1))
    return cut + 1 if cut >= 0 else lo


def _snap_right(text: str, pos: int) -> int:
    m = _SPACE.search(text, pos, min(len(text), pos + SNAP))
    return m.start() if m else min(len(text), pos + SNAP)


def _mixed_token_len(text: str, pos: int) -> int:
    lo = pos
    while lo > 0 and pos - lo < 24 and text[lo - 1] in _ALNUM:
        lo -= 1
    hi = pos + 1
    while hi < len(text) and hi - pos < 24 and text[hi] in _ALNUM:
        hi += 1
    return hi - lo


def candidate_windows(text: str) -> list[tuple[int, int]]:
    """Sorted, non-overlapping [start, end) windows of ``text`` that may hold PII."""
    windows: list[tuple[int, int]] = []
    n = len(text)
    for m in _CANDIDATE.finditer(text):
        s, e = m.span()
        if e - s == 1 and text[s] != "@" and _mixed_token_len(text, s) < MIN_MIXED:
            continue  # "§ 44b", "Art. 6a": a short letters+digits token is no identifier
        if e - s >= 8 and _DATE.fullmatch(text, s, e):
            continue
        lo = 0 if s <= LEFT_PAD else _snap_left(text, s - LEFT_PAD)
        hi = n if e + RIGHT_PAD >= n else _snap_right(text, e + RIGHT_PAD)
        if windows and lo <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(windows[-1][1], hi))
        else:
            windows.append((lo, hi))
    return windows
