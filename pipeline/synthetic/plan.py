"""The plan of the demo crawl: every page, planted feature (rights signals, licences, PII, charsets, exact and
near duplicates, low-quality pages) and extra record, decided from the seed alone."""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from sovereign.pipeline.synthetic import MAX_PAGES, MIN_PAGES
from sovereign.pipeline.synthetic import identifiers as ids
from sovereign.pipeline.synthetic.banks import COUNTRY, LANGUAGES, load_bank
from sovereign.pipeline.synthetic.contacts import contact_email, national_phone
from sovereign.pipeline.synthetic.extras import extras as plan_extras
from sovereign.pipeline.synthetic.hosts import HOSTS, LICENCE_URLS, PAGE_LICENCES, host_signals
from sovereign.pipeline.synthetic.pages import Composer, Page, article_text, low_quality, near_variant
from sovereign.pipeline.synthetic.similarity import shingle_jaccard

DEFAULT_SEED = 20261123
DEFAULT_PAGES = 400
NEAR_DUP_MIN_JACCARD = 0.72

NATIONAL_IDS = {  # language -> (entity type as presidio names it, generator with the crawl's draw)
    "de": ("DE_TAX_ID", lambda rng: ids.de_tax_id(rng, draw="demo")),
    "fr": ("FR_NIR", lambda rng: ids.fr_nir(rng, draw="demo")),
    "es": ("ES_NIF", lambda rng: ids.es_nif(rng, draw="demo")),
    "it": ("IT_FISCAL_CODE", lambda rng: ids.it_fiscal_code(rng, draw="demo")),
    "pl": ("PL_PESEL", lambda rng: ids.pl_pesel(rng, draw="demo")),
    "nl": ("NL_BSN", ids.nl_bsn),
}


def _allocate(total: int, weights: list[int]) -> list[int]:
    """Largest-remainder split of ``total`` by ``weights`` (deterministic: ties go to the earlier entry)."""
    exact = [total * w / sum(weights) for w in weights]
    out = [int(x) for x in exact]
    for i in sorted(range(len(weights)), key=lambda i: (-(exact[i] - out[i]), i))[: total - sum(out)]:
        out[i] += 1
    return out


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


@cache
def build_plan(seed: int = DEFAULT_SEED, n_pages: int = DEFAULT_PAGES) -> DemoPlan:
    """Everything the corpus will contain, decided from the seed alone (no I/O but the sentence banks)."""
    if not MIN_PAGES <= n_pages <= MAX_PAGES:
        raise ValueError(
            f"pages must be between {MIN_PAGES} (every planted feature fits) and {MAX_PAGES} "
            f"(sentence banks stay unrepeated), got {n_pages}"
        )
    rng = random.Random(seed)
    comp = Composer(rng)
    n_exact, n_near, n_lowq = _counts(n_pages)
    n_articles = n_pages - n_exact - n_near - n_lowq
    counter = iter(range(1000, 10**9))

    def when() -> datetime:
        return datetime(2025, 9, 1, tzinfo=UTC) + timedelta(days=rng.randrange(180), minutes=rng.randrange(1440))

    # Ordinary articles, spread over hosts by weight and over each host's sections round-robin.
    pages: list[Page] = []
    for host, count in zip(HOSTS, _allocate(n_articles, [h.weight for h in HOSTS]), strict=True):
        for i in range(count):
            published = when()  # drawn before the paragraph count: the rng order fixes the corpus bytes
            section = host.sections[i % len(host.sections)]
            page = comp.article_page(host, section, rng.randint(5, 6), published, next(counter))
            page.signals = host_signals(host, page.path)
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
        variant = near_variant(orig, change, comp, rng, next(counter), when())
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
        pages.append(low_quality(host, lowq_kinds[i % len(lowq_kinds)], rng, next(counter), when()))

    extras = plan_extras(rng, comp, next(counter))
    return DemoPlan(seed, n_pages, pages, exact_groups, near_groups, extras)


def _plant_pii(page: Page, rng: random.Random, with_id: bool) -> None:
    bank = load_bank(page.lang)
    name = rng.choice(bank["pii"]["names"])
    phone = national_phone(rng, page.lang)
    email = contact_email(name, page.host.host.removeprefix("www."), rng)
    shown_iban = ids.grouped4(ids.iban(rng, COUNTRY[page.lang]))
    lines = [
        bank["pii"]["contact"].format(name=name, phone=phone, email=email),
        bank["pii"]["iban"].format(iban=shown_iban),
    ]
    page.pii = {"PERSON": [name], "PHONE_NUMBER": [phone], "EMAIL_ADDRESS": [email], "IBAN_CODE": [shown_iban]}
    if with_id:
        entity, make = NATIONAL_IDS[page.lang]
        value = make(rng)
        if page.lang == "fr":  # NIR is written in groups: s yy mm dd ccc ooo kk
            value = ids.grouped_nir(value)
        lines.append(bank["pii"]["national_id"].format(id=value))
        page.pii[entity] = [value]
    page.extra_paragraphs += [" ".join(lines)]
