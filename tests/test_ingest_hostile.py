"""Issue 9, findings 5 and 6: no input record is lost to a bad neighbour, and hostile files cost bounded memory.

Real runs over generated hostile files (pipeline/synthetic/hostile_ingest.py): every input record has its manifest
row, the records after a bad one are kept, `audit verify` checks record counts against an independent scan, and
the peak RSS of a CLI run does not follow the size of a decompression bomb or of the host captures.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from sovereign.pipeline.audit import verify_run
from sovereign.pipeline.config import parse_config
from sovereign.pipeline.engine import run_pipeline
from sovereign.pipeline.synthetic.hostile_ingest import (
    jsonl_deep_line,
    warc_big_robots,
    warc_gzip_bomb,
    warc_lying_length,
)

ROOT = Path(__file__).resolve().parents[1]


def _run(inputs: list[str], out: Path, stages: list[dict]) -> list[dict]:
    spec = {"name": "hostile", "inputs": [{"uri": u} for u in inputs], "output": str(out), "stages": stages}
    cfg = parse_config(spec)
    run_pipeline(cfg)
    return pq.read_table(out / "manifest").to_pylist()


def test_deep_json_line_does_not_end_the_file(tmp_path: Path) -> None:
    src = tmp_path / "deep.jsonl"
    src.write_bytes(jsonl_deep_line(1001))
    rows = _run([str(src)], tmp_path / "run", [{"name": "extract"}])
    assert len(rows) == 1001  # one row per line, the lines after the bad one included
    bad = [r for r in rows if r["status"] == "quarantined"]
    assert [(r["reason"], r["source_uri"].rsplit("#", 1)[1]) for r in bad] == [("ingest:invalid-json", "line=501")]
    kept_lines = {int(r["source_uri"].rsplit("=", 1)[1]) for r in rows if r["status"] == "kept"}
    assert kept_lines == set(range(1, 1002)) - {501}
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["counts"]["input_records"] == 1001
    problems, _ = verify_run(str(tmp_path / "run"))
    assert problems == []


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("delta", [200, -20, 10**6])
def test_lying_content_length_loses_no_record(tmp_path: Path, gz: bool, delta: int) -> None:
    src = tmp_path / ("lie.warc.gz" if gz else "lie.warc")
    src.write_bytes(warc_lying_length(9, delta=delta, gz=gz))
    rows = _run([str(src)], tmp_path / "run", [{"name": "extract"}])
    assert len(rows) == 9
    by_url = {r["url"]: r for r in rows}
    bad = by_url["https://www.beispiel.de/seite/4"]
    assert bad["status"] == "quarantined" and bad["reason"] in {"ingest:bad-record-length", "ingest:truncated-record"}
    kept = {u for u, r in by_url.items() if r["status"] == "kept"}
    assert kept == {f"https://www.beispiel.de/seite/{i}" for i in range(9) if i != 4}  # the ones after it too
    problems, _ = verify_run(str(tmp_path / "run"))
    assert problems == []


def test_verify_fails_when_an_input_holds_more_records_than_were_read(tmp_path: Path) -> None:
    src = tmp_path / "docs.jsonl"
    src.write_bytes(jsonl_deep_line(11))
    _run([str(src)], tmp_path / "run", [{"name": "extract"}])
    assert verify_run(str(tmp_path / "run"))[0] == []
    with open(src, "ab") as fh:  # records the run never read: conservation alone cannot see them
        fh.write(json.dumps({"text": "noch ein Dokument"}).encode() + b"\n")
    problems, _ = verify_run(str(tmp_path / "run"))
    assert any("a scan finds 12 records, the run read 11" in p for p in problems)


def _peak_rss_mb(inputs: list[Path], out: Path, stages: str, tmp: Path) -> float:
    """Peak RSS (MiB) of the largest process of a `sovereign run` in a fresh interpreter (RUSAGE_CHILDREN)."""
    cfg = tmp / f"{out.name}.yaml"
    cfg.write_text(
        f"name: mem\ninputs: [{', '.join('{uri: ' + str(p) + '}' for p in inputs)}]\noutput: {out}\n"
        f"stages: {stages}\nexecutor: {{workers: 1}}\n"
    )
    probe = (
        "import resource, subprocess, sys\n"
        "p = subprocess.run([sys.executable, '-m', 'sovereign.pipeline.cli', 'run', "
        f"{str(cfg)!r}], capture_output=True)\n"
        "assert p.returncode == 0, p.stderr.decode()[-2000:]\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    return int(res.stdout.strip().splitlines()[-1]) / 1024


def test_gzip_bomb_is_quarantined_in_bounded_memory(tmp_path: Path) -> None:
    src = tmp_path / "bomb.warc.gz"
    src.write_bytes(warc_gzip_bomb(512))  # 512 MiB inflated, under 1 MiB on disk
    assert src.stat().st_size < 1 << 20
    peak = _peak_rss_mb([src], tmp_path / "run", "[{name: extract}]", tmp_path)
    rows = pq.read_table(tmp_path / "run" / "manifest").to_pylist()
    assert [(r["status"], r["reason"]) for r in rows] == [("quarantined", "ingest:record-too-large")]
    assert peak < 450, f"peak RSS {peak:.0f} MiB for a 512 MiB bomb"


def test_host_captures_do_not_grow_memory_with_their_size(tmp_path: Path) -> None:
    peaks = {}
    for hosts in (4, 16):
        src = tmp_path / f"robots{hosts}.warc.gz"
        src.write_bytes(warc_big_robots(hosts, body_mib=4))
        out = tmp_path / f"run{hosts}"
        peaks[hosts] = _peak_rss_mb([src], out, "[{name: extract}, {name: rights}]", tmp_path)
        rows = pq.read_table(out / "manifest").to_pylist()
        assert len(rows) == 2 * hosts
        assert sum(r["status"] == "kept" for r in rows) == hosts  # robots.txt allows all: every page is kept
        assert verify_run(str(out))[0] == []
    # 4x the captures (64 MiB of robots.txt bodies vs 16 MiB): memory may not follow them.
    assert peaks[16] < peaks[4] * 1.3 + 50, peaks
