"""PII stage vs plain presidio: same texts, same recognizers, one run, one table.

Anchor: presidio's AnalyzerEngine with all our recognizers over each whole text (``PiiEngine.find_whole``,
same registry, same thresholds). Ours: the ``pii`` stage (candidate windows, batched presidio calls,
placeholder replacement) over Arrow batches. Texts: German federal laws and French/English EU law (4 KB
documents, digits, dates and citations everywhere) plus the labelled evaluation set (stages/pii/evalset.py),
on which recall and precision are scored for both.

Times are this process's CPU time (time.process_time): the shared 2-core machine makes wall time swing 2x.

    .venv/bin/python bench/pii_bench.py [--laws-mb 0.7] [--batch 256]
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

from stages.pii.evalset import CHECKSUM_ENTITIES, generate, score  # noqa: E402
from stages.pii.stage import PiiStage, country_of, resolve  # noqa: E402

CONFORMANCE = REPO.parent / "shared" / "data" / "conformance"


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


def run(args: argparse.Namespace) -> None:
    evalset = generate()
    eval_rows = [d.row() for d in evalset]
    laws = law_docs(int(args.laws_mb * 1e6))
    rows = laws + eval_rows
    mb = sum(len(str(r["text"]).encode()) for r in rows) / 1e6

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
            t0 = time.process_time()
            tables = [
                stage.process(pa.Table.from_pylist(subset[i : i + args.batch])).kept
                for i in range(0, len(subset), args.batch)
            ]
            t_stage = min(t_stage, time.process_time() - t0)
        return t_whole, t_stage, found, tables

    tw_laws, ts_laws, whole_laws, kept = timed(laws)
    tw_eval, ts_eval, whole_eval, _ = timed(eval_rows)
    mb_laws = sum(len(str(r["text"]).encode()) for r in laws) / 1e6
    mb_eval = mb - mb_laws
    whole = whole_laws + whole_eval

    # Scores: both sides through the same overlap resolution; the stage's spans via its engine on the same batches.
    fast = []
    for i in range(0, len(eval_rows), args.batch):
        batch = eval_rows[i : i + args.batch]
        fast += engine.find([(str(r["text"]), r["language"], country_of(r)) for r in batch])  # type: ignore[misc]
    law_hits = {"presidio": sum(len(resolve(f)) for f in whole[: len(laws)]), "stage": 0}
    for t in kept:
        for row_id, counts in zip(t.column("id").to_pylist(), t.column("pii_counts").to_pylist(), strict=True):
            if str(row_id).startswith("law") and counts:
                law_hits["stage"] += sum(json.loads(counts).values())

    results = {}
    for name, found in (("presidio", whole_eval), ("stage", fast)):
        preds = [[(f.start, f.end, f.entity) for f in resolve(fs)] for fs in found]
        results[name] = score(evalset, preds)

    print(f"texts: {len(rows)} documents, {mb:.2f} MB ({len(laws)} law chunks, {len(eval_rows)} labelled)")
    print(f"{'':28s} {'presidio (anchor)':>22s} {'pii stage':>22s}")
    rows_t = [("laws", mb_laws, tw_laws, ts_laws), ("labelled set", mb_eval, tw_eval, ts_eval)]
    rows_t.append(("all", mb, tw_laws + tw_eval, ts_laws + ts_eval))
    for label, size, tw, ts in rows_t:
        print(f"{'MB/s, ' + label:28s} {size / tw:22.2f} {size / ts:22.2f}   x{tw / ts:.1f}")
    print(f"{'detections in laws (FP)':28s} {law_hits['presidio']:22d} {law_hits['stage']:22d}")
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


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--laws-mb", type=float, default=0.7)
    parser.add_argument("--batch", type=int, default=256)
    run(parser.parse_args())
