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
MAX_PAGES = 600  # beyond this the sentence banks run out of paragraphs never used before
NEAR_DUP_MIN_JACCARD = 0.72
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
        "https://www.lindenau.de",
        "de",
        "Stadt Lindenau",
        7,
        ("aktuelles", "buergerservice", "presse"),
        "# robots.txt der Stadt Lindenau\nUser-agent: *\nDisallow: /intern/\nDisallow: /suche\n\n"
        "User-agent: GPTBot\nDisallow: /presse/\n\nSitemap: https://www.lindenau.de/sitemap.xml\n",
        robots_rules=(("GPTBot", "/presse/"), ("*", "/intern/")),
        tdmrep_status=404,
        site_licence="DL-DE-BY-2.0",
    ),
    Host("https://www.kreis-hohenfeld.de", "de", "Landkreis Hohenfeld", 2, ("themen", "service"), None, 404),
    Host(
        "https://www.oberland-kurier.de",
        "de",
        "Oberland-Kurier",
        1,
        ("lokales", "region"),
        "User-agent: GPTBot\nUser-agent: ClaudeBot\nUser-agent: Google-Extended\nUser-agent: CCBot\nDisallow: /\n\n"
        "User-agent: *\nAllow: /\n",
        robots_rules=(("GPTBot", "/"), ("ClaudeBot", "/"), ("Google-Extended", "/"), ("CCBot", "/")),
        tdmrep=[
            {"location": "/", "tdm-reservation": 1, "tdm-policy": "https://www.oberland-kurier.de/tdm-policy.json"}
        ],
        neutral=False,
    ),
    Host(
        "https://www.ville-montclair.fr",
        "fr",
        "Ville de Montclair",
        4,
        ("actualites", "demarches", "archives"),
        "User-agent: *\nDisallow: /archives/\nDisallow: /recherche\n\nSitemap: https://www.ville-montclair.fr/sitemap.xml\n",
        robots_rules=(("*", "/archives/"),),
        site_licence="etalab-2.0",
    ),
    Host(
        "https://www.echo-du-vercors.fr",
        "fr",
        "L'Écho du Vercors",
        2,
        ("articles", "agenda"),
        "User-agent: *\nDisallow: /abonnes/\n",
        tdmrep=[
            {
                "location": "/articles/*",
                "tdm-reservation": 1,
                "tdm-policy": "https://www.echo-du-vercors.fr/tdm/policy.json",
            },
            {"location": "/", "tdm-reservation": 0},
        ],
        neutral=False,
    ),
    Host(
        "https://www.villaverde-del-rio.es",
        "es",
        "Ayuntamiento de Villaverde del Río",
        3,
        ("noticias", "datos-abiertos"),
        "User-Agent: *\nAllow: /\nDisallow: /privado/\nContent-Usage: train-ai=n\n"
        "Content-Usage: /datos-abiertos/ train-ai=y\n",
        content_usage=(("/", "train-ai=n"), ("/datos-abiertos/", "train-ai=y")),
        neutral=False,
    ),
    Host("https://www.diario-levante-sur.es", "es", "Diario Levante Sur", 2, ("local", "sociedad"), _ROBOTS_PLAIN),
    Host(
        "https://www.comune.valfonda.it",
        "it",
        "Comune di Valfonda",
        1,
        ("notizie", "servizi"),
        None,
        500,
        neutral=False,
    ),
    Host("https://www.valfonda-turismo.it", "it", "Valfonda Turismo", 3, ("notizie", "eventi"), _ROBOTS_PLAIN),
    Host("https://www.gmina-lipowiec.pl", "pl", "Gmina Lipowiec", 3, ("aktualnosci", "sprawy"), _ROBOTS_PLAIN),
    Host(
        "https://www.bip-lipowiec.pl",
        "pl",
        "Biuletyn Informacji Publicznej Gminy Lipowiec",
        1,
        ("ogloszenia",),
        "User-agent: CCBot\nDisallow: /\n\nUser-agent: *\nDisallow:\n",
        robots_rules=(("CCBot", "/"),),
        neutral=False,
    ),
    Host(
        "https://www.waterdam.nl",
        "nl",
        "Gemeente Waterdam",
        1,
        ("nieuws",),
        "User-agent: *\nContent-Signal: search=yes, ai-train=no\nAllow: /\n",
        content_signal="search=yes, ai-train=no",
        neutral=False,
    ),
    Host("https://www.gemeente-beekveld.nl", "nl", "Gemeente Beekveld", 3, ("nieuws", "loket"), None, 404),
    Host(
        "https://www.cm-vilanova.pt", "pt", "Câmara Municipal de Vila Nova", 3, ("noticias", "servicos"), _ROBOTS_PLAIN
    ),
    Host("https://www.almby.se", "sv", "Almby kommun", 3, ("nyheter", "service"), _ROBOTS_PLAIN),
    Host("https://www.dimos-kalamou.gr", "el", "Δήμος Καλάμου", 3, ("anakoinoseis", "ypiresies"), _ROBOTS_PLAIN),
    Host("https://www.mesto-brezno.cz", "cs", "Město Březno", 3, ("aktuality", "urad"), None, 404),
    Host("https://www.jarvela.fi", "fi", "Järvelän kunta", 3, ("ajankohtaista", "palvelut"), _ROBOTS_PLAIN),
    Host("https://www.tiszakeszi-hirado.hu", "hu", "Tiszakeszi Híradó", 3, ("hirek", "ugyintezes"), None, None),
    Host("https://www.obshtina-ravnets.bg", "bg", "Община Равнец", 3, ("novini", "uslugi"), _ROBOTS_PLAIN),
    Host(
        "https://www.northwick.gov.uk",
        "en",
        "Northwick Borough Council",
        3,
        ("news", "services"),
        "User-agent: *\nDisallow: /search\nDisallow: /my-account/\n",
        site_licence="OGL-UK-3.0",
    ),
)
HOST_BY_ORIGIN = {h.origin: h for h in HOSTS}


# ---------------------------------------------------------------------------------------------- banks


@cache
def load_bank(lang: str) -> dict[str, Any]:
    """The sentence bank of one language (pipeline/demo_data/<lang>.yaml)."""
    with open(DATA_DIR / f"{lang}.yaml", encoding="utf-8") as f:
        return yaml.safe_load(f)


# Greek and Cyrillic letters as the sites' URL schemes transliterate them (ELOT 743 / Bulgarian streamlined).
_TRANSLIT = dict(zip("αβγδεζηικλμνξοπρστυφωάέήίόύώϊϋΐΰς", "avgdeziiklmnxoprstyfoaeiioyoiyiys", strict=True))
_TRANSLIT |= dict(zip("абвгдезийклмнопрстуфхъь", "abvgdeziyklmnoprstufhay", strict=True))
_TRANSLIT |= {
    "θ": "th",
    "χ": "ch",
    "ψ": "ps",
    "ж": "zh",
    "ц": "ts",
    "ч": "ch",
    "ш": "sh",
    "щ": "sht",
    "ю": "yu",
    "я": "ya",
    "ł": "l",
    "ß": "ss",
}


def _slug(text: str) -> str:
    text = "".join(_TRANSLIT.get(c, c) for c in text.lower())
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
    "DE": "n" * 18,
    "FR": "n" * 23,
    "ES": "n" * 20,
    "IT": "a" + "n" * 22,
    "NL": "aaaa" + "n" * 10,
    "PL": "n" * 24,
    "PT": "n" * 21,
    "SE": "n" * 20,
    "CZ": "n" * 20,
    "FI": "n" * 14,
    "HU": "n" * 24,
    "GR": "n" * 23,
    "BG": "aaaa" + "n" * 14,
    "GB": "aaaa" + "n" * 14,
}
_IBAN_COUNTRY = {
    "de": "DE",
    "fr": "FR",
    "es": "ES",
    "it": "IT",
    "nl": "NL",
    "pl": "PL",
    "pt": "PT",
    "sv": "SE",
    "cs": "CZ",
    "fi": "FI",
    "hu": "HU",
    "el": "GR",
    "bg": "BG",
    "en": "GB",
}


def _es_control(digits: str) -> str:
    """Spanish CCC control digit (weights 1,2,4,8,5,10,9,7,3,6; 11 -> 0, 10 -> 1)."""
    d = 11 - sum(int(c) * w for c, w in zip(digits, (1, 2, 4, 8, 5, 10, 9, 7, 3, 6), strict=True)) % 11
    return str({11: 0, 10: 1}.get(d, d))


def _random_iban(rng: random.Random, country: str) -> str:
    bban = "".join(
        rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") if c == "a" else str(rng.randrange(10)) for c in _BBAN_SHAPES[country]
    )
    if country == "ES":  # the national check digits are validated too (e.g. by python-stdnum)
        bban = bban[:8] + _es_control("00" + bban[:8]) + _es_control(bban[10:]) + bban[10:]
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


_CF_ODD = dict(
    zip(
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        [1, 0, 5, 7, 9, 13, 15, 17, 19, 21]
        + [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23],
        strict=True,
    )
)


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
    """'D' = digit 2-9, 'E' = digit 2-8 (valid first subscriber digits), 'd' = any digit."""
    ranges = {"D": (2, 10), "E": (2, 9), "d": (0, 10)}
    return "".join(str(rng.randrange(*ranges[c])) if c in ranges else c for c in pattern)


# National formats of fixed-line numbers in capital cities (valid per libphonenumber); the UK one is in
# Ofcom's range reserved for drama.
PHONE_PATTERNS = {
    "de": ("+49 30 Dddd dddd", "030 Dddddddd"),
    "fr": ("01 4d dd dd dd", "+33 1 4d dd dd dd"),
    "es": ("+34 91D ddd ddd", "91D dd dd dd"),
    "it": ("+39 06 Dddd dddd", "06 Dddd dddd"),
    "pl": ("+48 22 Ddd dd dd", "22 Ddd dd dd"),
    "nl": ("+31 20 Ddd dddd", "020 Ddd dddd"),
    "pt": ("+351 21D ddd ddd", "21D ddd ddd"),
    "sv": ("08-Ddd dd dd", "+46 8 Ddd dd dd"),
    "cs": ("+420 2Dd ddd ddd", "2Dd ddd ddd"),
    "fi": ("09 Eddd ddd", "+358 9 Eddd ddd"),
    "hu": ("+36 1 Ddd dddd", "(06 1) Ddd dddd"),
    "el": ("+30 210 Ddd dddd", "210 Ddd dddd"),
    "bg": ("+359 2 Ddd dddd", "02 Ddd dddd"),
    "en": ("020 7946 0ddd", "+44 20 7946 0ddd"),
}
PHONE_REGION = {
    "de": "DE",
    "fr": "FR",
    "es": "ES",
    "it": "IT",
    "pl": "PL",
    "nl": "NL",
    "pt": "PT",
    "sv": "SE",
    "cs": "CZ",
    "fi": "FI",
    "hu": "HU",
    "el": "GR",
    "bg": "BG",
    "en": "GB",
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

    def article(
        self, lang: str, host: Host, n_paras: int, when: datetime
    ) -> tuple[str, list[tuple[str, tuple[int, ...]]]]:
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
            signals.append(
                {"kind": "tdmrep_json", "value": str(rule["tdm-reservation"]), "reserves": rule["tdm-reservation"] == 1}
            )
            break  # TDMRep: the first matching rule in array order applies
    return signals


# Page-level signals: (kind, response headers, <head> elements, reserves?). Each reserving kind is planted twice.
_PAGE_SIGNALS: list[tuple[str, list[tuple[str, str]], list[str], bool]] = [
    ("http_tdm_reservation", [("tdm-reservation", "1")], [], True),
    ("http_tdm_reservation", [("tdm-reservation", "1"), ("tdm-policy", "{origin}/tdm-policy.json")], [], True),
    ("meta_tdm_reservation", [], ['<meta name="tdm-reservation" content="1">'], True),
    (
        "meta_tdm_reservation",
        [],
        ['<meta name="tdm-reservation" content="1">', '<meta name="tdm-policy" content="{origin}/policies/tdm.json">'],
        True,
    ),
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
    slug = _slug(title.split(" (")[0]) or "article"
    return f"{host.origin}/{section}/{slug}-{n}"


@cache
def build_plan(seed: int = DEFAULT_SEED, n_pages: int = DEFAULT_PAGES) -> DemoPlan:
    """Everything the corpus will contain, decided from the seed alone (no I/O but the sentence banks)."""
    if not MIN_PAGES <= n_pages <= MAX_PAGES:
        raise ValueError(
            f"pages must be between {MIN_PAGES} (every planted feature fits) and {MAX_PAGES} "
            f"(sentence banks stay unrepeated), got {n_pages}"
        )
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
            title, paras = comp.article(host.lang, host, rng.randint(5, 6), published)
            section = host.sections[i % len(host.sections)]
            page = Page(
                _new_url(host, section, title, next(counter)),
                host,
                host.lang,
                "article",
                title,
                [comp.text(host.lang, t, pick) for t, pick in paras],
                published,
                topic_paras=paras,
            )
            page.signals = _host_signals(host, page.path)
            pages.append(page)

    clean = [p for p in pages if not p.signals and p.host.neutral]
    rng.shuffle(clean)

    def take(pred: Any = lambda p: True, prefer: Any = lambda p: True) -> Page:
        for want in (lambda p: pred(p) and prefer(p), pred):
            for i, p in enumerate(clean):
                if want(p):
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
        lang = LANGUAGES[(len(exact_groups) * 3) % len(LANGUAGES)]
        orig = take(prefer=lambda p, lang=lang: p.lang == lang)
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

    # Near duplicates: republished with a new date, other boilerplate and one small edit. Originals are long and
    # a draw is retried until the pair stays near-identical (5-gram Jaccard >= NEAR_DUP_MIN_JACCARD).
    near_groups: list[dict[str, Any]] = []
    changes = ("sentence", "paragraph", "date_only")
    rejected: list[Page] = []
    while len(near_groups) < n_near:
        change = changes[len(near_groups) % len(changes)]
        lang = LANGUAGES[(len(near_groups) * 5 + 1) % len(LANGUAGES)]
        orig = take(lambda p: sum(len(x[1]) for x in p.topic_paras) >= 16, prefer=lambda p, lang=lang: p.lang == lang)
        variant = _near_variant(orig, change, comp, rng, next(counter), when())
        similarity = shingle_jaccard(article_text(orig), article_text(variant))
        if similarity < NEAR_DUP_MIN_JACCARD:
            rejected.append(orig)
            continue
        pages.append(variant)
        near_groups.append({"urls": [orig.url, variant.url], "change": change, "jaccard_5gram": round(similarity, 3)})
    clean += rejected

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
    lines = [
        bank["pii"]["contact"].format(name=name, phone=phone, email=email),
        bank["pii"]["iban"].format(iban=shown_iban),
    ]
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
    page = Page(
        _new_url(host, section, orig.title, n),
        host,
        orig.lang,
        "near_dup",
        orig.title,
        [comp.text(orig.lang, t, p) for t, p in paras],
        when,
        topic_paras=paras,
        variant=1,
    )
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
        paras = [
            " ".join(
                "".join(rng.choice(glyphs) for _ in range(rng.randint(2, 6))) + str(rng.randrange(1000))
                for _ in range(70)
            )
            for _ in range(2)
        ]
    elif kind == "very_short":
        title, paras = host.name, [bank["site"]["under_construction"]]
    else:  # boilerplate_only: the chrome of the site and an empty main area
        title = bank["site"]["nav"][rng.randrange(len(bank["site"]["nav"]))]
    page = Page(
        f"{host.origin}/{host.sections[0]}/{_slug(title) or 'page'}-{n}",
        host,
        host.lang,
        "low_quality",
        title,
        paras,
        published,
    )
    page.low_quality = kind
    return page


# ---------------------------------------------------------------------------------------------- HTML


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def render_html(page: Page) -> bytes:
    """A real-looking page: head, cookie banner, header with nav, breadcrumb, <main><article>, sidebar, footer."""
    bank, host = load_bank(page.lang), page.host
    site = bank["site"]
    nav_items = [site["home"], *site["nav"]]
    sidebar = list(site["sidebar"])
    if page.variant:  # near duplicates: the CMS moved things around
        sidebar = sidebar[1:] + sidebar[:1]
    section = page.path.split("/")[1]
    head = [
        f'<meta charset="{page.charset}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_esc(page.title)} | {_esc(host.name)}</title>",
        f'<meta name="description" content="{_esc((page.paragraphs or [page.title])[0][:150])}">',
        *page.head_extra,
    ]
    if page.canonical:
        head.append(f'<link rel="canonical" href="{_esc(page.canonical)}">')
    head += [
        '<link rel="stylesheet" href="/assets/css/site.css">',
        '<script src="/assets/js/consent.js" defer></script>',
    ]
    art = [f"<h1>{_esc(page.title)}</h1>"]
    if page.kind != "low_quality":
        art.append(
            f'<p class="meta"><time datetime="{page.published:%Y-%m-%d}">{_esc(site["published"])} '
            f"{_date_text(bank, page.published)}</time></p>"
        )
    art += [f"<p>{_esc(p)}</p>" for p in page.paragraphs + page.extra_paragraphs]
    if page.licence and page.licence_markup == "a_rel":
        art.append(
            f'<p class="licence">{_esc(site["licence"])} <a rel="license" href="{LICENCE_URLS[page.licence]}">'
            f"{_esc(LICENCE_LABELS[page.licence])}</a>.</p>"
        )
    foot = [f'<li><a href="/{_slug(x) or "info"}">{_esc(x)}</a></li>' for x in site["footer"]]
    year = 2026 if not page.variant else 2025
    copyright_line = f"© {year} {_esc(host.name)}. {_esc(site['rights'])}"
    if host.site_licence:
        lic = host.site_licence
        copyright_line += (
            f' {_esc(site["licence"])} <a rel="license" href="{LICENCE_URLS[lic]}">{_esc(LICENCE_LABELS[lic])}</a>.'
        )
    html = "\n".join(
        [
            "<!DOCTYPE html>",
            f'<html lang="{page.lang}">',
            "<head>",
            *head,
            "</head>",
            '<body class="page">',
            f'<a class="skip-link" href="#main">{_esc(site["skip"])}</a>',
            '<div id="cookie-banner" class="cookie-banner" role="dialog" aria-modal="true">',
            f"<p>{_esc(site['cookie'])}</p>",
            f'<button class="accept">{_esc(site["accept"])}</button>',
            f'<button class="reject">{_esc(site["reject"])}</button>',
            "</div>",
            '<header class="site-header">',
            f'<a class="logo" href="/"><img src="/assets/img/logo.svg" alt="{_esc(host.name)}"> {_esc(host.name)}</a>',
            '<nav class="main-nav" aria-label="Main"><ul>',
            *[f'<li><a href="/{_slug(x) or "nav"}/">{_esc(x)}</a></li>' for x in nav_items],
            "</ul></nav>",
            f'<form class="search" action="/search" role="search"><input type="search" name="q" '
            f'placeholder="{_esc(site["search"])}"><button>{_esc(site["search"])}</button></form>',
            "</header>",
            f'<div class="breadcrumb"><a href="/">{_esc(site["home"])}</a> &rsaquo; '
            f'<a href="/{section}/">{section}</a></div>',
            '<main id="main">',
            "<article>",
            *art,
            "</article>",
            "</main>",
            '<aside class="sidebar">',
            f"<h2>{_esc(site['sidebar_title'])}</h2>",
            "<ul>",
            *[f'<li><a href="/{_slug(x) or "link"}">{_esc(x)}</a></li>' for x in sidebar],
            "</ul>",
            "</aside>",
            '<footer class="site-footer">',
            "<ul>",
            *foot,
            "</ul>",
            f"<p>{copyright_line}</p>",
            "</footer>",
            "</body>",
            "</html>",
            "",
        ]
    )
    return html.encode(page.charset, errors="xmlcharrefreplace")


def _png(width: int = 16, height: int = 16) -> bytes:
    """A real, small grayscale PNG (signature, IHDR, IDAT, IEND with CRCs)."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    rows = b"".join(b"\x00" + bytes((x * 16 + y * 8) % 256 for x in range(width)) for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def _extras(rng: random.Random, comp: _Composer, n: int) -> list[dict[str, Any]]:
    """Records other than the counted HTML pages: host captures, malformed records, non-HTML, non-200."""
    extras: list[dict[str, Any]] = []
    for host in HOSTS:
        robots_url = f"{host.origin}/robots.txt"
        if host.robots_status == 200:
            extras.append(
                {
                    "kind": "robots",
                    "url": robots_url,
                    "status": 200,
                    "content_type": "text/plain",
                    "body": host.robots.format(origin=host.origin).encode(),
                }
            )
        elif host.robots_status is not None:
            reason = "Not Found" if host.robots_status == 404 else "Internal Server Error"
            extras.append(
                {
                    "kind": "robots",
                    "url": robots_url,
                    "status": host.robots_status,
                    "content_type": "text/html; charset=utf-8",
                    "body": f"<html><body><h1>{host.robots_status} {reason}</h1></body></html>\n".encode(),
                }
            )
        tdm_url = f"{host.origin}/.well-known/tdmrep.json"
        if host.tdmrep is not None:
            extras.append(
                {
                    "kind": "tdmrep",
                    "url": tdm_url,
                    "status": 200,
                    "content_type": "application/json",
                    "body": (json.dumps(host.tdmrep, indent=2) + "\n").encode(),
                }
            )
        elif host.tdmrep_status:
            extras.append(
                {
                    "kind": "tdmrep",
                    "url": tdm_url,
                    "status": host.tdmrep_status,
                    "content_type": "text/html; charset=utf-8",
                    "body": b"<html><body><h1>404 Not Found</h1></body></html>\n",
                }
            )

    def article_page(host: Host, section: str) -> Page:
        published = datetime(2026, 2, 20, 9, 30, tzinfo=UTC)
        title, paras = comp.article(host.lang, host, 4, published)
        return Page(
            _new_url(host, section, title, n + len(extras)),
            host,
            host.lang,
            "article",
            title,
            [comp.text(host.lang, t, p) for t, p in paras],
            published,
            topic_paras=paras,
        )

    hohenfeld, jarvela, almby = (
        HOST_BY_ORIGIN["https://www.kreis-hohenfeld.de"],
        HOST_BY_ORIGIN["https://www.jarvela.fi"],
        HOST_BY_ORIGIN["https://www.almby.se"],
    )
    garbage = bytes(rng.randrange(256) for _ in range(700)).replace(b"\r\n", b"\n\r").replace(b"\n\n", b"\n.")
    extras.append({"kind": "garbage_http_binary", "url": f"{hohenfeld.origin}/service/formulare-{n}", "raw": garbage})
    extras.append(
        {
            "kind": "garbage_http_text",
            "url": f"{jarvela.origin}/palvelut/lomakkeet-{n}",
            "raw": b"HTTP/1.1 2OO OK\r\nContent-Type text/html\r\nSet-Cookie\x00\x00\r\n\r\n<html><body><p>"
            b"Lomakkeet</p></body></html>",
        }
    )
    bad = article_page(hohenfeld, "themen")
    body = render_html(bad)
    cut = body.index(b"</article>")
    body = body[:cut] + b"<p>Gr\xfc\xdfe aus dem Kreishaus \xc3\x28 \xff\xfe</p>\n" + body[cut:]
    extras.append(
        {
            "kind": "invalid_utf8",
            "url": bad.url,
            "status": 200,
            "content_type": "text/html; charset=utf-8",
            "body": body,
            "lang": "de",
        }
    )
    extras.append(
        {
            "kind": "non_html",
            "url": f"{almby.origin}/bilder/karta-{n}.png",
            "status": 200,
            "content_type": "image/png",
            "body": _png(),
        }
    )
    extras.append(
        {
            "kind": "redirect",
            "url": "http://www.almby.se/",
            "status": 301,
            "content_type": "text/html",
            "body": b'<html><body><a href="https://www.almby.se/">Moved</a></body></html>\n',
            "headers": [("Location", "https://www.almby.se/")],
        }
    )
    extras.append(
        {
            "kind": "not_found",
            "url": f"{jarvela.origin}/vanha-sivu",
            "status": 404,
            "content_type": "text/html; charset=utf-8",
            "body": '<html lang="fi"><head><title>Sivua ei löytynyt</title></head><body><h1>Sivua ei '
            "löytynyt</h1><p>Hakemaasi sivua ei valitettavasti löytynyt.</p></body></html>\n".encode(),
        }
    )
    trunc = article_page(jarvela, "ajankohtaista")
    extras.append(
        {
            "kind": "truncated",
            "url": trunc.url,
            "status": 200,
            "content_type": "text/html; charset=utf-8",
            "body": render_html(trunc),
            "lang": "fi",
        }
    )
    return extras


# ---------------------------------------------------------------------------------------------- WARC


_SERVERS = ("nginx", "Apache/2.4.62 (Debian)", "Microsoft-IIS/10.0", "nginx/1.26.2", "openresty")
_REASONS = {200: "OK", 301: "Moved Permanently", 404: "Not Found", 500: "Internal Server Error"}


@dataclass
class Record:
    warc_type: str
    url: str | None
    date: datetime
    record_id: str
    block: bytes
    content_type: str
    kind: str  # page kind or extra kind (robots, tdmrep, malformed kinds), "warcinfo", "request"
    concurrent_to: str | None = None
    declared_length: int | None = None  # set for the deliberately truncated record


def _http_date(when: datetime) -> str:
    return when.strftime("%a, %d %b %Y %H:%M:%S GMT")


def _http_response(
    status: int, content_type: str, body: bytes, when: datetime, server: str, extra: list[tuple[str, str]]
) -> bytes:
    headers = [
        ("Date", _http_date(when)),
        ("Server", server),
        ("Content-Type", content_type),
        ("Content-Length", str(len(body))),
        *extra,
        ("Connection", "close"),
    ]
    head = f"HTTP/1.1 {status} {_REASONS[status]}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    return head.encode("latin-1") + body


def _http_request(url: str, lang: str | None) -> bytes:
    rest = url.split("://", 1)[1]
    host, _, path = rest.partition("/")
    lines = [
        f"GET /{path} HTTP/1.1",
        f"Host: {host}",
        f"User-Agent: {USER_AGENT}",
        "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        f"Accept-Language: {lang or 'en'},en;q=0.5",
        "Accept-Encoding: identity",
        "Connection: close",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _sha1_b32(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


def _payload(block: bytes) -> bytes:
    head_end = block.find(b"\r\n\r\n")
    return block[head_end + 4 :] if head_end >= 0 else block


def warc_record_bytes(rec: Record, warcinfo_id: str | None) -> bytes:
    """One WARC/1.0 record, written by hand: version line, named fields, CRLF, block, CRLF CRLF (ISO 28500 §4).
    A writer library would add nothing here and makes fixed dates, ids and a deliberately short block harder."""
    length = rec.declared_length if rec.declared_length is not None else len(rec.block)
    fields = [
        ("WARC-Type", rec.warc_type),
        ("WARC-Date", rec.date.strftime("%Y-%m-%dT%H:%M:%SZ")),
        ("WARC-Record-ID", f"<urn:uuid:{rec.record_id}>"),
        ("Content-Length", str(length)),
        ("Content-Type", rec.content_type),
    ]
    if warcinfo_id and rec.warc_type != "warcinfo":
        fields.append(("WARC-Warcinfo-ID", f"<urn:uuid:{warcinfo_id}>"))
    if rec.concurrent_to:
        fields.append(("WARC-Concurrent-To", f"<urn:uuid:{rec.concurrent_to}>"))
    if rec.url:
        if rec.warc_type in ("request", "response"):
            ip = 2 + int(hashlib.sha1(rec.url.split("/")[2].encode()).hexdigest(), 16) % 250
            fields.append(("WARC-IP-Address", f"203.0.113.{ip}"))  # TEST-NET-3: documentation addresses
        fields.append(("WARC-Target-URI", rec.url))
    if rec.warc_type == "response":
        fields.append(("WARC-Payload-Digest", _sha1_b32(_payload(rec.block))))
    if rec.warc_type != "warcinfo":
        fields.append(("WARC-Block-Digest", _sha1_b32(rec.block)))
    head = "WARC/1.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields) + "\r\n"
    return head.encode("utf-8") + rec.block + b"\r\n\r\n"


@cache
def _layout(seed: int, n_pages: int) -> tuple[tuple[Record, ...], ...]:
    """The records of every file, in order, with dates and ids fixed by the seed."""
    plan = build_plan(seed, n_pages)
    rng = random.Random(f"{seed}-layout")  # str seeds are hashed with sha512: stable across runs and platforms
    order = list(plan.pages)
    rng.shuffle(order)
    slots: list[list[tuple[str, Any]]] = [[] for _ in range(N_FILES)]
    for i, extra in enumerate(e for e in plan.extras if e["kind"] in ("robots", "tdmrep")):
        slots[i % N_FILES].append(("extra", extra))
    for i, page in enumerate(order):
        slots[i % N_FILES].append(("page", page))
    others = [e for e in plan.extras if e["kind"] not in ("robots", "tdmrep", "truncated")]
    for i, extra in enumerate(others):
        f = i % N_FILES
        slots[f].insert(rng.randrange(len(slots[f]) // 2, len(slots[f])), ("extra", extra))
    slots[-1].append(("extra", next(e for e in plan.extras if e["kind"] == "truncated")))

    files: list[tuple[Record, ...]] = []
    serial = 0

    def new_id() -> str:
        nonlocal serial
        serial += 1
        return str(uuid.uuid5(_ID_NAMESPACE, f"{seed}/{n_pages}/{serial}"))

    for f, slot in enumerate(slots):
        when = CRAWL_START + timedelta(hours=3 * f)
        info = (
            f"software: sovereign demo corpus generator\r\nformat: WARC File Format 1.0\r\n"
            f"conformsTo: http://bibnum.bnf.fr/WARC/WARC_ISO_28500_version1_latestdraft.pdf\r\n"
            f"isPartOf: sovereign-demo-{seed}\r\noperator: Sovereign project (synthetic data)\r\n"
            f"http-header-user-agent: {USER_AGENT}\r\nrobots: checked, recorded, not obeyed (demo)\r\n"
            f"description: Synthetic European web crawl; every host, name and number in it is fictional.\r\n"
        )
        records = [Record("warcinfo", None, when, new_id(), info.encode(), "application/warc-fields", "warcinfo")]
        for what, item in slot:
            when += timedelta(seconds=rng.randint(1, 9))
            if what == "page":
                url, lang, kind = item.url, item.lang, item.kind
                block = _http_response(
                    200,
                    f"text/html; charset={item.charset}",
                    render_html(item),
                    when,
                    _SERVERS[HOSTS.index(item.host) % len(_SERVERS)],
                    item.http_headers,
                )
            else:
                url, lang, kind = item["url"], item.get("lang"), item["kind"]
                if "raw" in item:
                    block = item["raw"]
                else:
                    server = _SERVERS[len(url) % len(_SERVERS)]
                    block = _http_response(
                        item["status"], item["content_type"], item["body"], when, server, item.get("headers", [])
                    )
            req_id, resp_id = new_id(), new_id()
            records.append(
                Record(
                    "request",
                    url,
                    when,
                    req_id,
                    _http_request(url, lang),
                    "application/http; msgtype=request",
                    "request",
                    concurrent_to=resp_id,
                )
            )
            resp = Record(
                "response", url, when, resp_id, block, "application/http; msgtype=response", kind, concurrent_to=req_id
            )
            if kind == "truncated":  # the crawler's connection dropped: the block is shorter than declared
                resp.declared_length = len(block)
                resp.block = block[: len(block) * 3 // 5]
            records.append(resp)
        files.append(tuple(records))
    return tuple(files)


def generate_demo_corpus(out_dir: str | Path, seed: int = DEFAULT_SEED, pages: int = DEFAULT_PAGES) -> list[Path]:
    """Write the demo crawl as ``N_FILES`` WARC.gz files (one gzip member per record) and return their paths.

    Same seed and pages -> byte-identical files (given the same zlib build). Nothing else is written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for f, records in enumerate(_layout(seed, pages)):
        warcinfo_id = records[0].record_id
        members = [gzip.compress(warc_record_bytes(r, warcinfo_id), compresslevel=6, mtime=0) for r in records]
        path = out / FILE_PATTERN.format(f)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(b"".join(members))
        tmp.replace(path)
        paths.append(path)
    return paths


# ---------------------------------------------------------------------------------------------- expectations


def shingle_jaccard(a: str, b: str, n: int = 5) -> float:
    """Jaccard similarity of word n-gram sets (lower-cased), the measure fuzzy dedup approximates."""

    def grams(text: str) -> set[tuple[str, ...]]:
        words = re.findall(r"\w+", text.lower())
        return {tuple(words[i : i + n]) for i in range(max(1, len(words) - n + 1))}

    ga, gb = grams(a), grams(b)
    return len(ga & gb) / len(ga | gb) if ga | gb else 1.0


def demo_article_texts(seed: int = DEFAULT_SEED, pages: int = DEFAULT_PAGES) -> dict[str, str]:
    """URL -> the main text planted in each counted HTML page (what a perfect extractor returns)."""
    return {p.url: article_text(p) for p in build_plan(seed, pages).pages}


@cache
def _expectations(seed: int, n_pages: int) -> dict[str, Any]:
    plan = build_plan(seed, n_pages)
    files = _layout(seed, n_pages)
    where: dict[str, dict[str, Any]] = {}
    record_counts: dict[str, int] = {}
    for f, records in enumerate(files):
        for r in records:
            record_counts[r.warc_type] = record_counts.get(r.warc_type, 0) + 1
            if r.warc_type == "response" and r.url:
                where[r.url] = {"file": FILE_PATTERN.format(f), "record_id": f"<urn:uuid:{r.record_id}>"}

    page_rows: dict[str, dict[str, Any]] = {}
    by_lang: dict[str, int] = {}
    articles_by_lang: dict[str, int] = {}
    signals: dict[str, list[str]] = {}
    for p in sorted(plan.pages, key=lambda p: p.url):
        by_lang[p.lang] = by_lang.get(p.lang, 0) + 1
        if p.kind != "low_quality":
            articles_by_lang[p.lang] = articles_by_lang.get(p.lang, 0) + 1
        lic = p.licence or p.host.site_licence
        page_rows[p.url] = {
            "lang": p.lang,
            "kind": p.kind,
            "host": p.host.origin,
            **where[p.url],
            "licence": lic,
            "charset": p.charset,
            "pii_types": sorted(p.pii),
            "signals": p.signals,
            "optout": any(s["reserves"] for s in p.signals),
            "words": len(re.findall(r"\w+", article_text(p))),
        }
        for s in p.signals:
            signals.setdefault(s["kind"], []).append(p.url)
    extras = {e["kind"]: e for e in plan.extras}
    hosts = {
        h.origin: {
            "lang": h.lang,
            "robots_status": h.robots_status,
            "robots_url": f"{h.origin}/robots.txt",
            "tdmrep_status": 200 if h.tdmrep is not None else h.tdmrep_status,
            "pages": sum(1 for p in plan.pages if p.host is h),
        }
        for h in HOSTS
    }
    return {
        "seed": seed,
        "pages": n_pages,
        "files": [FILE_PATTERN.format(f) for f in range(len(files))],
        "record_counts": dict(sorted(record_counts.items())),
        "html_pages": len(plan.pages),  # text/html 200 responses counted by `pages`
        "pages_by_language": dict(sorted(by_lang.items())),
        "articles_by_language": dict(sorted(articles_by_lang.items())),  # natural-text pages (no low quality)
        "page": page_rows,
        "exact_dup_groups": plan.exact_groups,  # first URL = the original; all share one HTTP payload
        "near_dup_groups": plan.near_groups,  # change: sentence | paragraph | date_only (+ date, boilerplate)
        "low_quality": {p.url: p.low_quality for p in plan.pages if p.low_quality},
        "pii": {p.url: p.pii for p in plan.pages if p.pii},
        "licences": {u: r["licence"] for u, r in page_rows.items() if r["licence"]},
        "licence_markup": {p.url: p.licence_markup for p in plan.pages if p.licence},
        "rights": {
            "signals": {k: sorted(v) for k, v in sorted(signals.items())},
            "optout_urls": sorted(u for u, r in page_rows.items() if r["optout"]),
            "controls": sorted(u for u, r in page_rows.items() if r["signals"] and not r["optout"]),
            "policy": "conservative: any reservation for any AI-training agent token (robots disallow for GPTBot, "
            "CCBot or *, robots 5xx, X-Robots-Tag noai/noindex addressed to an AI agent, meta noai, "
            "Content-Usage train-ai=n, Content-Signal ai-train=no, TDMRep 1) opts the URL out",
        },
        "hosts": hosts,
        "host_captures": {
            e["url"]: {"kind": e["kind"], "status": e["status"]}
            for e in plan.extras
            if e["kind"] in ("robots", "tdmrep")
        },
        "malformed": {
            k: extras[k]["url"] for k in ("garbage_http_binary", "garbage_http_text", "invalid_utf8", "truncated")
        },
        "non_html": {extras["non_html"]["url"]: "image/png"},
        "non_200": {extras["redirect"]["url"]: 301, extras["not_found"]["url"]: 404},
        "truncated_record": {"file": FILE_PATTERN.format(len(files) - 1), "url": extras["truncated"]["url"]},
        "charsets": {p.url: p.charset for p in plan.pages if p.charset != "utf-8"},
        "where": where,  # every response URL -> file, WARC-Record-ID
    }


def demo_expectations(seed: int = DEFAULT_SEED, pages: int = DEFAULT_PAGES) -> dict[str, Any]:
    """What ``generate_demo_corpus(seed=seed, pages=pages)`` planted where (a fresh copy; safe to mutate)."""
    return copy.deepcopy(_expectations(seed, pages))


def __getattr__(name: str) -> Any:  # DEMO_EXPECTATIONS is computed on first use, not at import
    if name == "DEMO_EXPECTATIONS":
        return demo_expectations()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
