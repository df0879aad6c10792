"""PII stage vs plain presidio: same texts, same recognizers, one run, one table.

Anchor: presidio's AnalyzerEngine with all our recognizers over each whole text (``PiiEngine.find_whole``:
same registry and thresholds, presidio's own phone matching and context enhancer). Ours: the ``pii`` stage
(candidate windows, batched presidio calls, phone matching on candidates only, placeholder replacement) over
Arrow batches, its phone cache emptied before each timed run. Texts: German federal laws and French/English EU law (4 KB
documents, digits, dates and citations everywhere); real web pages (shared/data/warc: 105 pages, mostly German
and English, extracted with the extract stage's resiliparse engine, language from the langid stage; PII is
sparse, as on the web); the demo corpus's article texts (pipeline/synthetic/plan.py: 400 synthetic pages in 14
languages, 1 in 5 with planted contact lines, IBANs and national ids: "planted found" counts them); and the
labelled evaluation set (pipeline/synthetic/pii_evalset.py: PII in every document), on which recall and precision are
scored for both.

Times are this process's CPU time (time.process_time): the shared 2-core machine makes wall time swing 2x.

    .venv/bin/python bench/pii_bench.py [--laws-mb 1.5] [--batch 256]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pyarrow as pa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from _shared import shared_data_dir  # noqa: E402 - bench/_shared.py, beside this script: the one data rule

from sovereign.pipeline.synthetic.pii_evalset import CHECKSUM_ENTITIES, generate, score  # noqa: E402
from sovereign.stages.pii.recognizers.phone import scan_snippet  # noqa: E402
from sovereign.stages.pii.stage import PiiStage, country_of, resolve  # noqa: E402

SHARED = shared_data_dir()
CONFORMANCE = SHARED / "conformance"
WARC = SHARED / "warc" / "trafilatura-dev-00.warc.gz"


def _strings(node: object) -> list[str]:
    """Every paragraph-length string in a nested JSON corpus (its layout varies per law)."""
    if isinstance(node, str):
        return [node] if len(node) > 40 else []
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return []


def law_docs(limit_bytes: int) -> list[dict[str, object]]:
    sources: list[tuple[str, str]] = []
    for path in sorted((CONFORMANCE / "de-bundesgesetze").glob("*.md")):
        sources.append((path.read_text(encoding="utf-8"), "de"))
    for name, lang in (("napoleonic_codes_fr.json", "fr"), ("eurlex_digital_acquis_en.json", "en")):
        path = CONFORMANCE / "public-sector" / name
        if path.exists():
            parts = json.loads(path.read_text(encoding="utf-8"))["parts"]
            sources.append(("\n\n".join(_strings(parts)), lang))
    docs: list[dict[str, object]] = []
    per_source = limit_bytes // max(1, len(sources))
    for text, lang in sources:
        text = text[:per_source]
        for i in range(0, len(text), 4000):
            docs.append({"id": f"law{len(docs)}", "text": text[i : i + 4000], "language": lang, "url": None})
    return docs


def web_docs() -> list[dict[str, object]]:
    """Main text of the real web pages in shared/data/warc, as the extract and langid stages produce it."""
    from fastwarc.warc import ArchiveIterator, WarcRecordType
    from resiliparse.parse.html import HTMLTree

    from sovereign.stages.extract import decode, resiliparse_text
    from sovereign.stages.langid import LanguageIdStage

    docs: list[dict[str, object]] = []
    with WARC.open("rb") as fh:
        for rec in ArchiveIterator(fh, record_types=WarcRecordType.response, parse_http=True):
            html, _ = decode(rec.reader.read(), None)
            text = resiliparse_text(HTMLTree.parse(html))
            if len(text) >= 50:
                docs.append({"id": f"web{len(docs)}", "text": text, "url": rec.headers.get("WARC-Target-URI")})
    for doc, verdict in zip(docs, LanguageIdStage().apply_batch(docs), strict=True):
        doc["language"] = verdict.get("language") if isinstance(verdict, dict) else None
    return docs


def demo_docs() -> tuple[list[dict[str, object]], list[dict[str, list[str]]]]:
    """The demo corpus's article texts and, per page, the PII values planted in it (PERSON needs spaCy: left out)."""
    from sovereign.pipeline.synthetic.pages import article_text
    from sovereign.pipeline.synthetic.plan import build_plan

    docs: list[dict[str, object]] = []
    planted: list[dict[str, list[str]]] = []
    for page in sorted(build_plan().pages, key=lambda p: p.url):
        docs.append({"id": f"demo{len(docs)}", "text": article_text(page), "language": page.lang, "url": page.url})
        planted.append({e: v for e, v in page.pii.items() if e != "PERSON"})
    return docs, planted


def planted_found(docs: list[dict[str, object]], planted: list[dict[str, list[str]]], found: list) -> tuple[int, int]:
    """Planted values covered by a detection of their entity, and all planted values present in the text."""
    hit = total = 0
    for doc, values, detections in zip(docs, planted, found, strict=True):
        text = str(doc["text"])
        spans = resolve(detections)
        for entity, vals in values.items():
            for v in vals:
                start = text.find(v)
                if start < 0:
                    continue
                total += 1
                hit += any(f.entity == entity and f.start < start + len(v) and start < f.end for f in spans)
    return hit, total


def _mb(rows: list[dict[str, object]]) -> float:
    return sum(len(str(r["text"]).encode()) for r in rows) / 1e6


def run(args: argparse.Namespace) -> None:
    if not CONFORMANCE.exists() or not WARC.exists():
        sys.exit(f"shared test data not found under {SHARED}")
    evalset = generate()
    eval_rows = [d.row() for d in evalset]
    laws = law_docs(int(args.laws_mb * 1e6))
    web = web_docs()
    demo, planted = demo_docs()
    rows = laws + web + demo + eval_rows
    mb = _mb(rows)

    stage = PiiStage()
    stage.ensure_setup()
    engine = stage.engine
    assert engine is not None
    engine.find_whole("warm-up 030 1234567", "de")

    def timed(subset: list[dict[str, object]]) -> tuple[float, float, list, list]:
        """Best of two runs each: the first call per language builds analyzers and compiles presidio's regexes."""
        t_whole = t_stage = float("inf")
        for _ in range(2):
            t0 = time.process_time()
            found = [engine.find_whole(str(r["text"]), r["language"], country_of(r)) for r in subset]  # type: ignore[arg-type]
            t_whole = min(t_whole, time.process_time() - t0)
            scan_snippet.cache_clear()  # no reuse of the previous run's phone results
            t0 = time.process_time()
            tables = [
                stage.process(pa.Table.from_pylist(subset[i : i + args.batch])).kept
                for i in range(0, len(subset), args.batch)
            ]
            t_stage = min(t_stage, time.process_time() - t0)
        return t_whole, t_stage, found, tables

    tw_laws, ts_laws, whole_laws, kept = timed(laws)
    tw_web, ts_web, whole_web, kept_web = timed(web)
    tw_demo, ts_demo, whole_demo, kept_demo = timed(demo)
    tw_eval, ts_eval, whole_eval, _ = timed(eval_rows)

    # Scores: both sides through the same overlap resolution; the stage's spans via its engine on the same batches.
    fast = []
    for i in range(0, len(eval_rows), args.batch):
        batch = eval_rows[i : i + args.batch]
        fast += engine.find([(str(r["text"]), r["language"], country_of(r)) for r in batch])  # type: ignore[misc]
    hits = {
        "laws": (sum(len(resolve(f)) for f in whole_laws), _count(kept)),
        "web": (sum(len(resolve(f)) for f in whole_web), _count(kept_web)),
        "demo": (sum(len(resolve(f)) for f in whole_demo), _count(kept_demo)),
    }
    fast_demo = engine.find([(str(r["text"]), r["language"], country_of(r)) for r in demo])  # type: ignore[misc]
    planted_hits = (planted_found(demo, planted, whole_demo), planted_found(demo, planted, fast_demo))

    results = {}
    for name, found in (("presidio", whole_eval), ("stage", fast)):
        preds = [[(f.start, f.end, f.entity) for f in resolve(fs)] for fs in found]
        results[name] = score(evalset, preds)

    print(
        f"texts: {len(rows)} documents, {mb:.2f} MB ({len(laws)} law chunks, {len(web)} web pages, "
        f"{len(demo)} demo articles, {len(eval_rows)} labelled)"
    )
    print(f"{'':28s} {'presidio (anchor)':>22s} {'pii stage':>22s}")
    rows_t = [
        ("laws", _mb(laws), tw_laws, ts_laws),
        ("web pages", _mb(web), tw_web, ts_web),
        ("demo articles", _mb(demo), tw_demo, ts_demo),
        ("labelled set", _mb(eval_rows), tw_eval, ts_eval),
        ("all", mb, tw_laws + tw_web + tw_demo + tw_eval, ts_laws + ts_web + ts_demo + ts_eval),
    ]
    for label, size, tw, ts in rows_t:
        print(f"{'MB/s, ' + label:28s} {size / tw:22.2f} {size / ts:22.2f}   x{tw / ts:.1f}")
    for label, (anchor, ours) in hits.items():
        print(f"{'detections, ' + label:28s} {anchor:22d} {ours:22d}")
    (a_hit, a_total), (s_hit, s_total) = planted_hits
    print(f"{'planted found, demo':28s} {f'{a_hit}/{a_total}':>22s} {f'{s_hit}/{s_total}':>22s}")
    print(f"{'entity':28s} {'R / P':>22s} {'R / P':>22s}")
    for ent in sorted(set(results["presidio"]) | set(results["stage"])):
        a, b = results["presidio"].get(ent), results["stage"].get(ent)
        mark = " *" if ent in CHECKSUM_ENTITIES else ""
        cell = lambda s: f"{s.recall:.3f} / {s.precision:.3f}" if s else "-"  # noqa: E731
        print(f"{ent + mark:28s} {cell(a):>22s} {cell(b):>22s}")
    for name in ("presidio", "stage"):
        sc = results[name].values()
        tp, fn, fp = sum(s.tp for s in sc), sum(s.fn for s in sc), sum(s.fp for s in sc)
        print(f"{'all (' + name + ')':28s} recall {tp / (tp + fn):.3f}  precision {tp / (tp + fp):.3f}")
    print("* checksum identifiers")


def _count(tables: list[pa.Table]) -> int:
    return sum(sum(json.loads(c).values()) for t in tables for c in t.column("pii_counts").to_pylist() if c is not None)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--laws-mb", type=float, default=1.5)
    parser.add_argument("--batch", type=int, default=256)
    run(parser.parse_args())
