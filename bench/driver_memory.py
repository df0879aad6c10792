"""Driver and worker peak memory of a run as the input grows (issue 11: no driver funnel).

Synthetic JSONL documents (some exact and some near duplicates, so both dedup reduces have work) run through
dedup_exact + dedup_fuzzy on the local executor. Each run's driver is its own process, which reports at exit its
own peak RSS (getrusage RUSAGE_SELF: the driver alone) and the largest peak of the processes it waited for
(RUSAGE_CHILDREN: pool workers and stage sandboxes).

    .venv/bin/python bench/driver_memory.py --sizes 20000 200000 --workers 2
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DOCS_PER_FILE = 5_000
# Letters only: shingling normalises digits away, so "w0001" and "w0002" would be one word.
WORDS = ["".join("abcdefghijklmnopqrstuvwxyz"[(i // 26**k) % 26] for k in range(3)) for i in range(5_000)]


def generate(folder: Path, n: int, seed: int = 7) -> None:
    """n documents in files of DOCS_PER_FILE: about 10% exact copies and 10% near copies of earlier documents."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    texts: list[str] = []
    for f in range(-(-n // DOCS_PER_FILE)):
        with open(folder / f"part-{f:05d}.jsonl", "w") as fh:
            for i in range(f * DOCS_PER_FILE, min(n, (f + 1) * DOCS_PER_FILE)):
                roll = rng.random()
                if texts and roll < 0.1:
                    text = rng.choice(texts)
                elif texts and roll < 0.2:
                    words = rng.choice(texts).split()
                    words[rng.randrange(len(words))] = rng.choice(WORDS)
                    text = " ".join(words)
                else:
                    text = " ".join(rng.choices(WORDS, k=60))
                if len(texts) < 2_000:
                    texts.append(text)
                elif roll < 0.05:
                    texts[rng.randrange(len(texts))] = text
                fh.write(json.dumps({"id": f"doc-{i:09d}", "text": text}) + "\n")


def config(inputs: Path, out: Path, workers: int) -> dict:
    return {
        "name": "driver-memory",
        "inputs": [{"uri": f"{inputs}/*.jsonl", "format": "jsonl", "url_column": None}],
        "output": str(out),
        "executor": {"kind": "local", "workers": workers, "batch_size": 1_000, "memory_mb": 512},
        "stages": [{"name": "dedup_exact"}, {"name": "dedup_fuzzy"}],
        "shards": {"shards_per_language": 4, "manifest_parts": 2},
    }


def drive(config_path: Path, report: Path) -> None:
    """The driver process: one run, then its own and its children's peak RSS."""
    from sovereign.pipeline.config import parse_config
    from sovereign.pipeline.engine import run_pipeline

    t0 = time.perf_counter()
    result = run_pipeline(parse_config(json.loads(config_path.read_text())))
    seconds = time.perf_counter() - t0
    counts = result.run_json["counts"]
    report.write_text(
        json.dumps(
            {
                "driver_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "workers_maxrss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                "seconds": seconds,
                "kept": counts["kept"],
                "dropped": counts["dropped"],
                "reduce_s": result.seconds.get("reduce", 0.0),
            }
        )
    )


def measure(n: int, workers: int, tmp: Path) -> dict:
    """Generate n documents and run them in a fresh driver process; its report."""
    inputs, out = tmp / f"in-{n}", tmp / f"run-{n}"
    generate(inputs, n)
    cfg = tmp / f"config-{n}.json"
    cfg.write_text(json.dumps(config(inputs, out, workers)))
    report = tmp / f"report-{n}.json"
    subprocess.run([sys.executable, __file__, "--drive", str(cfg), str(report)], check=True, cwd=tmp)
    return {"docs": n, **json.loads(report.read_text())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[20_000, 200_000])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--drive", nargs=2, metavar=("CONFIG", "REPORT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.drive:
        drive(Path(args.drive[0]), Path(args.drive[1]))
        return
    with tempfile.TemporaryDirectory(prefix="sovereign-driver-memory-") as tmp:
        rows = [measure(n, args.workers, Path(tmp)) for n in args.sizes]
    print(f"workers={args.workers}")
    print("| docs | driver peak RSS MB | worker peak RSS MB | kept | dropped | run s | reduce s |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['docs']:,} | {r['driver_maxrss_mb']:.0f} | {r['workers_maxrss_mb']:.0f} | {r['kept']:,} | "
            f"{r['dropped']:,} | {r['seconds']:.1f} | {r['reduce_s']:.1f} |"
        )
    base = rows[0]["driver_maxrss_mb"]
    print("driver RSS ratio vs smallest: " + ", ".join(f"{r['driver_maxrss_mb'] / base:.2f}" for r in rows))


if __name__ == "__main__":
    main()
