"""Rights stage throughput: docs/s and its time relative to reading the same WARC (the anchor, measured in the
same run), on the shared WARC (empty text, and the pages' plain text so the licence phrase search runs) and on a
synthetic many-docs-per-host set. CPU seconds are shown too: the machine is shared, wall time is noisy.

    .venv/bin/python bench/rights_overhead.py [--warc PATH] [--synthetic-docs 5000]
"""

from __future__ import annotations

import argparse
import io
import json
import time
from pathlib import Path

import pyarrow as pa
from _shared import shared_data_dir  # bench/_shared.py, beside this script: the one data rule
from fastwarc.warc import ArchiveIterator, WarcRecordType
from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.html import HTMLTree

from sovereign.pipeline.schema import DOCUMENT_SCHEMA, document_id
from sovereign.stages.base import HostEvidence
from sovereign.stages.rights import RightsStage, host_evidence_table
from sovereign.stages.rights.evidence import capture_kind

SHARED_WARC = shared_data_dir() / "warc" / "trafilatura-dev-00.warc.gz"


def read_docs(data: bytes) -> tuple[list[dict], list[dict]]:
    docs, caps = [], []
    for r in ArchiveIterator(io.BytesIO(data), record_types=WarcRecordType.response, parse_http=True):
        url = (r.headers.get("WARC-Target-URI") or "").strip("<>")
        pairs = [[k, v] for k, v in r.http_headers.items()]
        body = r.reader.read()
        if capture_kind(url):
            caps.append(
                {
                    "url": url,
                    "http_status": r.http_headers.status_code,
                    "headers": pairs,
                    "body": body,
                    "fetched_at": r.headers.get("WARC-Date"),
                    "source_uri": f"#offset={r.stream_pos}",
                }
            )
            continue
        docs.append(
            {
                "id": document_id(f"{url}#{r.stream_pos}"),
                "text": "",
                "url": url,
                "domain": url.split("/")[2] if "//" in url else None,
                "source": "bench",
                "fetched_at": r.headers.get("WARC-Date"),
                "_raw": body,
                "_http_headers": json.dumps(pairs),
                "_content_type": "text/html",
                "_charset": "utf-8",
            }
        )
    return docs, caps


def synthetic(n_docs: int, n_hosts: int) -> tuple[bytes, list[dict], list[dict]]:
    page = (
        b"<html><head><title>t</title><meta name='robots' content='index'></head><body>"
        + b"<p>Lorem ipsum dolor sit amet.</p>" * 200
        + b"<footer><a rel='license' href='https://creativecommons.org/licenses/by/4.0/'>CC BY</a></footer>"
        + b"</body></html>"
    )
    robots = shared_data_dir() / "conformance" / "ai-robots-txt" / "robots.txt"
    body = (robots.read_text() if robots.exists() else "User-agent: GPTBot\nDisallow: /\n").replace(
        "Disallow: /", "Disallow: /private/"
    )
    caps = [
        {
            "url": f"https://h{i}.example/robots.txt",
            "http_status": 200,
            "headers": [],
            "body": body.encode(),
            "fetched_at": "2025-01-01T00:00:00Z",
            "source_uri": "synthetic",
        }
        for i in range(n_hosts)
    ]
    docs = [
        {
            "id": f"{i:032x}",
            "text": "",
            "url": f"https://h{i % n_hosts}.example/a/{i}.html",
            "source": "bench",
            "fetched_at": "2025-02-01T00:00:00Z",
            "_raw": page,
            "_http_headers": json.dumps([["Content-Type", "text/html"], ["X-Robots-Tag", "noarchive"]]),
            "_content_type": "text/html",
            "_charset": "utf-8",
        }
        for i in range(n_docs)
    ]
    return page, docs, caps


def run(name: str, docs: list[dict], caps: list[dict], anchor_s: float) -> None:
    table = pa.Table.from_pylist([{k: d.get(k) for k in DOCUMENT_SCHEMA.names} for d in docs], schema=DOCUMENT_SCHEMA)
    stage = RightsStage()
    stage.host_evidence = HostEvidence(host_evidence_table(caps))
    t0, c0 = time.perf_counter(), time.process_time()
    stage.ensure_setup()
    res = stage.process(table)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    dropped = len(res.decisions)
    print(
        f"| {name:<28} | {len(docs):>6} | {len(caps):>5} | {dropped:>7} | {len(docs) / dt:>7.0f} | {dt:>6.2f} "
        f"| {cpu:>5.2f} | {anchor_s:>8.2f} | {dt / anchor_s:>6.2f} |"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--warc", default=str(SHARED_WARC))
    ap.add_argument("--synthetic-docs", type=int, default=5000)
    ap.add_argument("--synthetic-hosts", type=int, default=50)
    args = ap.parse_args()
    head = "| set                          |   docs | hosts | dropped |  docs/s | wall s | cpu s | anchor s |  ratio |"
    print(head)
    print("".join(c if c == "|" else "-" for c in head))
    if Path(args.warc).exists():
        data = Path(args.warc).read_bytes()
        t0 = time.perf_counter()
        docs, caps = read_docs(data)
        anchor = time.perf_counter() - t0
        run(Path(args.warc).name, docs, caps, anchor)
        for d in docs:  # what the extract stage hands on: plain text
            d["text"] = extract_plain_text(HTMLTree.parse_from_bytes(d["_raw"], "utf-8"), main_content=True)
        run(f"{Path(args.warc).name[:18]} + text", docs, caps, anchor)
    else:
        print(f"(shared WARC not found at {args.warc})")
    _, docs, caps = synthetic(args.synthetic_docs, args.synthetic_hosts)
    t0 = time.perf_counter()
    # anchor: what the ingest must do anyway per document, decode its headers JSON and touch the HTML bytes
    for d in docs:
        json.loads(d["_http_headers"])
        d["_raw"].find(b"</html>")
    anchor = time.perf_counter() - t0
    run(f"synthetic {args.synthetic_hosts} hosts", docs, caps, anchor)
    print("wall s, cpu s: the rights stage; ratio = its wall time / the anchor's, both measured in this run")
    print("(anchor for the WARC rows: reading the WARC with fastwarc)")


if __name__ == "__main__":
    main()
