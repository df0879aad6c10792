"""JSONL and Parquet document inputs, and the CLI's overrides on them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from sovereign.pipeline.config import parse_config
from sovereign.pipeline.engine import run_pipeline
from sovereign.pipeline.schema import document_id

TEXT = "Die Verwaltung veröffentlicht regelmäßig Berichte über ihre Arbeit und die Verwendung der Mittel. "


def _inputs(d: Path) -> None:
    pq.write_table(
        pa.table(
            {
                "id": ["p1", "p2", "p3"],
                "text": [TEXT + "Eins.", TEXT + "Zwei.", None],
                "url": ["https://amt.example.de/1", "https://amt.example.de/2", None],
                "licence": ["DL-DE-BY-2.0", "CC-BY-4.0", None],
                "year": [2024, 2025, 2026],
            }
        ),
        d / "laws.parquet",
    )
    with open(d / "notes.jsonl", "w", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": "j1", "text": TEXT + "Drei.", "topic": "haushalt"}) + "\n\n")
        fh.write(json.dumps({"text": TEXT + "Vier."}) + "\n")
    (d / "broken.parquet").write_bytes(b"PAR1 this is not parquet PAR1")


def test_parquet_and_jsonl_documents(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    _inputs(src)
    out = tmp_path / "run"
    cfg = parse_config(
        {
            "name": "text",
            "inputs": [
                {"uri": str(src / "*.parquet"), "source": "laws", "licence_column": "licence"},
                {"uri": str(src / "notes.jsonl"), "source": "notes"},
            ],
            "output": str(out),
            "stages": [{"name": "extract"}, {"name": "dedup_exact"}],
        }
    )
    result = run_pipeline(cfg)
    rows = {r["source_uri"]: r for r in pq.read_table(out / "manifest").to_pylist()}
    assert rows["laws:laws.parquet#row=2"]["reason"] == "ingest:missing-text"  # "<source>:<relative path>#row"
    assert rows["laws:broken.parquet#row=0"]["reason"] == "ingest:unreadable-data"
    assert rows["laws:broken.parquet#row=0"]["status"] == "quarantined"
    kept = pq.read_table(out / "shards").to_pylist()
    by_text = {r["text"][-5:]: r for r in kept}
    assert set(by_text) == {"Eins.", "Zwei.", "Drei.", "Vier."}
    assert by_text["Eins."]["id"] == document_id("laws\0laws.parquet\0id=p1")  # from the source, file and id
    assert by_text["Eins."]["source"] == "laws" and by_text["Drei."]["source"] == "notes"
    assert by_text["Eins."]["url"] == "https://amt.example.de/1" and by_text["Eins."]["domain"] == "amt.example.de"
    assert result.run_json["counts"]["input_records"] == 6  # 3 rows + 1 broken file + 2 lines (blank lines are none)


def test_cli_overrides_and_summary(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    _inputs(src)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "name: cli\ninputs: [{uri: /nonexistent/*.warc.gz}]\noutput: /nonexistent/run\nstages: [{name: extract}]\n"
    )
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sovereign.pipeline.cli",
            "run",
            str(cfg),
            "--input",
            str(src / "notes.jsonl"),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "input records" in proc.stdout and "kept" in proc.stdout and "MB/s" in proc.stdout
    assert (out / "_SUCCESS").exists()
    missing = subprocess.run(
        [sys.executable, "-m", "sovereign.pipeline.cli", "run", str(cfg)], capture_output=True, text=True
    )
    assert missing.returncode == 1
    assert "no input files match /nonexistent/*.warc.gz" in missing.stderr and "Traceback" not in missing.stderr
