"""`sovereign run` as data engineers type it (issue 11): a shell-expanded glob after --input."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
from click.testing import CliRunner

from sovereign.pipeline.cli import main
from tests.helpers.warc import german_pages, write_warc


def test_a_shell_expanded_glob_after_input_runs_every_file(tmp_path: Path) -> None:
    """`--input crawl/*.warc.gz` reaches the command as `--input a b c`: every file is an input (it used to fail
    with "Got unexpected extra arguments")."""
    files = [str(write_warc(tmp_path / f"crawl-{i}.warc.gz", german_pages(3, start=3 * i))) for i in range(3)]
    config = tmp_path / "run.yaml"
    config.write_text("name: glob\nstages:\n  - name: extract\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(config), "--input", *files, "--out", str(out)])
    assert result.exit_code == 0, result.output
    sources = {r["source_uri"].split("#")[0].split(":", 1)[1] for r in pq.read_table(out / "manifest").to_pylist()}
    assert sources == {f"crawl-{i}.warc.gz" for i in range(3)}


def test_the_summary_counts_host_captures_as_not_documents(tmp_path: Path) -> None:
    """A robots.txt capture is rights evidence, not a dropped document: the summary shows it apart (the demo's
    summary used to call 457 of 574 'dropped' records dropped although they were never documents)."""
    from tests.helpers.warc import html_page, rec, robots, warc_bytes

    page = html_page("Amtsblatt", ["Die Gemeinde veröffentlicht ihre Beschlüsse jeden Monat im Amtsblatt. " * 3])
    (tmp_path / "crawl.warc.gz").write_bytes(
        warc_bytes([robots("User-agent: *\nAllow: /\n"), rec("https://ex.eu/a", page)])
    )
    config = tmp_path / "run.yaml"
    config.write_text("name: summary\nstages:\n  - name: extract\n")
    args = ["run", str(config), "--input", str(tmp_path / "crawl.warc.gz"), "--out", str(tmp_path / "out")]
    result = CliRunner().invoke(main, args, terminal_width=200)
    assert result.exit_code == 0, result.output
    rows = {
        line.split("│")[1].strip(): line.split("│")[2].strip()
        for line in result.output.splitlines()
        if line.count("│") == 3
    }
    assert rows["input records"] == "2" and rows["not documents"] == "1" and rows["ingest:host-capture"] == "1"
    assert rows["documents"] == "1" and rows["kept"] == "1" and rows["dropped documents"] == "0"


def test_demo_pages_out_of_range_is_a_usage_error_not_an_internal_error(tmp_path: Path) -> None:
    """`sovereign demo --pages 60` said 'internal error: ValueError' (exit 1); now click names the valid range."""
    result = CliRunner().invoke(main, ["demo", "--pages", "60", "--out", str(tmp_path / "demo")])
    assert result.exit_code == 2
    assert "150<=x<=600" in result.output and "internal error" not in result.output
    assert not (tmp_path / "demo").exists()
