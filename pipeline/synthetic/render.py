"""The HTML renderer of the demo crawl: a planned page as a real-looking site page (boilerplate around the
article)."""

from __future__ import annotations

from sovereign.pipeline.synthetic.banks import date_text, load_bank, slug
from sovereign.pipeline.synthetic.hosts import LICENCE_LABELS, LICENCE_URLS
from sovereign.pipeline.synthetic.pages import Page


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
            f"{date_text(bank, page.published)}</time></p>"
        )
    art += [f"<p>{_esc(p)}</p>" for p in page.paragraphs + page.extra_paragraphs]
    if page.licence and page.licence_markup == "a_rel":
        art.append(
            f'<p class="licence">{_esc(site["licence"])} <a rel="license" href="{LICENCE_URLS[page.licence]}">'
            f"{_esc(LICENCE_LABELS[page.licence])}</a>.</p>"
        )
    foot = [f'<li><a href="/{slug(x) or "info"}">{_esc(x)}</a></li>' for x in site["footer"]]
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
            *[f'<li><a href="/{slug(x) or "nav"}/">{_esc(x)}</a></li>' for x in nav_items],
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
            *[f'<li><a href="/{slug(x) or "link"}">{_esc(x)}</a></li>' for x in sidebar],
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
