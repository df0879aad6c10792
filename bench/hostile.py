"""Hostile inputs at growing sizes through the real CLI: time, CPU and peak memory per size, and whether the
promise held (the value is absent, the opt-out page is dropped, every record has a manifest row).

Each row is one `sovereign run` in a subprocess (one worker, the stages the case needs). Peak RSS is sampled over
the whole process tree (driver + stage sandbox) every 20 ms, so it is the memory the run really held; CPU is
user+sys of the tree. "growth" compares a size with the one before it: time ratio / size ratio, so ~1 is linear
and ~size-ratio is quadratic. The anchor for "normal" is the same pipeline on ordinary pages (the `friendly`
case): hostile rows should cost about what friendly input of the same size costs.

    .venv/bin/python bench/hostile.py [--cases a,b] [--sizes-scale 1.0] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import hostile_cases  # noqa: E402 - bench/hostile_cases.py, beside this script


@dataclass
class Row:
    case: str
    size: int
    input_mb: float
    wall_s: float
    cpu_s: float
    peak_tree_mb: float
    records: int | None
    held: bool | None
    exit_code: int


def _tree_rss_mb(root: int) -> float:
    """Sum of RSS over root and all its descendants (from /proc)."""
    total = 0
    stack = [root]
    seen = set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            with open(f"/proc/{pid}/statm", "rb") as fh:
                total += int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as fh:
                    stack.extend(int(c) for c in fh.read().split())
        except (OSError, ValueError):
            continue
    return total / (1 << 20)


def _run(cmd: list[str], cwd: Path, timeout: float) -> tuple[int, float, float, float, str]:
    peak = 0.0
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss_mb(proc.pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    done.set()
    sampler.join()
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return proc.returncode, wall, cpu, peak, out.decode(errors="replace")


def run_case(case: hostile_cases.Case, size: int, scratch: Path, timeout: float) -> Row:
    work = Path(tempfile.mkdtemp(prefix=f"{case.name}-{size}-", dir=scratch))
    built = case.build(size, work)
    cfg_path = work / "config.yaml"
    cfg_path.write_text(yaml.safe_dump(built.config, sort_keys=False))
    cmd = [sys.executable, "-m", "sovereign.pipeline.cli", *built.cli_args(cfg_path)]
    code, wall, cpu, peak, out = _run(cmd, work, timeout)
    held = built.check(work, code, out) if built.check else None
    if held is False:
        print(f"  promise broken; output tail:\n{out[-1500:]}", file=sys.stderr)
    records = None
    run_json = Path(built.config.get("output", "")) / "run.json"
    if run_json.exists():
        records = json.loads(run_json.read_text())["counts"]["input_records"]
    mb = sum(f.stat().st_size for f in built.inputs) / (1 << 20) if built.inputs else 0.0
    return Row(case.name, size, mb, wall, cpu, peak, records, held, code)


def _table(rows: list[Row]) -> str:
    head = (
        "| case | size | input MB | wall s | CPU s | peak RSS MB (tree) | growth (CPU/size) | records | promise "
        "| exit |"
    )
    lines = [head, "|" + "---|" * 10]
    prev: dict[str, Row] = {}
    for r in rows:
        p = prev.get(r.case)
        growth = "–"
        if p is not None and p.size and p.cpu_s > 0:
            growth = f"{(r.cpu_s / p.cpu_s) / (r.size / p.size):.2f}"
        held = {True: "held", False: "BROKEN", None: "–"}[r.held]
        lines.append(
            f"| {r.case} | {r.size:,} | {r.input_mb:.2f} | {r.wall_s:.2f} | {r.cpu_s:.2f} | {r.peak_tree_mb:.0f} "
            f"| {growth} | {r.records if r.records is not None else '–'} | {held} | {r.exit_code} |"
        )
        prev[r.case] = r
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", default="", help="comma-separated case names (default: all)")
    ap.add_argument("--sizes-scale", type=float, default=1.0, help="multiply every case's sizes")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per run before it is killed")
    ap.add_argument("--json", default=None, help="also write the rows as JSON here")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    args = ap.parse_args()
    cases = hostile_cases.CASES
    if args.list:
        for c in cases:
            print(f"{c.name:24} sizes {c.sizes}  {c.promise}")
        return
    wanted = {c for c in args.cases.split(",") if c}
    unknown = wanted - {c.name for c in cases}
    if unknown:
        raise SystemExit(f"unknown cases: {', '.join(sorted(unknown))}; see --list")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="sovereign-hostile-") as tmp:
        for case in cases:
            if wanted and case.name not in wanted:
                continue
            for size in case.sizes:
                size = max(1, int(size * args.sizes_scale))
                row = run_case(case, size, Path(tmp), args.timeout)
                rows.append(row)
                print(
                    f"  {case.name} size={size}: {row.wall_s:.2f} s, {row.peak_tree_mb:.0f} MB, "
                    f"promise {row.held}, exit {row.exit_code}",
                    file=sys.stderr,
                    flush=True,
                )
    print(_table(rows))
    for c in cases:
        if not wanted or c.name in wanted:
            print(f"- {c.name}: {c.promise}")
    if args.json:
        Path(args.json).write_text(json.dumps([r.__dict__ for r in rows], indent=1))


if __name__ == "__main__":
    main()
