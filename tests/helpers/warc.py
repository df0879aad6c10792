"""Real WARC bytes for tests, written with warcio (an independent implementation from the fastwarc we read with).

Record ids and dates are derived from the URL and the record's index in its file, never drawn at random: the
same call writes the same bytes, so ids (and which copy of a page dedup keeps) are the same on every run."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

PARAGRAPH = (
    "Die Europäische Union fördert die Zusammenarbeit zwischen den Mitgliedstaaten in vielen Bereichen. "
    "Bürgerinnen und Bürger können sich an öffentliche Stellen wenden, wenn sie Fragen zu ihren Rechten haben. "
    "Die Verwaltung veröffentlicht regelmäßig Berichte über ihre Arbeit und die Verwendung der Haushaltsmittel. "
)
HTML = b"<html><head><title>t</title></head><body><p>Some article text.</p></body></html>"
BASE_DATE = datetime(2026, 1, 1, tzinfo=UTC)
_REASONS = {100: "Continue", 200: "OK", 301: "Moved Permanently", 404: "Not Found", 503: "Service Unavailable"}


def record_id(url: str, index: int = 0) -> str:
    """A WARC-Record-ID fixed by the URL and the record's index in its file (uuid5: the WARC spec wants a URI)."""
    return f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{index}:{url}')}>"


def warc_date(index: int = 0) -> str:
    """A fixed capture date per record index (one second apart, so snapshot order follows the file order)."""
    return (BASE_DATE + timedelta(seconds=index)).strftime("%Y-%m-%dT%H:%M:%SZ")


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
    date: str | None = None,
    index: int = 0,
) -> None:
    """One response record; its id comes from (url, index) and its date from `date` or the index."""
    http = StatusAndHeaders(status, [("Content-Type", content_type), *(headers or [])], protocol="HTTP/1.1")
    warc_headers = {"WARC-Record-ID": record_id(url, index), "WARC-Date": date or warc_date(index)}
    rec = writer.create_warc_record(
        url, "response", payload=io.BytesIO(body), http_headers=http, warc_headers_dict=warc_headers
    )
    writer.write_record(rec)


def write_warc(path: Path, pages: list[tuple[str, bytes]], gzip: bool = True) -> Path:
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=gzip)
        for i, (url, body) in enumerate(pages):
            response(writer, url, body, index=i)
    return path


def german_pages(n: int, host: str = "https://www.beispiel.de", start: int = 0) -> list[tuple[str, bytes]]:
    pages = []
    for i in range(start, start + n):
        paras = [f"Bericht {i}: " + PARAGRAPH, PARAGRAPH.replace("Union", f"Union ({i})"), PARAGRAPH]
        pages.append((f"{host}/seite/{i}", html_page(f"Seite {i}", paras)))
    return pages


# --- records described as dicts (the rights tests: status codes, headers and capture dates per record) ----------


def rec(
    url: str,
    body: bytes = HTML,
    status: int = 200,
    headers: list[tuple[str, str]] | None = None,
    date: str = "2025-03-01T00:00:00Z",
    ctype: str = "text/html; charset=utf-8",
) -> dict[str, Any]:
    return {"url": url, "body": body, "status": status, "headers": headers or [], "date": date, "ctype": ctype}


def robots(body: str, host: str = "https://ex.eu", status: int = 200, date: str = "2025-02-01T00:00:00Z"):
    return rec(f"{host}/robots.txt", body.encode(), status=status, ctype="text/plain", date=date)


def warc_bytes(records: list[dict[str, Any]]) -> bytes:
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=True)
    for i, r in enumerate(records):
        status = f"{r['status']} {_REASONS.get(r['status'], 'Status')}"
        response(writer, r["url"], r["body"], status, list(r["headers"]), r["ctype"], r["date"], index=i)
    return buf.getvalue()
