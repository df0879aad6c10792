"""Main-content extraction quality and speed: raw resiliparse vs our engine vs trafilatura, on one core.

Sets (from ../shared/data, written by others):
  warc  105 pages of trafilatura's test cache as WARC + extraction.jsonl
  eval  146 pages of trafilatura's evaluation corpus (conformance/trafilatura-eval-pages); it contains the
        105 above, so the 41 others are also scored alone as "held" (pages the cleaner was not tuned on)
Score per set: with-recall = share of `with` snippets found, without-absent = share of `without` snippets
absent, F1 of the two (whitespace-normalised substring match, as trafilatura's evaluation does).
Speed: pages/s through ExtractStage.apply (decode + parse + extract + clean), best of --repeat runs.

    .venv/bin/python bench/extraction_quality.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from _shared import shared_data_dir  # noqa: E402 - bench/_shared.py, beside this script: the one data rule
from fastwarc.warc import ArchiveIterator, WarcRecordType  # noqa: E402

from sovereign.stages.extract import ExtractStage  # noqa: E402

DATA = shared_data_dir()
Page = tuple[str, bytes, str | None, dict]  # url, body, content type, gold


def warc_pages() -> list[Page]:
    gold = {}
    for line in (DATA / "warc" / "extraction.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        gold[row["url"]] = row
    pages = []
    with open(DATA / "warc" / "trafilatura-dev-00.warc.gz", "rb") as f:
        for rec in ArchiveIterator(f, record_types=WarcRecordType.response, parse_http=True):
            url = rec.headers.get("WARC-Target-URI")
            pages.append((url, rec.reader.read(), rec.http_headers.get("Content-Type"), gold[url]))
    return pages


def eval_pages() -> list[Page]:
    root = DATA / "conformance" / "trafilatura-eval-pages"
    subset = json.loads((root / "evaldata_subset.json").read_text(encoding="utf-8"))
    return [(url, gzip.decompress((root / g["stored_as"]).read_bytes()), None, g) for url, g in subset.items()]


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


def score(pages: list[Page], texts: list[str]) -> tuple[float, float, float]:
    found = total_with = absent = total_without = 0
    for (_, _, _, gold), text in zip(pages, texts, strict=True):
        out = _norm(text)
        found += sum(_norm(s) in out for s in gold["with"])
        absent += sum(_norm(s) not in out for s in gold["without"])
        total_with += len(gold["with"])
        total_without += len(gold["without"])
    rec, prec = found / total_with, absent / total_without
    return rec, prec, 2 * rec * prec / (rec + prec)


def run(stage: ExtractStage, pages: list[Page], repeat: int) -> tuple[float, list[str]]:
    docs = [
        {"id": str(i), "_raw": raw, "_content_type": ct, "_charset": None} for i, (_, raw, ct, _) in enumerate(pages)
    ]
    best = float("inf")
    texts: list[str] = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = [stage.apply(d) for d in docs]
        best = min(best, time.perf_counter() - start)
        texts = [o["text"] if isinstance(o, dict) else "" for o in out]
    return len(pages) / best, texts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if not DATA.is_dir():
        sys.exit(f"shared data not found at {DATA}")
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core, as the issue measures
    warc, evalset = warc_pages(), eval_pages()
    seen = {p[0] for p in warc}
    sets = {"warc": warc, "eval": evalset, "held": [p for p in evalset if p[0] not in seen]}
    engines = {
        "resiliparse (raw)": ExtractStage(boilerplate=False, min_chars=0),
        "sovereign (resiliparse+clean)": ExtractStage(min_chars=0),
        "trafilatura (precision)": ExtractStage(engine="trafilatura", min_chars=0),
    }
    rows = []
    engines["trafilatura (precision)"].apply(  # warm-up: lazy import and lxml set-up stay out of the timing
        {"id": "w", "_raw": warc[0][1], "_content_type": warc[0][2], "_charset": None}
    )
    for name, stage in engines.items():
        for set_name, pages in sets.items():
            pps, texts = run(stage, pages, 1 if "trafilatura" in name else args.repeat)
            rows.append((name, set_name, len(pages), pps, *score(pages, texts)))
    anchor = {s: pps for name, s, _, pps, *_ in rows if name == "resiliparse (raw)"}
    print(
        f"{'engine':31s} {'set':5s} {'pages':>5s} {'pages/s':>8s} {'x raw':>6s} {'with':>6s} {'absent':>6s} {'F1':>6s}"
    )
    for name, s, n, pps, rec, prec, f1 in rows:
        print(f"{name:31s} {s:5s} {n:5d} {pps:8.0f} {pps / anchor[s]:6.2f} {rec:6.3f} {prec:6.3f} {f1:6.3f}")


if __name__ == "__main__":
    main()
