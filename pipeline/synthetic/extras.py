"""The demo crawl's records other than counted HTML pages: robots.txt and tdmrep.json captures, malformed
records, a PNG, a redirect, a 404 and a page whose record the crawler truncated."""

from __future__ import annotations

import json
import random
import struct
import zlib
from datetime import UTC, datetime
from typing import Any

from sovereign.pipeline.synthetic.hosts import HOST_BY_ORIGIN, HOSTS, Host
from sovereign.pipeline.synthetic.pages import Composer, Page
from sovereign.pipeline.synthetic.render import render_html


def _png(width: int = 16, height: int = 16) -> bytes:
    """A real, small grayscale PNG (signature, IHDR, IDAT, IEND with CRCs)."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    rows = b"".join(b"\x00" + bytes((x * 16 + y * 8) % 256 for x in range(width)) for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def extras(rng: random.Random, comp: Composer, n: int) -> list[dict[str, Any]]:
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
        return comp.article_page(host, section, 4, datetime(2026, 2, 20, 9, 30, tzinfo=UTC), n + len(extras))

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
