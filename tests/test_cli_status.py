"""`sovereign run --dry-run`, `sovereign status RUN` and the summary's work-phase rates (issue 11 point 6)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from sovereign.pipeline.cli import main
from sovereign.pipeline.status import NOT_DOCUMENTS
from tests.helpers.warc import german_pages, write_warc


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))}


def _rows(output: str) -> dict[str, str]:
    """The summary table's rows, label -> value."""
    return {ln.split("│")[1].strip(): ln.split("│")[2].strip() for ln in output.splitlines() if ln.count("│") == 3}


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("crawl")
    for i in range(6):
        write_warc(d / f"part-{i}.warc.gz", german_pages(40, start=i * 40))
    return d


def _config(tmp_path: Path, workers: int = 1) -> Path:
    cfg = tmp_path / "run.yaml"
    cfg.write_text(
        f"name: st\nexecutor: {{workers: {workers}}}\nshards: {{manifest_parts: 3}}\n"
        "stages:\n  - name: extract\n  - name: langid\n  - name: dedup_exact\n"
    )
    return cfg


def test_dry_run_lists_units_stages_outputs_and_writes_nothing(crawl: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["run", str(_config(tmp_path)), "--input", str(crawl / "*.warc.gz"), "--out", str(out), "--dry-run"]
    before = _tree(tmp_path)
    result = CliRunner().invoke(main, [*args, "--show-units", "2"], terminal_width=200)
    assert result.exit_code == 0, result.output
    text = result.output
    sizes = {p.name: p.stat().st_size for p in crawl.glob("*.warc.gz")}
    assert f"work units: 6 input files, {sum(sizes.values()) / 1e6:,.2f} MB" in text
    assert "part-0.warc.gz" in text and "part-1.warc.gz" in text and "part-2.warc.gz" not in text
    assert "… and 4 more" in text
    for stage in ("extract", "langid", "dedup_exact"):
        assert f"  {stage}" in text
    assert f"{out}/manifest/part-00000.parquet .. {out}/manifest/part-00002.parquet" in text
    assert f"{out}/run.json" in text and "(empty: a new run starts)" in text

    plan = json.loads(CliRunner().invoke(main, [*args, "--json", "--show-units", "10"]).output)
    assert plan["units"]["count"] == 6 and plan["units"]["bytes"] == sum(sizes.values())
    assert [u["bytes"] for u in plan["units"]["first"]] == [sizes[f"part-{i}.warc.gz"] for i in range(6)]
    assert [s["name"] for s in plan["stages"]] == ["extract", "langid", "dedup_exact"]
    assert all("version" in s and "params" in s for s in plan["stages"])
    assert not out.exists() and _tree(tmp_path) == before, "a dry run wrote something"


def test_status_of_a_killed_run_then_of_the_resumed_finished_run(crawl: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    cfg = _config(tmp_path)
    cmd = [sys.executable, "-m", "sovereign.pipeline.cli", "run", str(cfg), "--input", str(crawl), "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    units = out / "_work" / "units"
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not list(units.glob("*/done.json")):
            time.sleep(0.02)
        live = json.loads(CliRunner().invoke(main, ["status", str(out), "--json"]).output)
        if proc.poll() is None and live["state"] != "finished":
            assert live["state"] == "running" and live["units_total"] == 6
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    done = len(list(units.glob("*/done.json")))
    assert 1 <= done < 6, "the kill should land mid-map"

    result = CliRunner().invoke(main, ["status", str(out)])
    assert result.exit_code == 0, result.output
    assert "state: stopped  phase: documents" in result.output
    assert f"work units done: {done}/6" in result.output and "to resume" in result.output
    st = json.loads(CliRunner().invoke(main, ["status", str(out), "--json"]).output)
    assert (st["units_done"], st["units_total"], st["phase_done"], st["phase_total"]) == (done, 6, done, 6)
    assert [p["name"] for p in st["phases"]] == ["documents"]

    resumed = CliRunner().invoke(main, ["run", str(cfg), "--input", str(crawl), "--out", str(out)], terminal_width=200)
    assert resumed.exit_code == 0, resumed.output
    rows = {
        ln.split("│")[1].strip(): ln.split("│")[2].strip() for ln in resumed.output.splitlines() if ln.count("│") == 3
    }
    assert rows["resumed work units"] == str(done)
    st = json.loads(CliRunner().invoke(main, ["status", str(out), "--json"]).output)
    assert (st["state"], st["phase"], st["units_done"], st["units_total"]) == ("finished", "finished", 6, 6)
    run = json.loads((out / "run.json").read_text())
    assert st["counts"]["kept"] == run["counts"]["kept"] and st["root_hash"] == run["root_hash"]


def test_summary_rates_are_of_the_work_phase(crawl: Path, tmp_path: Path) -> None:
    """docs/s and MB/s per worker come from the units' own seconds (after start-up and model loading), which lie
    inside the map phase's wall time; the same numbers are in `status`."""
    out = tmp_path / "out"
    args = ["run", str(_config(tmp_path)), "--input", str(crawl), "--out", str(out)]
    result = CliRunner().invoke(main, args, terminal_width=200)
    assert result.exit_code == 0, result.output
    rows = {
        ln.split("│")[1].strip(): ln.split("│")[2].strip() for ln in result.output.splitlines() if ln.count("│") == 3
    }
    run = json.loads((out / "run.json").read_text())
    timings = run["timings_s"]
    assert 0 < timings["map_busy"] <= timings["map"] + 0.01, "one worker: its busy seconds lie within the map phase"
    ingest = run["counts"]["by_reason"].get("ingest", {})
    docs = run["counts"]["input_records"] - sum(ingest.get(r, 0) for r in NOT_DOCUMENTS)
    mb = sum(i["bytes"] for i in run["inputs"]) / 1e6
    assert float(rows["docs/s per worker (map)"].replace(",", "")) == pytest.approx(docs / timings["map_busy"], 0.01)
    assert float(rows["MB/s per worker (map)"]) == pytest.approx(mb / timings["map_busy"], abs=0.01)
    rates = json.loads(CliRunner().invoke(main, ["status", str(out), "--json"]).output)["rates"]
    assert rates["docs_per_s_per_worker"] == pytest.approx(docs / timings["map_busy"], 0.01)
