"""No driver funnel (issue 11): keys, reduce results and shard inputs move between workers and the store, so the
driver's own peak RSS stays flat when the input grows 10x. Each driver is its own process and reports its own
getrusage(RUSAGE_SELF) peak: the workers (separate processes) are not in it."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "driver_memory.py"
# 10k -> 100k documents: 20k -> 200k takes over 3 minutes on a 2-core machine.
SMALL, LARGE = 10_000, 100_000


def _bench():
    spec = importlib.util.spec_from_file_location("driver_memory", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _drive(bench, tmp: Path, n: int) -> dict:
    inputs, out = tmp / f"in-{n}", tmp / f"run-{n}"
    bench.generate(inputs, n)
    cfg = tmp / f"config-{n}.json"
    cfg.write_text(json.dumps(bench.config(inputs, out, workers=2)))
    report = tmp / f"report-{n}.json"
    subprocess.run([sys.executable, str(BENCH), "--drive", str(cfg), str(report)], check=True, cwd=tmp, timeout=600)
    return {**json.loads(report.read_text()), "out": out}


@pytest.mark.slow
def test_driver_peak_rss_is_flat_when_the_input_grows_10x(tmp_path: Path) -> None:
    bench = _bench()
    small = _drive(bench, tmp_path, SMALL)
    large = _drive(bench, tmp_path, LARGE)
    # Both reduces had real work at both sizes, and every document has its manifest row.
    for r, n in ((small, SMALL), (large, LARGE)):
        assert r["kept"] + r["dropped"] == n
        reasons = set(pq.read_table(r["out"] / "manifest", columns=["reason"]).column("reason").to_pylist())
        assert {"duplicate:exact", "duplicate:fuzzy"} <= reasons
        # The reduce parts lay in the run's _work on the store, written per shard, and went with it at the end.
        assert not (r["out"] / "_work").exists()
    ratio = large["driver_maxrss_mb"] / small["driver_maxrss_mb"]
    print(
        f"driver peak RSS {small['driver_maxrss_mb']:.0f} -> {large['driver_maxrss_mb']:.0f} MB ({ratio:.2f}x); "
        f"workers {small['workers_maxrss_mb']:.0f} -> {large['workers_maxrss_mb']:.0f} MB"
    )
    assert ratio <= 1.2
