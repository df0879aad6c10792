"""The WARC/1.0 writer of the demo crawl: HTTP request/response blocks and records with fixed dates and ids."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime

USER_AGENT = "SovereignDemoBot/1.0 (+https://sovereign.invalid/bot; synthetic crawl)"
SERVERS = ("nginx", "Apache/2.4.62 (Debian)", "Microsoft-IIS/10.0", "nginx/1.26.2", "openresty")
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


def http_response(
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


def http_request(url: str, lang: str | None) -> bytes:
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
