"""Real WARC bytes for tests, written with warcio (an independent implementation from the fastwarc we read with)."""

from __future__ import annotations

import io
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

PARAGRAPH = (
    "Die Europäische Union fördert die Zusammenarbeit zwischen den Mitgliedstaaten in vielen Bereichen. "
    "Bürgerinnen und Bürger können sich an öffentliche Stellen wenden, wenn sie Fragen zu ihren Rechten haben. "
    "Die Verwaltung veröffentlicht regelmäßig Berichte über ihre Arbeit und die Verwendung der Haushaltsmittel. "
)


def html_page(title: str, body_paragraphs: list[str], lang: str = "de", head_extra: str = "") -> bytes:
    paras = "".join(f"<p>{p}</p>" for p in body_paragraphs)
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>{head_extra}</head>'
        f"<body><nav><a href='/'>Start</a> | <a href='/kontakt'>Kontakt</a></nav>"
        f"<main><article><h1>{title}</h1>{paras}</article></main>"
        f"<footer>© 2026 Beispiel GmbH · Impressum · Datenschutz</footer></body></html>"
    ).encode()


def response(
    writer: WARCWriter,
    url: str,
    body: bytes,
    status: str = "200 OK",
    headers: list[tuple[str, str]] | None = None,
    content_type: str = "text/html; charset=utf-8",
) -> None:
    http = StatusAndHeaders(status, [("Content-Type", content_type), *(headers or [])], protocol="HTTP/1.1")
    rec = writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http)
    writer.write_record(rec)


def write_warc(path: Path, pages: list[tuple[str, bytes]], gzip: bool = True) -> Path:
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=gzip)
        for url, body in pages:
            response(writer, url, body)
    return path


def german_pages(n: int, host: str = "https://www.beispiel.de", start: int = 0) -> list[tuple[str, bytes]]:
    pages = []
    for i in range(start, start + n):
        paras = [f"Bericht {i}: " + PARAGRAPH, PARAGRAPH.replace("Union", f"Union ({i})"), PARAGRAPH]
        pages.append((f"{host}/seite/{i}", html_page(f"Seite {i}", paras)))
    return pages
