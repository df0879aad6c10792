"""Issue 9, findings 8, 9 and the SQL part of 10: a run never deletes or ingests files it did not write, its workers
die with the driver, and output or scratch paths with a quote work end to end. Real WARC bytes, real runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from sovereign.pipeline.audit import verify_run
from sovereign.pipeline.config import parse_config
from sovereign.pipeline.engine import RunError, run_pipeline
from tests.helpers.warc import german_pages, write_warc

STAGES = [{"name": "extract"}, {"name": "dedup_exact"}]


def _cfg(inputs: list[str], out: Path, stages: list[dict] | None = None, **extra: object):
    return parse_config(
        {
            "name": "t",
            "inputs": [{"uri": u} for u in inputs],
            "output": str(out),
            "stages": STAGES if stages is None else stages,
            "executor": {"workers": 1},
            **extra,
        }
    )


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("crawl")
    write_warc(d / "a.warc.gz", german_pages(6))
    write_warc(d / "b.warc.gz", german_pages(6, start=6))
    return d


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_out_holding_user_files_is_refused_and_left_untouched(tmp_path: Path, crawl: Path) -> None:
    out = tmp_path / "mine"
    (out / "shards").mkdir(parents=True)
    (out / "thesis.tex").write_text("my thesis")
    (out / "shards" / "notes.txt").write_text("my notes")
    before = _snapshot(out)
    with pytest.raises(RunError, match="not empty and holds no Sovereign run.*thesis.tex"):
        run_pipeline(_cfg([str(crawl / "a.warc.gz")], out))
    with pytest.raises(RunError, match="not empty"):
        run_pipeline(_cfg([str(crawl / "a.warc.gz")], out), overwrite=True)  # --overwrite is for runs only
    assert _snapshot(out) == before
    assert sorted(p.name for p in out.iterdir()) == ["shards", "thesis.tex"]  # not even a lock file was left


def test_user_work_folder_is_never_taken_over(tmp_path: Path, crawl: Path) -> None:
    out = tmp_path / "mine"
    (out / "_work").mkdir(parents=True)
    (out / "_work" / "draft.txt").write_text("keep me")
    with pytest.raises(RunError, match="_work"):
        run_pipeline(_cfg([str(crawl / "a.warc.gz")], out))
    with pytest.raises(RunError, match="_work"):
        run_pipeline(_cfg([str(crawl / "a.warc.gz")], out), force_out=True)
    assert (out / "_work" / "draft.txt").read_text() == "keep me"


def test_force_out_writes_beside_user_files_and_keeps_them(tmp_path: Path, crawl: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("my thesis")
    run_pipeline(_cfg([str(crawl / "a.warc.gz")], out), force_out=True)
    assert (out / "thesis.tex").read_text() == "my thesis"
    assert verify_run(str(out))[0] == []


def test_overwrite_deletes_only_what_runs_wrote(
    tmp_path: Path, crawl: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    run_pipeline(_cfg([str(crawl / "a.warc.gz")], out))
    # The user's own files inside the run's folders, one of them a Parquet file a naive listing would take for ours.
    mine = {
        "shards/lang=de/my-extra.parquet": None,
        "shards/README.md": b"my readme",
        "manifest/notes.txt": b"my notes",
        "packs/my-pack/tokens.bin": b"\x00\x01my tokens",
    }
    for rel, data in mine.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        if data is None:
            pq.write_table(pa.table({"id": ["x"], "text": ["mine"]}), out / rel)
        else:
            (out / rel).write_bytes(data)
    before = {rel: (out / rel).read_bytes() for rel in mine}
    capsys.readouterr()
    result = run_pipeline(_cfg([str(crawl / "a.warc.gz"), str(crawl / "b.warc.gz")], out), overwrite=True)
    assert {rel: (out / rel).read_bytes() for rel in mine} == before
    assert "--overwrite left 4 files the run did not write" in capsys.readouterr().err
    # The new run's record lists only its own outputs and counts only its own manifest.
    assert not set(result.run_json["outputs"]) & set(mine)
    assert result.run_json["counts"]["manifest_rows"] == result.run_json["counts"]["input_records"] == 12
    # verify tells the truth about the folder: it names the user's files, and nothing of the run's own.
    problems, _ = verify_run(str(out))
    for rel in mine:
        if not rel.startswith("packs/"):
            assert f"{rel}: present but not listed in run.json" in problems
    assert all(any(rel in p or "packs/my-pack" in p for rel in mine) for p in problems), problems


def test_input_glob_covering_the_output_does_not_ingest_the_run(tmp_path: Path, crawl: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for f in crawl.iterdir():
        (data / f.name).write_bytes(f.read_bytes())
    out = data / "run"  # the input prefix `data` covers the output
    first = run_pipeline(_cfg([str(data)], out)).run_json
    second = run_pipeline(_cfg([str(data)], out), overwrite=True).run_json
    assert first["counts"]["input_records"] == second["counts"]["input_records"] == 12
    assert all("/run/" not in i["uri"] for i in second["inputs"])
    # Inputs that lie only inside the output: refused before anything of the finished run is deleted.
    with pytest.raises(RunError, match="inside the output"):
        run_pipeline(_cfg([str(out / "manifest" / "*.parquet")], out), overwrite=True)
    assert verify_run(str(out))[0] == []


def test_quote_in_output_and_scratch_paths(tmp_path: Path, crawl: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--out "out/it's"` used to fail after the whole map phase with a DuckDB parser error; so did a TMPDIR with a
    quote. Two global stages, so the surviving-keys query between them runs too."""
    scratch = tmp_path / "tmp'dir"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    out = tmp_path / "out" / "it's"
    stages = [{"name": "extract"}, {"name": "dedup_exact"}, {"name": "dedup_fuzzy"}]
    result = run_pipeline(_cfg([str(crawl / "a.warc.gz"), str(crawl / "b.warc.gz")], out, stages=stages))
    assert result.run_json["counts"]["manifest_rows"] == 12
    assert verify_run(str(out))[0] == []


# --- finding 9: workers die with the driver ----------------------------------------------------------------------


def _proc_stat(pid: int) -> tuple[str, int, int] | None:
    """(state, ppid, pgrp) of a live process, None if gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return fields[0], int(fields[1]), int(fields[2])


def _descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (st := _proc_stat(int(entry))):
            children.setdefault(st[1], []).append(int(entry))
    out, todo = set(), [root]
    while todo:
        for c in children.get(todo.pop(), []):
            out.add(c)
            todo.append(c)
    return out


def _alive(pids: set[int]) -> set[int]:
    return {p for p in pids if (st := _proc_stat(p)) and st[0] != "Z"}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signals are Linux-only")
def test_workers_die_with_a_sigkilled_driver(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    for i in range(8):
        write_warc(inputs / f"part-{i}.warc.gz", german_pages(30, start=i * 30))
    out = tmp_path / "run"
    cfg = _cfg([str(inputs / "*.warc.gz")], out, executor={"workers": 2})
    cfg_path = tmp_path / "cfg.yaml"
    cfg_path.write_text(yaml.safe_dump(cfg.model_dump(mode="json")))
    driver = subprocess.Popen(
        [sys.executable, "-m", "sovereign.pipeline.cli", "run", str(cfg_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: every worker and stage process inherits it
    )
    units = out / "_work" / "units"
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not list(units.glob("*/done.json")):
            time.sleep(0.02)
        workers = _descendants(driver.pid)
        assert len(workers) >= 2, "the pool should be running"
        driver.send_signal(signal.SIGKILL)
        driver.wait()
        committed = len(list(units.glob("*/done.json")))
        assert committed < 8, "the kill should land mid-map"
        deadline = time.time() + 5
        while time.time() < deadline and _alive(workers):
            time.sleep(0.05)
        assert not _alive(workers), "workers outlived the driver"
        pids = [int(e) for e in os.listdir("/proc") if e.isdigit()]
        group = {p for p in pids if (st := _proc_stat(p)) and st[2] == driver.pid}
        assert not _alive(group), "processes of the run's group outlived the driver"
        time.sleep(1.0)
        assert len(list(units.glob("*/done.json"))) == committed, "a unit was committed after the driver died"
        assert not (out / "_SUCCESS").exists()
    finally:
        try:
            os.killpg(driver.pid, signal.SIGKILL)  # only our own test's process group, if anything is left
        except ProcessLookupError:
            pass


def test_run_json_lists_only_files_the_run_wrote(tmp_path: Path, crawl: Path) -> None:
    out = tmp_path / "run"
    result = run_pipeline(_cfg([str(crawl / "a.warc.gz")], out))
    listed = set(result.run_json["outputs"])
    on_disk = {str(p.relative_to(out)) for d in ("shards", "manifest") for p in (out / d).rglob("*.parquet")}
    assert listed == on_disk
    assert json.loads((out / "run.json").read_text())["outputs"].keys() == listed
