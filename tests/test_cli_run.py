"""`sovereign run` as data engineers type it (issue 11): a shell-expanded glob after --input."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
from click.testing import CliRunner

from pipeline.cli import main
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
    sources = {r["source_uri"].split("#")[0].rsplit("/", 1)[-1] for r in pq.read_table(out / "manifest").to_pylist()}
    assert sources == {f"crawl-{i}.warc.gz" for i in range(3)}
