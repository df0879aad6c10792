"""Hostile inputs for the ingest (issue 9, findings 5 and 6): each function takes a size and returns file bytes.

Promises they test: every input record gets exactly one manifest row and the records after a bad one are read
(jsonl_deep_line, warc_lying_length); decompression and host captures never cost memory in proportion to the
input (warc_gzip_bomb, warc_big_robots).
"""

from __future__ import annotations

import gzip
import json
import zlib

PARA = "Die Verwaltung veröffentlicht regelmäßig Berichte über ihre Arbeit und die Verwendung der Mittel. "


def jsonl_deep_line(lines: int, depth: int = 100_000) -> bytes:
    """`lines` JSONL documents; the middle one is an array nested `depth` deep (RecursionError in json)."""
    out = []
    for i in range(lines):
        if i == lines // 2:
            out.append(b"[" * depth + b"]" * depth)
        else:
            out.append(json.dumps({"id": f"d{i}", "text": f"Dokument {i}. " + PARA * 3}).encode())
    return b"\n".join(out) + b"\n"


def _record(i: int, body: bytes, url: str, delta: int = 0) -> bytes:
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + body
    head = (
        "WARC/1.0\r\nWARC-Type: response\r\n"
        f"WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-{i:012d}>\r\nWARC-Target-URI: {url}\r\n"
        "WARC-Date: 2026-01-01T00:00:00Z\r\nContent-Type: application/http; msgtype=response\r\n"
        f"Content-Length: {len(http) + delta}\r\n\r\n"
    ).encode()
    return head + http + b"\r\n\r\n"


def warc_pages(pages: list[tuple[str, bytes]], gz: bool = True) -> bytes:
    """A WARC of HTML response records, one per (url, html body), each in its own gzip member when ``gz``."""
    recs = [_record(i, body, url) for i, (url, body) in enumerate(pages)]
    return b"".join(gzip.compress(r, mtime=0) for r in recs) if gz else b"".join(recs)


def page(i: int) -> bytes:
    paras = "".join(f"<p>Bericht {i}: {PARA}{PARA}</p>" for _ in range(3))
    head = f'<!doctype html><html lang="de"><head><title>Seite {i}</title></head>'
    return f"{head}<body><main>{paras}</main></body></html>".encode()


def warc_lying_length(records: int, delta: int = 200, gz: bool = True, bad: int | None = None) -> bytes:
    """`records` response records; record `bad` (default: the middle one) declares a Content-Length `delta` bytes
    off (positive: it swallows the start of the next record; a huge value swallows all the rest)."""
    bad = records // 2 if bad is None else bad
    recs = [_record(i, page(i), f"https://www.beispiel.de/seite/{i}", delta if i == bad else 0) for i in range(records)]
    return b"".join(gzip.compress(r, mtime=0) for r in recs) if gz else b"".join(recs)


def warc_gzip_bomb(body_mib: int) -> bytes:
    """One response record of `body_mib` MiB of zeros in one gzip member (about 1 KiB per MiB on disk)."""
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n"
    size = len(http) + body_mib * (1 << 20)
    head = (
        "WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-00000000b0b0>\r\n"
        "WARC-Target-URI: https://bomb.example.de/\r\nWARC-Date: 2026-01-01T00:00:00Z\r\n"
        f"Content-Type: application/http; msgtype=response\r\nContent-Length: {size}\r\n\r\n"
    ).encode()
    c = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [c.compress(head + http)]
    zeros = bytes(1 << 20)
    for _ in range(body_mib):
        parts.append(c.compress(zeros))
    parts.append(c.compress(b"\r\n\r\n"))
    parts.append(c.flush())
    return b"".join(parts)


def warc_big_robots(hosts: int, body_mib: int = 15) -> bytes:
    """`hosts` hosts, each with a robots.txt of `body_mib` MiB (allowing everything) and one page."""
    lines = b"".join(b"Allow: /pfad/%d/\n" % i for i in range(2000))
    robots = (b"User-agent: *\n" + lines * (body_mib * (1 << 20) // len(lines) + 1))[: body_mib << 20]
    out = []
    for h in range(hosts):
        host = f"https://host{h}.beispiel.de"
        out.append(gzip.compress(_record(2 * h, robots, f"{host}/robots.txt"), mtime=0, compresslevel=6))
        out.append(gzip.compress(_record(2 * h + 1, page(h), f"{host}/seite/{h}"), mtime=0))
    return b"".join(out)
