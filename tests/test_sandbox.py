"""The stage sandbox: a document that spins, stalls in C, bloats, crashes or recurses is quarantined with a reason,
every other document comes out as it would have, and no stage process outlives the run or its parent."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from sovereign.pipeline.config import parse_config
from sovereign.pipeline.engine import run_pipeline
from sovereign.pipeline.sandbox import SandboxError
from sovereign.pipeline.synthetic import hostile_stages as hs

MISBEHAVE = "sovereign.pipeline.synthetic.hostile_stages:Misbehave"
EXPECTED = {
    hs.SPIN: "error:timeout",
    hs.STALL: "error:timeout",
    hs.BLOAT: "error:memory-limit",
    hs.CRASH: "error:worker-crash",
    hs.ABORT: "error:worker-crash",
    hs.RECURSE: "error:RecursionError",
}


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def _config(inputs: str, out: Path, **executor) -> dict:
    return {
        "name": "sandbox",
        "inputs": [{"uri": inputs, "source": "t"}],
        "output": str(out),
        "executor": {"kind": "local", "batch_size": 4, "doc_timeout_s": 2, "memory_mb": 512, **executor},
        "stages": [{"name": MISBEHAVE}],
    }


def _manifest(run: Path) -> dict[str, dict]:
    rows = [r for f in sorted(run.glob("manifest/*.parquet")) for r in pq.read_table(f).to_pylist()]
    return {r["source_uri"]: r for r in rows}


def _stage_children() -> list[int]:
    """Live `python -m sovereign.pipeline.sandbox` processes whose parent is this process or one of its children."""
    out = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
            stat = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if b"sovereign.pipeline.sandbox" in cmd and stat[0] != "Z":
            out.append(int(proc.name))
    return out


def test_hostile_documents_are_quarantined_and_the_rest_kept(tmp_path: Path) -> None:
    rows = hs.documents(20, (*hs.MARKERS, hs.SLOW))
    (tmp_path / "in").mkdir()
    _write_jsonl(tmp_path / "in" / "a.jsonl", rows[: len(rows) // 2])
    _write_jsonl(tmp_path / "in" / "b.jsonl", rows[len(rows) // 2 :])
    before = set(_stage_children())
    cfg = parse_config(_config(str(tmp_path / "in" / "*.jsonl"), tmp_path / "run", workers=2))
    result = run_pipeline(cfg)

    manifest = list(_manifest(tmp_path / "run").values())
    assert len(manifest) == len(rows) == result.run_json["counts"]["input_records"]
    by_text = {}
    for f in (tmp_path / "in").glob("*.jsonl"):
        for n, line in enumerate(f.read_text().splitlines(), 1):
            by_text[f"t:{f.name}#line={n}"] = json.loads(line)["text"]  # source_uri: "<source>:<rel path>#line=N"
    for row in manifest:
        text = by_text[row["source_uri"]]
        marker = next((m for m in EXPECTED if m in text), None)
        if marker is None:
            assert row["status"] == "kept", (text, row["reason"])  # innocent and the slow-but-in-budget one
            continue
        assert row["status"] == "quarantined", marker
        assert row["reason"] == EXPECTED[marker], (marker, row["reason"], row["evidence"])
        assert row["stage"] == "misbehave"
        assert "@@" not in (row["evidence"] or "")  # evidence names the budget, never the content
    kept_texts = sorted(
        r["text"]
        for f in (tmp_path / "run").glob("shards/**/*.parquet")
        for r in pq.read_table(f, columns=["text"]).to_pylist()
    )
    innocent = sorted(t for t in by_text.values() if not any(m in t for m in EXPECTED))
    assert kept_texts == innocent
    time.sleep(0.5)
    assert set(_stage_children()) <= before, "a stage process outlived the run"


def test_same_outcome_as_an_unbounded_run_for_friendly_documents(tmp_path: Path) -> None:
    """Batches that fit the budget pass straight through: the manifest equals a run in one batch per document."""
    rows = hs.documents(12, ())
    _write_jsonl(tmp_path / "a.jsonl", rows)
    runs = []
    for i, batch in enumerate((1, 64)):
        cfg = parse_config(_config(str(tmp_path / "a.jsonl"), tmp_path / f"run{i}", workers=1, batch_size=batch))
        run_pipeline(cfg)
        runs.append({p.name: p.read_bytes() for p in (tmp_path / f"run{i}").glob("manifest/*.parquet")})
    assert runs[0] == runs[1]


def test_memory_budget_below_what_the_stages_need_is_a_clear_error(tmp_path: Path) -> None:
    _write_jsonl(tmp_path / "a.jsonl", hs.documents(2, ()))
    config = _config(str(tmp_path / "a.jsonl"), tmp_path / "run", workers=1, memory_mb=128)
    config["stages"] = [{"name": "pii"}]  # presidio and its NLP models alone need more than 0.75 x 128 MB
    cfg = parse_config(config)
    with pytest.raises(SandboxError, match="executor.memory_mb=128"):
        run_pipeline(cfg)


_ORPHAN_SCRIPT = f"""
import sys, time
from sovereign.pipeline.config import parse_config
from sovereign.pipeline.sandbox import StageSandbox
cfg = {{"name": "x", "inputs": [], "output": sys.argv[1], "stages": [{{"name": "{MISBEHAVE}"}}]}}
box = StageSandbox(sys.argv[1], parse_config(cfg).model_dump_json(), 5.0, 512)
box.unit_schema()
print(box._proc.pid, flush=True)
time.sleep(600)
"""


def test_stage_process_dies_with_its_parent(tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", _ORPHAN_SCRIPT, str(tmp_path / "run")],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[1],
    )
    child = int(parent.stdout.readline())  # type: ignore[union-attr]
    assert Path(f"/proc/{child}").exists()
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            break
        if state == "Z":
            break
        time.sleep(0.1)
    else:
        pytest.fail("the stage process outlived its SIGKILLed parent")
