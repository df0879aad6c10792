"""Normal-page throughput: this checkout against an earlier commit (the anchor), whole pipeline runs, all stages.

Issue 9 put every stage in a sandboxed child process with a time and memory budget; its promise is that ordinary
pages are not slower by more than 5%. This machine's CPU time varies by +-15% from run to run (a shared VM), so:
both versions run in interleaved rounds, each at two corpus sizes (copies of the shared trafilatura-dev WARC), and
the table reports the median of the rounds for
- the marginal CPU per input record: (CPU at the large size - CPU at the small size) / (records added): the
  steady-state throughput, without start-up;
- the fixed CPU of a run (start-up: interpreters, models, the stage process), the rest;
- the whole large run.

    .venv/bin/python bench/throughput.py [--base 9609811] [--rounds 5] [--small 4] [--large 16] [--workers 1]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _shared import shared_data_dir

REPO = Path(__file__).resolve().parents[1]
STAGES = ["extract", "langid", "quality", "rights", "pii", "dedup_exact", "dedup_fuzzy"]
CHILD = r"""
import json, sys
try:  # the import names since issue 11; the anchor commit may predate them
    from sovereign.pipeline.config import parse_config
    from sovereign.pipeline.engine import run_pipeline
except ImportError:
    from pipeline.config import parse_config
    from pipeline.engine import run_pipeline
cfg = parse_config({"name": "tput", "inputs": [{"uri": sys.argv[1] + "/*.warc.gz", "source": "t"}],
    "output": sys.argv[2], "executor": {"kind": "local", "workers": int(sys.argv[3])},
    "stages": [{"name": s} for s in json.loads(sys.argv[4])]})
run_pipeline(cfg)
"""


def _records(out: str) -> int:
    import pyarrow.parquet as pq

    return pq.read_table(Path(out) / "manifest").num_rows


def run_once(code: Path, inputs: Path, workers: int) -> tuple[float, int]:
    """(CPU seconds of the whole process tree, input records) for one run of ``code`` on ``inputs``."""
    out = tempfile.mkdtemp(prefix="tput-run-")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = {**os.environ, "PYTHONPATH": str(code)}
    args = [sys.executable, "-c", CHILD, str(inputs), out + "/run", str(workers), json.dumps(STAGES)]
    proc = subprocess.run(args, cwd=code, env=env, capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"run failed in {code}: {proc.stderr[-1500:]}")
    records = _records(out + "/run")
    shutil.rmtree(out, ignore_errors=True)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, records


def corpus(root: Path, copies: int) -> Path:
    src = shared_data_dir() / "warc" / "trafilatura-dev-00.warc.gz"
    if not src.exists():
        raise SystemExit(f"shared data not found: {src}")
    folder = root / f"x{copies}"
    folder.mkdir()
    for i in range(copies):
        shutil.copyfile(src, folder / f"part-{i:03d}.warc.gz")
    return folder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", default="9609811", help="git revision of the anchor (default: before issue 9)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--small", type=int, default=4, help="copies of the WARC in the small corpus")
    ap.add_argument("--large", type=int, default=16, help="copies of the WARC in the large corpus")
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="tput-") as tmp:
        root = Path(tmp)
        base = root / "base"
        base.mkdir()
        archive = subprocess.run(["git", "archive", args.base], cwd=REPO, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
        sizes = {"small": corpus(root, args.small), "large": corpus(root, args.large)}
        versions = {f"anchor ({args.base})": base, "this checkout": REPO}
        cpu: dict[tuple[str, str], list[float]] = {}
        records: dict[str, int] = {}
        for r in range(args.rounds):
            for name, code in versions.items():
                for size, folder in sizes.items():
                    seconds, n = run_once(code, folder, args.workers)
                    cpu.setdefault((name, size), []).append(seconds)
                    records[size] = n
            print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    added = records["large"] - records["small"]
    rows = {}
    for name in versions:
        marginal = [(lg - sm) / added * 1000 for sm, lg in zip(cpu[(name, "small")], cpu[(name, "large")], strict=True)]
        m = statistics.median(marginal)
        fixed = statistics.median(cpu[(name, "small")]) - m * records["small"] / 1000
        rows[name] = (m, fixed, statistics.median(cpu[(name, "large")]))
    anchor = rows[next(iter(versions))]
    print(f"\n{records['small']} / {records['large']} input records, {args.workers} worker(s), {args.rounds} rounds")
    print(f"{'version':28s} {'ms CPU/record':>14s} {'fixed CPU s':>12s} {'large run CPU s':>16s} {'ratio/record':>13s}")
    for name, (m, fixed, large) in rows.items():
        print(f"{name:28s} {m:14.3f} {fixed:12.2f} {large:16.2f} {m / anchor[0]:13.3f}")


if __name__ == "__main__":
    main()
