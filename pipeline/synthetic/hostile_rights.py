"""Hostile inputs for the rights stage: opt-out signals whose free-form values carry personal data, and tdmrep.json
files with very many rules.

Each generator takes a ``size`` so that tests and bench/hostile.py can grow it. The seeded values are fixed and
made up (the IBAN passes its mod-97 check), so a caller can search every output for them.
"""

from __future__ import annotations

import io
import json
import random
from dataclasses import dataclass, field

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from sovereign.pipeline.synthetic.hostile_pii import EMAIL, IBAN, PHONE

PHONE_COMPACT = PHONE.replace(" ", "")
SEEDED = (EMAIL, PHONE, PHONE_COMPACT, IBAN)

_PROSE = (
    "Die Europäische Union fördert die Zusammenarbeit zwischen den Mitgliedstaaten in vielen Bereichen. "
    "Bürgerinnen und Bürger können sich an öffentliche Stellen wenden, wenn sie Fragen zu ihren Rechten haben. "
    "Die Verwaltung veröffentlicht regelmäßig Berichte über ihre Arbeit und die Verwendung der Haushaltsmittel. "
)


@dataclass
class Page:
    url: str
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str = "text/html; charset=utf-8"
    expect: str | None = None  # the rights reason the page must be dropped with; None: kept (or a host capture)


def _html(title: str, head: str = "") -> bytes:
    return (
        f'<!doctype html><html lang="de"><head><meta charset="utf-8"><title>{title}</title>{head}</head>'
        f"<body><main><article><h1>{title}</h1><p>{_PROSE}</p><p>{_PROSE}</p></article></main></body></html>"
    ).encode()


def pii_signal_pages(size: int) -> list[Page]:
    """``size`` hosts, each with a robots.txt, a tdmrep.json and pages whose opt-out or licence values (tdm-policy
    header and meta, tdmrep.json policy URL, X-Robots-Tag, Content-Usage, Content-Signal, meta robots, a robots.txt
    Content-Usage line, licence links) carry the seeded e-mail, phone number and IBAN. Promise: every page gets the
    decision in ``expect`` and none of ``SEEDED`` is in any output file or in ``audit explain``."""
    pages: list[Page] = []
    q = f"?contact={EMAIL}&tel={PHONE_COMPACT}&iban={IBAN}"
    for h in range(size):
        host = f"https://rechte-{h}.example.eu"
        robots = f"User-agent: *\nAllow: /\nContent-Usage: /cu/ train-ai=n # Fragen an {EMAIL}, Tel. {PHONE}\n"
        tdm = [
            {"location": "/file/", "tdm-reservation": 1, "tdm-policy": f"{host}/policy.json{q}"},
            {"location": f"/iban/{IBAN}/*", "tdm-reservation": 1},
        ]
        pages += [
            Page(f"{host}/robots.txt", robots.encode(), content_type="text/plain"),
            Page(f"{host}/.well-known/tdmrep.json", json.dumps(tdm).encode(), content_type="application/json"),
            Page(
                f"{host}/header",
                _html("Header"),
                [("tdm-reservation", "1"), ("tdm-policy", f"{host}/tdm-policy{q}")],
                expect="rights:tdm-reservation-header",
            ),
            Page(
                f"{host}/meta",
                _html(
                    "Meta",
                    '<meta name="tdm-reservation" content="1">'
                    f'<meta name="tdm-policy" content="mailto:{EMAIL}?subject=TDM {PHONE}">',
                ),
                expect="rights:tdm-reservation-meta",
            ),
            Page(f"{host}/file/page", _html("File"), expect="rights:tdm-reservation-file"),
            Page(
                f"{host}/xrt",
                _html("XRT"),
                [("X-Robots-Tag", f"noai, noimageai, contact {EMAIL} tel {PHONE} iban {IBAN}")],
                expect="rights:x-robots-tag",
            ),
            Page(
                f"{host}/usage",
                _html("Usage"),
                [("Content-Usage", f'train-ai=n, contact="{EMAIL} {PHONE} {IBAN}"')],
                expect="rights:content-usage-header",
            ),
            Page(
                f"{host}/signal",
                _html("Signal"),
                [("Content-Signal", f"ai-train=no, search=yes, contact={EMAIL}, tel={PHONE}")],
                expect="rights:content-signal-header",
            ),
            Page(
                f"{host}/metarobots",
                _html("Robots", f'<meta name="robots" content="noai, {EMAIL}, {PHONE}, {IBAN}">'),
                expect="rights:meta-robots",
            ),
            Page(f"{host}/cu/page", _html("Robots CU"), expect="rights:robots-content-usage"),
            Page(
                f"{host}/licence-kept",
                _html(
                    "Licence",
                    f'<link rel="license" href="https://creativecommons.org/licenses/by/4.0/{q}">',
                ),
                [("Content-Usage", f"train-ai=(( {EMAIL} {PHONE}")],  # unreadable: quoted in the kept notes
            ),
        ]
    return pages


def warc_bytes(pages: list[Page], gzip: bool = True) -> bytes:
    """The pages as a WARC (warcio: an implementation independent of the fastwarc reader)."""
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=gzip)
    for p in pages:
        http = StatusAndHeaders("200 OK", [("Content-Type", p.content_type), *p.headers], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(p.url, "response", payload=io.BytesIO(p.body), http_headers=http))
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------------- tdmrep.json
_SEGMENTS = ("a", "b", "ab", "news", "img", "x.html", "%7E", "~", "p?q=1", "")


def random_location(rng: random.Random) -> str:
    """A location in the spec's pattern language: prefixes, '*' wildcards, a final '$', escapes and queries."""
    parts = ["/"]
    for _ in range(rng.randint(0, 3)):
        parts.append(rng.choice(_SEGMENTS))
        if rng.random() < 0.25:
            parts.append("*")
        parts.append(rng.choice(("/", "", "/")))
    loc = "".join(parts)
    if rng.random() < 0.15:
        loc += "$"
    if rng.random() < 0.05:
        loc = "*" + loc.lstrip("/")
    return loc


def random_path(rng: random.Random) -> str:
    return "/" + "/".join(rng.choice(_SEGMENTS) for _ in range(rng.randint(0, 4)))


def random_tdmrep(n: int, seed: int = 0) -> bytes:
    """``n`` random rules (reservations 0/1/invalid). Promise: the indexed lookup gives the verdict of the spec's
    linear first-match scan (``linear_match``) for every path."""
    rng = random.Random(seed)
    rules = [{"location": random_location(rng), "tdm-reservation": rng.choice((0, 1, 1, "1", "yes"))} for _ in range(n)]
    return json.dumps(rules).encode()


def many_rules_tdmrep(size: int) -> bytes:
    """``size`` rules for distinct sections, as a large site lists them (the issue's 200k rules took 0.12 s per
    page). Promise: a lookup costs about the same whatever ``size`` is."""
    rules = []
    for i in range(size):
        kind = i % 4
        loc = (f"/s{i}/", f"/s{i}/*.pdf$", f"/s{i}/page$", f"/s{i}/*/private/")[kind]
        rules.append({"location": loc, "tdm-reservation": i % 2})
    rules.append({"location": "/", "tdm-reservation": 1, "tdm-policy": "https://example.eu/policy.json"})
    return json.dumps(rules).encode()


def linear_match(body: bytes, url: str) -> int | None:
    """Reference: the array index of the first rule matching ``url``, by scanning every rule in order (the
    pre-index implementation of stages.rights.tdmrep.TdmRepFile.match)."""
    from sovereign.stages.rights.robots import _pattern, _quote_path

    path = _quote_path(url)
    for i, entry in enumerate(json.loads(body.decode("utf-8-sig"))):
        if isinstance(entry, dict) and isinstance(entry.get("location"), str) and entry["location"]:
            pattern = _pattern(entry["location"])
            if pattern is not None and pattern.match(path):
                return i
    return None
