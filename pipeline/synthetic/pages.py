"""Pages of the demo crawl: the ``Page`` record, its article text, and composing articles, near-duplicate
variants and low-quality pages from the sentence banks."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sovereign.pipeline.synthetic.banks import date_text, load_bank, slug
from sovereign.pipeline.synthetic.hosts import LICENCE_LABELS, Host


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


def article_text(page: Page) -> str:
    """The main content a perfect extractor returns: title, date line, paragraphs (what <article> holds)."""
    bank = load_bank(page.lang)
    lines = [page.title]
    if page.kind != "low_quality":
        lines.append(f"{bank['site']['published']} {date_text(bank, page.published)}")
    lines += page.paragraphs + page.extra_paragraphs
    if page.licence and page.licence_markup != "link_rel":
        lines.append(f"{bank['site']['licence']} {LICENCE_LABELS[page.licence]}.")
    return "\n".join(lines)


class Composer:
    """Builds articles from the banks; never repeats a (topic, sentence set) paragraph across the corpus."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[tuple[str, str, tuple[int, ...]]] = set()
        self.titles: set[tuple[str, str]] = set()

    def paragraph(self, lang: str, topic: str, k: int, avoid: frozenset[int] = frozenset()) -> tuple[int, ...]:
        n = len(self.topic(lang, topic)["sentences"])
        for _ in range(200):
            pool = [i for i in range(n) if i not in avoid]
            pick = tuple(sorted(self.rng.sample(pool, min(k, len(pool)))))
            if (lang, topic, pick) not in self.used:
                self.used.add((lang, topic, pick))
                return pick
            k = self.rng.randint(2, 4)
        raise RuntimeError("sentence bank too small for the requested number of pages")

    def topic(self, lang: str, key: str) -> dict[str, Any]:
        return next(t for t in load_bank(lang)["topics"] if t["key"] == key)

    def text(self, lang: str, topic: str, pick: tuple[int, ...]) -> str:
        sentences = self.topic(lang, topic)["sentences"]
        return " ".join(sentences[i] for i in pick)

    def article(
        self, lang: str, host: Host, n_paras: int, when: datetime
    ) -> tuple[str, list[tuple[str, tuple[int, ...]]]]:
        bank = load_bank(lang)
        topics = [t["key"] for t in bank["topics"]]
        order = self.rng.sample(topics, min(n_paras, len(topics)))
        paras = [(t, self.paragraph(lang, t, self.rng.randint(2, 4))) for t in order]
        title = self.rng.choice(self.topic(lang, order[0])["titles"])
        if (host.origin, title) in self.titles:  # recurring notices on one site carry their date
            title = f"{title} ({date_text(bank, when)})"
        self.titles.add((host.origin, title))
        return title, paras

    def article_page(self, host: Host, section: str, n_paras: int, published: datetime, n: int) -> Page:
        """An ordinary article of ``host`` at ``/<section>/<title slug>-<n>``."""
        title, paras = self.article(host.lang, host, n_paras, published)
        texts = [self.text(host.lang, t, pick) for t, pick in paras]
        url = new_url(host, section, title, n)
        return Page(url, host, host.lang, "article", title, texts, published, topic_paras=paras)


def new_url(host: Host, section: str, title: str, n: int) -> str:
    name = slug(title.split(" (")[0]) or "article"
    return f"{host.origin}/{section}/{name}-{n}"


def near_variant(orig: Page, change: str, comp: Composer, rng: random.Random, n: int, when: datetime) -> Page:
    paras = list(orig.topic_paras)
    if change == "sentence":
        i = rng.randrange(len(paras))
        topic, pick = paras[i]
        n_sent = len(comp.topic(orig.lang, topic)["sentences"])
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
        new_url(host, section, orig.title, n),
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


def low_quality(host: Host, kind: str, rng: random.Random, n: int, published: datetime) -> Page:
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
        f"{host.origin}/{host.sections[0]}/{slug(title) or 'page'}-{n}",
        host,
        host.lang,
        "low_quality",
        title,
        paras,
        published,
    )
    page.low_quality = kind
    return page
