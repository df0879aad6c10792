"""The demo crawl's oracle: what ``generate_demo_corpus(seed, pages)`` planted where, for tests of every stage."""

from __future__ import annotations

import copy
import re
from functools import cache
from typing import Any

from sovereign.pipeline.synthetic.crawl import FILE_PATTERN, layout
from sovereign.pipeline.synthetic.hosts import HOSTS
from sovereign.pipeline.synthetic.pages import article_text
from sovereign.pipeline.synthetic.plan import DEFAULT_PAGES, DEFAULT_SEED, build_plan


def demo_article_texts(seed: int = DEFAULT_SEED, pages: int = DEFAULT_PAGES) -> dict[str, str]:
    """URL -> the main text planted in each counted HTML page (what a perfect extractor returns)."""
    return {p.url: article_text(p) for p in build_plan(seed, pages).pages}


@cache
def _expectations(seed: int, n_pages: int) -> dict[str, Any]:
    plan = build_plan(seed, n_pages)
    files = layout(seed, n_pages)
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
