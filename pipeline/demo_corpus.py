"""A deterministic synthetic European web crawl for ``sovereign demo`` and for tests of every stage.

``generate_demo_corpus(out_dir, seed, pages)`` writes a few WARC.gz files (one gzip member per record, gzip mtime
0, fixed WARC-Dates, record ids derived from the seed): HTML pages in 14 EU languages assembled from the sentence
banks in ``pipeline/demo_data/``, with boilerplate (cookie banner, nav, sidebar, footer), exact and near
duplicates, low-quality pages, synthetic PII with valid checksums, every kind of rights signal the rights stage
reads, robots.txt and tdmrep.json captures, and a few malformed records. ``demo_expectations()`` says what was
planted where, so tests of later stages can assert against it. All names, hosts and numbers are fictional.
"""

from __future__ import annotations

import base64
import copy
import gzip
import hashlib
import json
import random
import re
import struct
import unicodedata
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import yaml

DEFAULT_SEED = 20261123
DEFAULT_PAGES = 400
MIN_PAGES = 150
N_FILES = 4
FILE_PATTERN = "sovereign-demo-{:05d}.warc.gz"
DATA_DIR = Path(__file__).resolve().parent / "demo_data"
LANGUAGES = ("de", "fr", "es", "it", "pl", "nl", "pt", "sv", "el", "cs", "fi", "hu", "bg", "en")
CRAWL_START = datetime(2026, 3, 2, 6, 0, 0, tzinfo=UTC)
USER_AGENT = "SovereignDemoBot/1.0 (+https://sovereign.invalid/bot; synthetic crawl)"
_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://sovereign.invalid/demo-corpus")

# Licence links planted (id -> URL). Ids are SPDX where one exists; the Public Domain Mark has none.
LICENCE_URLS: dict[str, str] = {
    "CC-BY-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "CC-BY-SA-4.0": "https://creativecommons.org/licenses/by-sa/4.0/",
    "CC-BY-NC-ND-4.0": "https://creativecommons.org/licenses/by-nc-nd/4.0/",
    "CC0-1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
    "CC-PDM-1.0": "https://creativecommons.org/publicdomain/mark/1.0/",
    "DL-DE-BY-2.0": "https://www.govdata.de/dl-de/by-2-0",
    "etalab-2.0": "https://www.etalab.gouv.fr/licence-ouverte-open-licence",
    "OGL-UK-3.0": "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
}
LICENCE_LABELS: dict[str, str] = {
    "CC-BY-4.0": "CC BY 4.0",
    "CC-BY-SA-4.0": "CC BY-SA 4.0",
    "CC-BY-NC-ND-4.0": "CC BY-NC-ND 4.0",
    "CC0-1.0": "CC0 1.0",
    "CC-PDM-1.0": "Public Domain Mark 1.0",
    "DL-DE-BY-2.0": "Datenlizenz Deutschland – Namensnennung – Version 2.0",
    "etalab-2.0": "Licence Ouverte / Open Licence version 2.0",
    "OGL-UK-3.0": "Open Government Licence v3.0",
}
PAGE_LICENCES = ("CC-BY-4.0", "CC-BY-SA-4.0", "CC-BY-NC-ND-4.0", "CC0-1.0", "CC-PDM-1.0")


# ---------------------------------------------------------------------------------------------- hosts


@dataclass(frozen=True)
class Host:
    origin: str
    lang: str
    name: str
    weight: int  # share of the ordinary articles
    sections: tuple[str, ...]
    robots: str | None  # robots.txt body for a 200 capture; None: see robots_status
    robots_status: int | None = 200  # None: no robots.txt capture at all
    robots_rules: tuple[tuple[str, str], ...] = ()  # (agent, path prefix) disallows, for the expectations
    content_usage: tuple[tuple[str, str], ...] = ()  # (path prefix, preference) from robots.txt
    content_signal: str | None = None  # Cloudflare Content-Signal line in robots.txt (whole host)
    tdmrep: list[dict[str, Any]] | None = None  # /.well-known/tdmrep.json body (200)
    tdmrep_status: int | None = None  # capture status when no body (e.g. 404)
    site_licence: str | None = None  # licence linked from every page's footer
    neutral: bool = True  # no host-level opt-out: page-level signals, dups and PII go here

    @property
    def host(self) -> str:
        return self.origin.split("://", 1)[1]


_ROBOTS_PLAIN = "User-agent: *\nDisallow: /admin/\nDisallow: /suche\n\nSitemap: {origin}/sitemap.xml\n"

HOSTS: tuple[Host, ...] = (
    Host(
        "https://www.lindenau.de", "de", "Stadt Lindenau", 5, ("aktuelles", "buergerservice", "presse"),
        "# robots.txt der Stadt Lindenau\nUser-agent: *\nDisallow: /intern/\nDisallow: /suche\n\n"
        "User-agent: GPTBot\nDisallow: /presse/\n\nSitemap: https://www.lindenau.de/sitemap.xml\n",
        robots_rules=(("GPTBot", "/presse/"), ("*", "/intern/")), tdmrep_status=404, site_licence="DL-DE-BY-2.0",
    ),
    Host("https://www.kreis-hohenfeld.de", "de", "Landkreis Hohenfeld", 2, ("themen", "service"), None, 404),
    Host(
        "https://www.oberland-kurier.de", "de", "Oberland-Kurier", 1, ("lokales", "region"),
        "User-agent: GPTBot\nUser-agent: ClaudeBot\nUser-agent: Google-Extended\nUser-agent: CCBot\nDisallow: /\n\n"
        "User-agent: *\nAllow: /\n",
        robots_rules=(("GPTBot", "/"), ("ClaudeBot", "/"), ("Google-Extended", "/"), ("CCBot", "/")),
        tdmrep=[{"location": "/", "tdm-reservation": 1, "tdm-policy": "https://www.oberland-kurier.de/tdm-policy.json"}],
        neutral=False,
    ),
    Host(
        "https://www.ville-montclair.fr", "fr", "Ville de Montclair", 4, ("actualites", "demarches", "archives"),
        "User-agent: *\nDisallow: /archives/\nDisallow: /recherche\n\nSitemap: https://www.ville-montclair.fr/sitemap.xml\n",
        robots_rules=(("*", "/archives/"),), site_licence="etalab-2.0",
    ),
    Host(
        "https://www.echo-du-vercors.fr", "fr", "L'Écho du Vercors", 2, ("articles", "agenda"),
        "User-agent: *\nDisallow: /abonnes/\n",
        tdmrep=[
            {"location": "/articles/*", "tdm-reservation": 1, "tdm-policy": "https://www.echo-du-vercors.fr/tdm/policy.json"},
            {"location": "/", "tdm-reservation": 0},
        ],
        neutral=False,
    ),
    Host(
        "https://www.villaverde-del-rio.es", "es", "Ayuntamiento de Villaverde del Río", 3, ("noticias", "datos-abiertos"),
        "User-Agent: *\nAllow: /\nDisallow: /privado/\nContent-Usage: train-ai=n\nContent-Usage: /datos-abiertos/ train-ai=y\n",
        content_usage=(("/", "train-ai=n"), ("/datos-abiertos/", "train-ai=y")), neutral=False,
    ),
    Host("https://www.diario-levante-sur.es", "es", "Diario Levante Sur", 2, ("local", "sociedad"), _ROBOTS_PLAIN),
    Host("https://www.comune.valfonda.it", "it", "Comune di Valfonda", 1, ("notizie", "servizi"), None, 500, neutral=False),
    Host("https://www.valfonda-turismo.it", "it", "Valfonda Turismo", 3, ("notizie", "eventi"), _ROBOTS_PLAIN),
    Host("https://www.gmina-lipowiec.pl", "pl", "Gmina Lipowiec", 3, ("aktualnosci", "sprawy"), _ROBOTS_PLAIN),
    Host(
        "https://www.bip-lipowiec.pl", "pl", "Biuletyn Informacji Publicznej Gminy Lipowiec", 1, ("ogloszenia",),
        "User-agent: CCBot\nDisallow: /\n\nUser-agent: *\nDisallow:\n", robots_rules=(("CCBot", "/"),), neutral=False,
    ),
    Host(
        "https://www.waterdam.nl", "nl", "Gemeente Waterdam", 1, ("nieuws",),
        "User-agent: *\nContent-Signal: search=yes, ai-train=no\nAllow: /\n",
        content_signal="search=yes, ai-train=no", neutral=False,
    ),
    Host("https://www.gemeente-beekveld.nl", "nl", "Gemeente Beekveld", 3, ("nieuws", "loket"), None, 404),
    Host("https://www.cm-vilanova.pt", "pt", "Câmara Municipal de Vila Nova", 3, ("noticias", "servicos"), _ROBOTS_PLAIN),
    Host("https://www.almby.se", "sv", "Almby kommun", 3, ("nyheter", "service"), _ROBOTS_PLAIN),
    Host("https://www.dimos-kalamou.gr", "el", "Δήμος Καλάμου", 3, ("anakoinoseis", "ypiresies"), _ROBOTS_PLAIN),
    Host("https://www.mesto-brezno.cz", "cs", "Město Březno", 3, ("aktuality", "urad"), None, 404),
    Host("https://www.jarvela.fi", "fi", "Järvelän kunta", 3, ("ajankohtaista", "palvelut"), _ROBOTS_PLAIN),
    Host("https://www.tiszakeszi-hirado.hu", "hu", "Tiszakeszi Híradó", 3, ("hirek", "ugyintezes"), None, None),
    Host("https://www.obshtina-ravnets.bg", "bg", "Община Равнец", 3, ("novini", "uslugi"), _ROBOTS_PLAIN),
    Host(
        "https://www.northwick.gov.uk", "en", "Northwick Borough Council", 3, ("news", "services"),
        "User-agent: *\nDisallow: /search\nDisallow: /my-account/\n", site_licence="OGL-UK-3.0",
    ),
)
HOST_BY_ORIGIN = {h.origin: h for h in HOSTS}


# ---------------------------------------------------------------------------------------------- banks


@cache
def load_bank(lang: str) -> dict[str, Any]:
    """The sentence bank of one language (pipeline/demo_data/<lang>.yaml)."""
    with open(DATA_DIR / f"{lang}.yaml", encoding="utf-8") as f:
        return yaml.safe_load(f)


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60]


# ---------------------------------------------------------------------------------------------- checksums


def iban(country: str, bban: str) -> str:
    """ISO 13616 IBAN: check digits = 98 - (BBAN + country + '00' as digits) mod 97."""
    digits = "".join(str(int(c, 36)) for c in (bban + country + "00"))
    return f"{country}{98 - int(digits) % 97:02d}{bban}"


def iban_is_valid(value: str) -> bool:
    v = value.replace(" ", "")
    return int("".join(str(int(c, 36)) for c in v[4:] + v[:4])) % 97 == 1


# BBAN shapes per country: n = digit, a = capital letter (lengths from the IBAN registry).
_BBAN_SHAPES = {
    "DE": "n" * 18, "FR": "n" * 23, "ES": "n" * 20, "IT": "a" + "n" * 22, "NL": "aaaa" + "n" * 10,
    "PL": "n" * 24, "PT": "n" * 21, "SE": "n" * 20, "CZ": "n" * 20, "FI": "n" * 14, "HU": "n" * 24,
    "GR": "n" * 23, "BG": "aaaa" + "n" * 14, "GB": "aaaa" + "n" * 14,
}
_IBAN_COUNTRY = {
    "de": "DE", "fr": "FR", "es": "ES", "it": "IT", "nl": "NL", "pl": "PL", "pt": "PT", "sv": "SE",
    "cs": "CZ", "fi": "FI", "hu": "HU", "el": "GR", "bg": "BG", "en": "GB",
}


def _random_iban(rng: random.Random, country: str) -> str:
    bban = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") if c == "a" else str(rng.randrange(10))
                   for c in _BBAN_SHAPES[country])
    return iban(country, bban)


def de_steuer_id(rng: random.Random) -> str:
    """Steuerliche Identifikationsnummer: 10 digits, first not 0, exactly one digit twice, ISO 7064 MOD 11,10."""
    while True:
        digits = rng.sample(range(10), 9)
        digits.insert(rng.randrange(1, 10), digits[rng.randrange(9)])
        if digits[0] == 0:
            continue
        product = 10
        for d in digits:
            s = (d + product) % 10 or 10
            product = (2 * s) % 11
        check = (11 - product) % 10
        return "".join(map(str, digits)) + str(check)


def fr_nir(rng: random.Random) -> str:
    """Numéro de sécurité sociale: sex, yy, mm, département, commune, order, key = 97 - n mod 97."""
    body = f"{rng.choice('12')}{rng.randrange(50, 100):02d}{rng.randrange(1, 13):02d}{rng.randrange(1, 96):02d}"
    body += f"{rng.randrange(1, 990):03d}{rng.randrange(1, 999):03d}"
    return body + f"{97 - int(body) % 97:02d}"


def es_dni(rng: random.Random) -> str:
    number = rng.randrange(10_000_000, 99_999_999)
    return f"{number:08d}" + "TRWAGMYFPDXBNJZSQVHLCKE"[number % 23]


_CF_ODD = dict(zip("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                   [1, 0, 5, 7, 9, 13, 15, 17, 19, 21] + [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8,
                                                          12, 14, 16, 10, 22, 25, 24, 23], strict=True))


def it_codice_fiscale(rng: random.Random) -> str:
    """Codice fiscale: 3+3 letters, yy, month letter, day (+40 women), Belfiore code, control letter."""
    letters = "".join(rng.choice("BCDFGLMNPRSTVZ") for _ in range(6))
    day = rng.randrange(1, 29) + rng.choice((0, 40))
    belfiore = rng.choice(("H501", "F205", "L219", "G273", "A944", "D612"))
    body = f"{letters}{rng.randrange(50, 100):02d}{rng.choice('ABCDEHLMPRST')}{day:02d}{belfiore}"
    total = 0
    for i, c in enumerate(body):
        total += _CF_ODD[c] if i % 2 == 0 else (int(c) if c.isdigit() else ord(c) - 65)
    return body + chr(65 + total % 26)


def pl_pesel(rng: random.Random) -> str:
    year = rng.randrange(1950, 2006)
    month = rng.randrange(1, 13) + (20 if year >= 2000 else 0)
    body = f"{year % 100:02d}{month:02d}{rng.randrange(1, 29):02d}{rng.randrange(10_000):04d}"
    check = (10 - sum(int(d) * w for d, w in zip(body, (1, 3, 7, 9) * 3, strict=False)) % 10) % 10
    return body + str(check)


def nl_bsn(rng: random.Random) -> str:
    """Burgerservicenummer: 9 digits passing the 11-test (sum of d_i * (9..2) - d9 divisible by 11)."""
    while True:
        digits = [rng.randrange(1, 10)] + [rng.randrange(10) for _ in range(7)]
        last = sum(d * w for d, w in zip(digits, range(9, 1, -1), strict=True)) % 11
        if last < 10:
            return "".join(map(str, digits)) + str(last)


NATIONAL_IDS = {  # language -> (entity type as presidio names it where it has one, generator)
    "de": ("DE_TAX_ID", de_steuer_id),
    "fr": ("FR_NIR", fr_nir),
    "es": ("ES_NIF", es_dni),
    "it": ("IT_FISCAL_CODE", it_codice_fiscale),
    "pl": ("PL_PESEL", pl_pesel),
    "nl": ("NL_BSN", nl_bsn),
}


def _fmt_digits(rng: random.Random, pattern: str) -> str:
    """'D' = digit 2-9 (a valid first subscriber digit), 'd' = any digit."""
    return "".join(str(rng.randrange(2, 10)) if c == "D" else str(rng.randrange(10)) if c == "d" else c
                   for c in pattern)


# National formats of fixed-line numbers in capital cities (valid per libphonenumber); the UK one is in
# Ofcom's range reserved for drama.
PHONE_PATTERNS = {
    "de": ("+49 30 Dddd dddd", "030 Dddddddd"), "fr": ("01 4d dd dd dd", "+33 1 4d dd dd dd"),
    "es": ("+34 91D ddd ddd", "91D dd dd dd"), "it": ("+39 06 Dddd dddd", "06 Dddd dddd"),
    "pl": ("+48 22 Ddd dd dd", "22 Ddd dd dd"), "nl": ("+31 20 Ddd dddd", "020 Ddd dddd"),
    "pt": ("+351 21D ddd ddd", "21D ddd ddd"), "sv": ("08-Ddd dd dd", "+46 8 Ddd dd dd"),
    "cs": ("+420 2Dd ddd ddd", "2Dd ddd ddd"), "fi": ("09 Dddd ddd", "+358 9 Dddd ddd"),
    "hu": ("+36 1 Ddd dddd", "(06 1) Ddd dddd"), "el": ("+30 210 Ddd dddd", "210 Ddd dddd"),
    "bg": ("+359 2 Ddd dddd", "02 Ddd dddd"), "en": ("020 7946 0ddd", "+44 20 7946 0ddd"),
}
PHONE_REGION = {
    "de": "DE", "fr": "FR", "es": "ES", "it": "IT", "pl": "PL", "nl": "NL", "pt": "PT", "sv": "SE",
    "cs": "CZ", "fi": "FI", "hu": "HU", "el": "GR", "bg": "BG", "en": "GB",
}


def _email(name: str, host: Host, rng: random.Random) -> str:
    parts = [p for p in _slug(name).split("-") if p] or ["kontakt"]
    if not _slug(name):  # Greek/Cyrillic names: a role address, as such offices use
        parts = [rng.choice(("info", "grammateia", "office", "priem"))]
    domain = host.host.removeprefix("www.")
    return ".".join(parts[:2]) + f"{rng.randrange(1, 99) if rng.random() < 0.3 else ''}@{domain}"


# ---------------------------------------------------------------------------------------------- pages


@dataclass
class Page:
    url: str
    host: Host
    lang: str
    kind: str  # article | exact_dup | near_dup | low_quality
    title: str
    paragraphs: list[str]
    published: datetime
    topic_paras: list[tuple[str, tuple[int, ...]]] = field(default_factory=list)  # (topic, sentence indices)
    http_headers: list[tuple[str, str]] = field(default_factory=list)  # extra response headers
    head_extra: list[str] = field(default_factory=list)  # extra <head> elements
    licence: str | None = None  # page-level licence id
    licence_markup: str | None = None  # a_rel | link_rel | a_plain
    extra_paragraphs: list[str] = field(default_factory=list)  # PII contact lines etc., inside <article>
    charset: str = "utf-8"
    variant: int = 0  # boilerplate variant (near duplicates differ in it)
    canonical: str | None = None  # <link rel="canonical">; exact duplicates keep the original's, so bytes match
    signals: list[dict[str, Any]] = field(default_factory=list)
    pii: dict[str, list[str]] = field(default_factory=dict)
    low_quality: str | None = None

    @property
    def path(self) -> str:
        return "/" + self.url.split("://", 1)[1].split("/", 1)[1]


def _date_text(bank: dict[str, Any], when: datetime) -> str:
    return when.strftime(bank["date_format"])


def article_text(page: Page) -> str:
    """The main content a perfect extractor returns: title, date line, paragraphs (what <article> holds)."""
    bank = load_bank(page.lang)
    lines = [page.title]
    if page.kind != "low_quality":
        lines.append(f"{bank['site']['published']} {_date_text(bank, page.published)}")
    lines += page.paragraphs + page.extra_paragraphs
    if page.licence and page.licence_markup != "link_rel":
        lines.append(f"{bank['site']['licence']} {LICENCE_LABELS[page.licence]}.")
    return "\n".join(lines)


class _Composer:
    """Builds articles from the banks; never repeats a (topic, sentence set) paragraph across the corpus."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[tuple[str, str, tuple[int, ...]]] = set()
        self.titles: set[tuple[str, str]] = set()

    def paragraph(self, lang: str, topic: str, k: int, avoid: frozenset[int] = frozenset()) -> tuple[int, ...]:
        n = len(self._topic(lang, topic)["sentences"])
        for _ in range(200):
            pool = [i for i in range(n) if i not in avoid]
            pick = tuple(sorted(self.rng.sample(pool, min(k, len(pool)))))
            if (lang, topic, pick) not in self.used:
                self.used.add((lang, topic, pick))
                return pick
            k = self.rng.randint(2, 4)
        raise RuntimeError("sentence bank too small for the requested number of pages")

    def _topic(self, lang: str, key: str) -> dict[str, Any]:
        return next(t for t in load_bank(lang)["topics"] if t["key"] == key)

    def text(self, lang: str, topic: str, pick: tuple[int, ...]) -> str:
        sentences = self._topic(lang, topic)["sentences"]
        return " ".join(sentences[i] for i in pick)

    def article(self, lang: str, host: Host, n_paras: int, when: datetime) -> tuple[str, list[tuple[str, tuple[int, ...]]]]:
        bank = load_bank(lang)
        topics = [t["key"] for t in bank["topics"]]
        order = self.rng.sample(topics, min(n_paras, len(topics)))
        paras = [(t, self.paragraph(lang, t, self.rng.randint(2, 4))) for t in order]
        title = self.rng.choice(self._topic(lang, order[0])["titles"])
        if (host.origin, title) in self.titles:  # recurring notices on one site carry their date
            title = f"{title} ({_date_text(bank, when)})"
        self.titles.add((host.origin, title))
        return title, paras


def _allocate(total: int, weights: list[int]) -> list[int]:
    """Largest-remainder split of ``total`` by ``weights`` (deterministic: ties go to the earlier entry)."""
    exact = [total * w / sum(weights) for w in weights]
    out = [int(x) for x in exact]
    for i in sorted(range(len(weights)), key=lambda i: (-(exact[i] - out[i]), i))[: total - sum(out)]:
        out[i] += 1
    return out


def _host_signals(host: Host, path: str) -> list[dict[str, Any]]:
    """Signals a page inherits from its host's robots.txt and tdmrep.json (by construction of HOSTS)."""
    signals: list[dict[str, Any]] = []
    if host.robots_status is not None and host.robots_status >= 500:
        signals.append({"kind": "robots_unreachable", "value": str(host.robots_status), "reserves": True})
    for agent, prefix in host.robots_rules:
        if path.startswith(prefix):
            signals.append({"kind": "robots_disallow", "agent": agent, "value": prefix, "reserves": True})
    if host.content_usage:
        prefix, pref = max((cu for cu in host.content_usage if path.startswith(cu[0])), key=lambda cu: len(cu[0]))
        signals.append({"kind": "robots_content_usage", "value": pref, "reserves": pref.endswith("=n")})
    if host.content_signal:
        signals.append({"kind": "robots_content_signal", "value": host.content_signal, "reserves": True})
    for rule in host.tdmrep or []:
        loc = rule["location"].rstrip("*")
        if path.startswith(loc):
            signals.append({"kind": "tdmrep_json", "value": str(rule["tdm-reservation"]),
                            "reserves": rule["tdm-reservation"] == 1})
            break  # TDMRep: the first matching rule in array order applies
    return signals


# Page-level signals: (kind, response headers, <head> elements, reserves?). Each reserving kind is planted twice.
_PAGE_SIGNALS: list[tuple[str, list[tuple[str, str]], list[str], bool]] = [
    ("http_tdm_reservation", [("tdm-reservation", "1")], [], True),
    ("http_tdm_reservation", [("tdm-reservation", "1"), ("tdm-policy", "{origin}/tdm-policy.json")], [], True),
    ("meta_tdm_reservation", [], ['<meta name="tdm-reservation" content="1">'], True),
    ("meta_tdm_reservation", [], ['<meta name="tdm-reservation" content="1">',
                                  '<meta name="tdm-policy" content="{origin}/policies/tdm.json">'], True),
    ("x_robots_tag", [("X-Robots-Tag", "noai")], [], True),
    ("x_robots_tag", [("X-Robots-Tag", "noai, noimageai")], [], True),
    ("x_robots_tag_agent", [("X-Robots-Tag", "GPTBot: noai")], [], True),
    ("x_robots_tag_agent", [("X-Robots-Tag", "GPTBot: noindex")], [], True),
    ("x_robots_tag_agent", [("X-Robots-Tag", "CCBot: noindex, nofollow")], [], True),
    ("meta_robots_noai", [], ['<meta name="robots" content="noai, noimageai">'], True),
    ("meta_robots_noai", [], ['<meta name="robots" content="index, follow, noai">'], True),
    ("content_usage_header", [("Content-Usage", "train-ai=n")], [], True),
    ("content_usage_header", [("Content-Usage", "train-ai=n, search=y")], [], True),
    # Controls: signals present but not a reservation (spec: 0 = not reserved; other values = unset;
    # aipref: uppercase keys make the field unparseable = unknown).
    ("http_tdm_reservation", [("tdm-reservation", "0")], [], False),
    ("http_tdm_reservation", [("tdm-reservation", "yes")], [], False),
    ("meta_tdm_reservation", [], ['<meta name="tdm-reservation" content="0">'], False),
    ("content_usage_header", [("Content-Usage", "train-ai=y")], [], False),
    ("content_usage_header", [("Content-Usage", "Train-AI=n")], [], False),
    ("meta_robots", [], ['<meta name="robots" content="index, follow">'], False),
]


@dataclass
class DemoPlan:
    seed: int
    n_pages: int
    pages: list[Page]
    exact_groups: list[list[str]]
    near_groups: list[dict[str, Any]]
    extras: list[dict[str, Any]]  # host captures, malformed and other non-page records


def _counts(n_pages: int) -> tuple[int, int, int]:
    """Exact-duplicate copies, near-duplicate variants and low-quality pages: a few percent each."""
    return max(4, round(n_pages * 0.03)), max(4, round(n_pages * 0.03)), max(6, round(n_pages * 0.02))


def _new_url(host: Host, section: str, title: str, n: int) -> str:
    slug = _slug(title) or "article"
    return f"{host.origin}/{section}/{slug}-{n}"


@cache
def build_plan(seed: int = DEFAULT_SEED, n_pages: int = DEFAULT_PAGES) -> DemoPlan:
    """Everything the corpus will contain, decided from the seed alone (no I/O but the sentence banks)."""
    if n_pages < MIN_PAGES:
        raise ValueError(f"pages must be at least {MIN_PAGES} so that every planted feature fits (got {n_pages})")
    rng = random.Random(seed)
    comp = _Composer(rng)
    n_exact, n_near, n_lowq = _counts(n_pages)
    n_articles = n_pages - n_exact - n_near - n_lowq
    counter = iter(range(1000, 10**9))

    def when() -> datetime:
        return datetime(2025, 9, 1, tzinfo=UTC) + timedelta(days=rng.randrange(180), minutes=rng.randrange(1440))

    # Ordinary articles, spread over hosts by weight and over each host's sections round-robin.
    pages: list[Page] = []
    for host, count in zip(HOSTS, _allocate(n_articles, [h.weight for h in HOSTS]), strict=True):
        for i in range(count):
            published = when()
            title, paras = comp.article(host.lang, host, rng.randint(4, 6), published)
            section = host.sections[i % len(host.sections)]
            page = Page(_new_url(host, section, title, next(counter)), host, host.lang, "article", title,
                        [comp.text(host.lang, t, pick) for t, pick in paras], published, topic_paras=paras)
            page.signals = _host_signals(host, page.path)
            pages.append(page)

    clean = [p for p in pages if not p.signals and p.host.neutral]
    rng.shuffle(clean)

    def take(pred: Any = lambda p: True) -> Page:
        for i, p in enumerate(clean):
            if pred(p):
                return clean.pop(i)
        raise RuntimeError("no clean page left for a planted feature; raise pages")

    # Page-level rights signals and controls.
    for kind, headers, head, reserves in _PAGE_SIGNALS:
        page = take(lambda p: p.host.site_licence is None)
        page.http_headers += [(k, v.format(origin=page.host.origin)) for k, v in headers]
        page.head_extra += [h.format(origin=page.host.origin) for h in head]
        value = "; ".join(f"{k}: {v}" for k, v in page.http_headers) or " ".join(page.head_extra)
        page.signals.append({"kind": kind, "value": value, "reserves": reserves})

    # Page-level licences (hosts with a site-wide licence keep only theirs).
    markups = ("a_rel", "link_rel")
    for i, lic in enumerate(PAGE_LICENCES * 2):
        page = take(lambda p: p.host.site_licence is None)
        page.licence, page.licence_markup = lic, markups[i // len(PAGE_LICENCES)]
        if page.licence_markup == "link_rel":
            page.head_extra.append(f'<link rel="license" href="{LICENCE_URLS[lic]}">')

    # Personal data: national ids (2 per country that has one), then contact/IBAN-only pages.
    pii_langs = [lang for lang in NATIONAL_IDS for _ in range(2)] + ["pt", "sv", "el", "cs", "fi", "hu", "bg", "en"]
    for lang in pii_langs:
        page = take(lambda p, lang=lang: p.lang == lang)
        _plant_pii(page, rng, with_id=lang in NATIONAL_IDS)

    # Declared non-UTF-8 charsets (correctly declared: a robust reader decodes them).
    take(lambda p: p.lang == "cs").charset = "windows-1250"
    take(lambda p: p.lang == "de").charset = "iso-8859-1"

    # Exact duplicates: the same HTTP payload at another URL of the same host.
    exact_groups: list[list[str]] = []
    copies = 0
    variants = ("?utm_source=newsletter&utm_medium=email", "?print=1", "?ref=startpage", "?PHPSESSID=")
    while copies < n_exact:
        orig = take()
        n_copies = 2 if len(exact_groups) == 1 and n_exact - copies >= 2 else 1
        group = [orig.url]
        for j in range(n_copies):
            suffix = variants[(len(exact_groups) + j) % len(variants)]
            if suffix.endswith("="):
                suffix += f"{rng.getrandbits(64):016x}"
            orig.canonical = orig.url
            dup = copy.copy(orig)
            dup.url, dup.kind, dup.signals = orig.url + suffix, "exact_dup", []
            pages.append(dup)
            group.append(dup.url)
            copies += 1
        exact_groups.append(group)

    # Near duplicates: republished with a new date, other boilerplate and one small edit.
    near_groups: list[dict[str, Any]] = []
    changes = ("sentence", "paragraph", "date_only")
    made = 0
    while made < n_near:
        orig = take()
        change = changes[len(near_groups) % len(changes)]
        variant = _near_variant(orig, change, comp, rng, next(counter), when())
        pages.append(variant)
        near_groups.append({"urls": [orig.url, variant.url], "change": change,
                            "jaccard_5gram": round(shingle_jaccard(article_text(orig), article_text(variant)), 3)})
        made += 1

    # Low-quality pages on clean hosts, one language after another.
    lowq_kinds = ("keyword_spam", "symbol_soup", "very_short", "boilerplate_only")
    clean_hosts = [h for h in HOSTS if h.neutral and not h.robots_rules]
    for i in range(n_lowq):
        host = clean_hosts[(i * 5) % len(clean_hosts)]
        pages.append(_low_quality(host, lowq_kinds[i % len(lowq_kinds)], rng, next(counter), when()))

    extras = _extras(rng, comp, next(counter))
    return DemoPlan(seed, n_pages, pages, exact_groups, near_groups, extras)


def _plant_pii(page: Page, rng: random.Random, with_id: bool) -> None:
    bank = load_bank(page.lang)
    name = rng.choice(bank["pii"]["names"])
    phone = _fmt_digits(rng, rng.choice(PHONE_PATTERNS[page.lang]))
    email = _email(name, page.host, rng)
    raw_iban = _random_iban(rng, _IBAN_COUNTRY[page.lang])
    shown_iban = " ".join(raw_iban[i : i + 4] for i in range(0, len(raw_iban), 4))
    lines = [bank["pii"]["contact"].format(name=name, phone=phone, email=email),
             bank["pii"]["iban"].format(iban=shown_iban)]
    page.pii = {"PERSON": [name], "PHONE_NUMBER": [phone], "EMAIL_ADDRESS": [email], "IBAN_CODE": [shown_iban]}
    if with_id:
        entity, make = NATIONAL_IDS[page.lang]
        value = make(rng)
        if page.lang == "fr":  # NIR is written in groups: s yy mm dd ccc ooo kk
            value = f"{value[0]} {value[1:3]} {value[3:5]} {value[5:7]} {value[7:10]} {value[10:13]} {value[13:]}"
        lines.append(bank["pii"]["national_id"].format(id=value))
        page.pii[entity] = [value]
    page.extra_paragraphs += [" ".join(lines)]


def _near_variant(orig: Page, change: str, comp: _Composer, rng: random.Random, n: int, when: datetime) -> Page:
    paras = list(orig.topic_paras)
    if change == "sentence":
        i = rng.randrange(len(paras))
        topic, pick = paras[i]
        n_sent = len(comp._topic(orig.lang, topic)["sentences"])
        spare = [s for s in range(n_sent) if s not in pick]
        new = list(pick)
        new[rng.randrange(len(new))] = rng.choice(spare)
        paras[i] = (topic, tuple(new))
    elif change == "paragraph":
        i = min(range(len(paras)), key=lambda j: (len(paras[j][1]), j))
        topic, pick = paras[i]
        paras[i] = (topic, comp.paragraph(orig.lang, topic, len(pick), avoid=frozenset(pick)))
    host = orig.host
    section = orig.path.split("/")[1]
    page = Page(_new_url(host, section, orig.title, n), host, orig.lang, "near_dup", orig.title,
                [comp.text(orig.lang, t, p) for t, p in paras], when, topic_paras=paras, variant=1)
    return page


def _low_quality(host: Host, kind: str, rng: random.Random, n: int, published: datetime) -> Page:
    bank = load_bank(host.lang)
    spam = bank["spam"]
    paras: list[str] = []
    if kind == "keyword_spam":
        title = " ".join(rng.sample(spam, 4)).upper()
        paras = [" ".join(rng.choice(spam) for _ in range(60)) for _ in range(3)]
    elif kind == "symbol_soup":
        title = "### " + "".join(rng.choice("$%&#*+") for _ in range(8))
        glyphs = "▓░█◆◇●★☆#$%&*+=<>|~^@§¤"
        paras = [" ".join("".join(rng.choice(glyphs) for _ in range(rng.randint(2, 6))) + str(rng.randrange(1000))
                          for _ in range(70)) for _ in range(2)]
    elif kind == "very_short":
        title, paras = host.name, [bank["site"]["under_construction"]]
    else:  # boilerplate_only: the chrome of the site and an empty main area
        title = bank["site"]["nav"][rng.randrange(len(bank["site"]["nav"]))]
    page = Page(f"{host.origin}/{host.sections[0]}/{_slug(title) or 'page'}-{n}", host, host.lang, "low_quality",
                title, paras, published)
    page.low_quality = kind
    return page
