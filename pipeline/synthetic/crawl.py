"""``generate_demo_corpus``: the demo crawl's records laid out over a few WARC.gz files (one gzip member per
record, gzip mtime 0, fixed WARC-Dates, record ids derived from the seed).

The crawl is a deterministic synthetic European web crawl for ``sovereign demo`` and for tests of every stage:
HTML pages in 14 EU languages with boilerplate, exact and near duplicates, low-quality pages, synthetic PII with
valid checksums, every kind of rights signal the rights stage reads, robots.txt and tdmrep.json captures, and a
few malformed records (plan.py decides them; expectations.py says what was planted where). All names, hosts and
numbers are fictional.
"""

from __future__ import annotations

import gzip
import random
import uuid
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from sovereign.pipeline.synthetic.hosts import HOSTS
from sovereign.pipeline.synthetic.plan import DEFAULT_PAGES, DEFAULT_SEED, build_plan
from sovereign.pipeline.synthetic.render import render_html
from sovereign.pipeline.synthetic.warc import (
    SERVERS,
    USER_AGENT,
    Record,
    http_request,
    http_response,
    warc_record_bytes,
)

N_FILES = 4
FILE_PATTERN = "sovereign-demo-{:05d}.warc.gz"
CRAWL_START = datetime(2026, 3, 2, 6, 0, 0, tzinfo=UTC)
_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://sovereign.invalid/demo-corpus")


@cache
def layout(seed: int, n_pages: int) -> tuple[tuple[Record, ...], ...]:
    """The records of every file, in order, with dates and ids fixed by the seed."""
    plan = build_plan(seed, n_pages)
    rng = random.Random(f"{seed}-layout")  # str seeds are hashed with sha512: stable across runs and platforms
    order = list(plan.pages)
    rng.shuffle(order)
    slots: list[list[tuple[str, Any]]] = [[] for _ in range(N_FILES)]
    for i, extra in enumerate(e for e in plan.extras if e["kind"] in ("robots", "tdmrep")):
        slots[i % N_FILES].append(("extra", extra))
    for i, page in enumerate(order):
        slots[i % N_FILES].append(("page", page))
    others = [e for e in plan.extras if e["kind"] not in ("robots", "tdmrep", "truncated")]
    for i, extra in enumerate(others):
        f = i % N_FILES
        slots[f].insert(rng.randrange(len(slots[f]) // 2, len(slots[f])), ("extra", extra))
    slots[-1].append(("extra", next(e for e in plan.extras if e["kind"] == "truncated")))

    files: list[tuple[Record, ...]] = []
    serial = 0

    def new_id() -> str:
        nonlocal serial
        serial += 1
        return str(uuid.uuid5(_ID_NAMESPACE, f"{seed}/{n_pages}/{serial}"))

    for f, slot in enumerate(slots):
        when = CRAWL_START + timedelta(hours=3 * f)
        info = (
            f"software: sovereign demo corpus generator\r\nformat: WARC File Format 1.0\r\n"
            f"conformsTo: http://bibnum.bnf.fr/WARC/WARC_ISO_28500_version1_latestdraft.pdf\r\n"
            f"isPartOf: sovereign-demo-{seed}\r\noperator: Sovereign project (synthetic data)\r\n"
            f"http-header-user-agent: {USER_AGENT}\r\nrobots: checked, recorded, not obeyed (demo)\r\n"
            f"description: Synthetic European web crawl; every host, name and number in it is fictional.\r\n"
        )
        records = [Record("warcinfo", None, when, new_id(), info.encode(), "application/warc-fields", "warcinfo")]
        for what, item in slot:
            when += timedelta(seconds=rng.randint(1, 9))
            if what == "page":
                url, lang, kind = item.url, item.lang, item.kind
                block = http_response(
                    200,
                    f"text/html; charset={item.charset}",
                    render_html(item),
                    when,
                    SERVERS[HOSTS.index(item.host) % len(SERVERS)],
                    item.http_headers,
                )
            else:
                url, lang, kind = item["url"], item.get("lang"), item["kind"]
                if "raw" in item:
                    block = item["raw"]
                else:
                    server = SERVERS[len(url) % len(SERVERS)]
                    block = http_response(
                        item["status"], item["content_type"], item["body"], when, server, item.get("headers", [])
                    )
            req_id, resp_id = new_id(), new_id()
            records.append(
                Record(
                    "request",
                    url,
                    when,
                    req_id,
                    http_request(url, lang),
                    "application/http; msgtype=request",
                    "request",
                    concurrent_to=resp_id,
                )
            )
            resp = Record(
                "response", url, when, resp_id, block, "application/http; msgtype=response", kind, concurrent_to=req_id
            )
            if kind == "truncated":  # the crawler's connection dropped: the block is shorter than declared
                resp.declared_length = len(block)
                resp.block = block[: len(block) * 3 // 5]
            records.append(resp)
        files.append(tuple(records))
    return tuple(files)


def generate_demo_corpus(out_dir: str | Path, seed: int = DEFAULT_SEED, pages: int = DEFAULT_PAGES) -> list[Path]:
    """Write the demo crawl as ``N_FILES`` WARC.gz files (one gzip member per record) and return their paths.

    Same seed and pages -> byte-identical files (given the same zlib build). Nothing else is written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for f, records in enumerate(layout(seed, pages)):
        warcinfo_id = records[0].record_id
        members = [gzip.compress(warc_record_bytes(r, warcinfo_id), compresslevel=6, mtime=0) for r in records]
        path = out / FILE_PATTERN.format(f)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(b"".join(members))
        tmp.replace(path)
        paths.append(path)
    return paths
