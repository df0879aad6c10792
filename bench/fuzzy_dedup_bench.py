"""Fuzzy dedup vs datatrove's four-stage MinHash (14x8, 5-grams): quality on the labelled near-dup set, and
docs/s per core + peak RSS on the same input, each side in its own child process (os.wait4 rusage).

    .venv/bin/python bench/fuzzy_dedup_bench.py [--docs 1000] [--scale 10] [--skip-quality]

The anchor is datatrove, measured in the same run. Ours runs at --docs and --docs x --scale to show memory
stays flat as input grows; datatrove runs at --docs only (it is ~30x slower).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from _shared import shared_data_dir  # noqa: E402 - bench/_shared.py, beside this script: the one data rule

SHARED = shared_data_dir()


def paragraphs() -> list[str]:
    from sovereign.pipeline.synthetic.neardup_set import shared_paragraphs, synthetic_paragraphs

    return shared_paragraphs(SHARED) if SHARED.is_dir() else synthetic_paragraphs(8000)


def corpus(n: int, seed: int = 0) -> list[str]:
    """n documents of 2-3 KB, random paragraph mixes (some natural near-duplicates from the laws)."""
    paras = paragraphs()
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        doc, size = [], 0
        while size < 2200:
            p = rng.choice(paras)
            doc.append(p)
            size += len(p)
        out.append("\n\n".join(doc)[:3000])
    return out


def write_jsonl(texts: list[str], ids: list[str], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "input.jsonl", "w", encoding="utf-8") as f:
        for i, t in zip(ids, texts, strict=True):
            f.write(json.dumps({"id": i, "text": t}) + "\n")


# ---- the two sides, run as child processes -----------------------------------------------------------------
def run_ours(work: Path) -> None:
    import pyarrow.parquet as pq

    from sovereign.pipeline.reduce import duckdb_engine
    from sovereign.pipeline.reduce_ops import ReduceContext
    from sovereign.stages.dedup_fuzzy import FuzzyDedupStage

    stage = FuzzyDedupStage()
    src = pq.ParquetFile(work / "input.parquet")
    keys_path = work / "keys.parquet"
    with pq.ParquetWriter(keys_path, _key_schema(stage)) as w:
        for batch in src.iter_batches(batch_size=1000):
            import pyarrow as pa

            keys = stage.map(pa.Table.from_batches([batch])).select(["id", *stage.key_columns])
            w.write_table(keys)
    out = duckdb_engine.reduce(stage.reduce_op(), ReduceContext([str(keys_path)], str(work), 256))
    (work / "result.json").write_text(json.dumps({"dropped": sum(out.column("drop").to_pylist())}))


def _key_schema(stage):  # noqa: ANN001, ANN202
    import pyarrow as pa

    return pa.schema([pa.field("id", pa.string())] + [pa.field(k, t) for k, t in stage.key_columns.items()])


def run_datatrove(work: Path, save_clusters: bool = False) -> None:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter

    cfg = MinhashConfig(n_grams=5, num_buckets=14, hashes_per_bucket=8)
    d = work / "dt"
    shutil.rmtree(d, ignore_errors=True)  # its executor skips tasks that completed under the same logging dir

    def reader():  # noqa: ANN202
        return JsonlReader(str(work), glob_pattern="input.jsonl", id_key="id")

    steps = [
        [reader(), MinhashDedupSignature(output_folder=str(d / "sigs"), config=cfg)],
        [MinhashDedupBuckets(input_folder=str(d / "sigs"), output_folder=str(d / "buckets"), config=cfg)],
        [MinhashDedupCluster(str(d / "buckets"), str(d / "remove"), config=cfg, save_cluster_id=save_clusters)],
        [reader(), MinhashDedupFilter(input_folder=str(d / "remove")), JsonlWriter(str(d / "out"))],
    ]
    for i, pipeline in enumerate(steps):
        tasks = cfg.num_buckets if i == 1 else 1
        LocalPipelineExecutor(pipeline, tasks=tasks, workers=1, logging_dir=str(d / f"logs{i}")).run()


def child(side: str, work: Path) -> dict:
    """Run one side in a fresh interpreter; wall time, CPU seconds and peak RSS of that child alone."""
    t = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", side, str(work)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, ru = os.wait4(proc.pid, 0)
    if status:
        raise RuntimeError(f"{side} child failed with status {status}")
    return {"wall": time.perf_counter() - t, "cpu": ru.ru_utime + ru.ru_stime, "rss_mb": ru.ru_maxrss / 1024}


# ---- quality ------------------------------------------------------------------------------------------------
def quality(tmp: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from sovereign.pipeline.reduce import duckdb_engine
    from sovereign.pipeline.reduce_ops import ReduceContext
    from sovereign.pipeline.synthetic.neardup_set import generate, pair_scores
    from sovereign.stages.dedup_fuzzy import FuzzyDedupStage

    nd = generate(paragraphs(), families=40, singletons=100, threshold=0.7, seed=0)
    ids = [d["id"] for d in nd.docs]
    texts = [d["text"] for d in nd.docs]
    index = {d: i for i, d in enumerate(ids)}
    rows = []
    for label, params in (("ours, verify 0.7 (default)", {}), ("ours, no verification", {"verify_threshold": None})):
        stage = FuzzyDedupStage(**params)
        work = tmp / f"q{len(rows)}"
        work.mkdir()
        pq.write_table(
            stage.map(pa.table({"id": ids, "text": texts})).select(["id", *stage.key_columns]), work / "k.parquet"
        )
        out = duckdb_engine.reduce(stage.reduce_op(), ReduceContext([str(work / "k.parquet")], str(work), 256))
        clusters: list = [None] * len(ids)
        for r in out.to_pylist():
            clusters[index[r["id"]]] = json.loads(r["evidence"])["cluster"] if r["drop"] else r["id"]
        rows.append((label, pair_scores(clusters, nd.true_pairs)))
    work = tmp / "qdt"
    write_jsonl(texts, ids, work)
    run_datatrove(work, save_clusters=True)
    clusters = [None] * len(ids)
    cfile = work / "dt" / "remove" / "000000.clusters"
    if cfile.exists():
        import numpy as np

        pairs = np.fromfile(cfile, dtype="<u4").reshape(-1, 2)
        for doc, cid in pairs.tolist():
            clusters[doc] = cid
    rows.append(("datatrove MinHash 14x8, 5-grams", pair_scores(clusters, nd.true_pairs)))
    print(f"\nNear-dup set: {len(ids)} docs, {len(nd.true_pairs)} true pairs (exact 5-gram Jaccard >= 0.7)")
    print(f"{'method':36} {'precision':>9} {'recall':>7} {'F1':>6} {'pairs':>6}")
    for label, s in rows:
        print(f"{label:36} {s['precision']:9.3f} {s['recall']:7.3f} {s['f1']:6.3f} {s['predicted_pairs']:6d}")


def speed(tmp: Path, n: int, scale: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    results = []
    for label, side, size in (("datatrove 4 stages", "datatrove", n), ("ours map+local reduce", "ours", n),
                              (f"ours map+local reduce x{scale}", "ours", n * scale)):  # fmt: skip
        work = tmp / f"s-{side}-{size}"
        texts = corpus(size)
        ids = [f"doc{i:07d}" for i in range(size)]
        if side == "datatrove":
            write_jsonl(texts, ids, work)
        else:
            work.mkdir(parents=True)
            pq.write_table(pa.table({"id": ids, "text": texts}), work / "input.parquet", row_group_size=1000)
        r = child(side, work)
        r.update(label=label, docs=size, per_core=size / r["cpu"])
        results.append(r)
    anchor = results[0]["per_core"]
    print(f"\n{'run':32} {'docs':>7} {'wall s':>7} {'cpu s':>7} {'docs/s/core':>11} {'vs dt':>6} {'RSS MB':>7}")
    for r in results:
        print(f"{r['label']:32} {r['docs']:7d} {r['wall']:7.1f} {r['cpu']:7.1f} {r['per_core']:11.0f} "
              f"{r['per_core'] / anchor:5.1f}x {r['rss_mb']:7.0f}")  # fmt: skip
    print(f"ours peak RSS x{scale} input / x1 input: {results[2]['rss_mb'] / results[1]['rss_mb']:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=1000)
    ap.add_argument("--scale", type=int, default=10)
    ap.add_argument("--skip-quality", action="store_true")
    ap.add_argument("--child", nargs=2, metavar=("SIDE", "WORK"))
    args = ap.parse_args()
    if args.child:
        side, work = args.child
        (run_ours if side == "ours" else run_datatrove)(Path(work))
        return
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_quality:
            quality(Path(tmp))
        speed(Path(tmp), args.docs, args.scale)


if __name__ == "__main__":
    main()
