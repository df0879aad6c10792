"""Issue 9, finding 10: hostile configs, run metadata and crawled strings at the command line. A config bomb is
refused in bounded memory, a binary config is a one-line error, `audit explain`/`verify` print no terminal escapes,
and verify stays inside the run and answers FAIL (exit 2) for any malformed metadata."""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from sovereign.pipeline.cli import EXIT_VERIFY_FAILED, main
from sovereign.pipeline.config import ConfigError, load_config, parse_config
from sovereign.pipeline.engine import run_pipeline
from sovereign.pipeline.synthetic.hostile_config import (
    alias_bomb_yaml,
    binary_config,
    deep_yaml,
    escaped_url,
    invalid_alias_bomb_yaml,
    malformed_markers,
    malformed_run_jsons,
    outside_outputs,
    recursive_alias_yaml,
)

# Control characters that drive a terminal: none may reach the output of `audit` commands.
FORBIDDEN = ["\x1b", "\x9b", "\x07", "\u202e"]


def _cli_with_limits(args: list[str], cwd: Path) -> tuple[int, str, int]:
    """(exit code, stderr, peak RSS in MB) of `sovereign ARGS` in a child capped at 2 GiB of address space (so the
    old behaviour fails fast instead of taking the machine), its peak RSS read from wait4's rusage."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    err_path = cwd / "stderr.txt"
    with open(err_path, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sovereign.pipeline.cli", *args],
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=err,
            preexec_fn=limit,  # noqa: PLW1509 - a resource limit only
        )
        timer = threading.Timer(120, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, err_path.read_text(errors="replace"), usage.ru_maxrss // 1024


@pytest.mark.parametrize(
    ("make", "expect"),
    [
        (lambda: alias_bomb_yaml(10), "aliases are expanded"),
        (lambda: invalid_alias_bomb_yaml(10), "aliases are expanded"),
    ],
    ids=["valid-bomb", "invalid-bomb"],
)
def test_alias_bomb_is_refused_in_bounded_memory(tmp_path: Path, make, expect: str) -> None:
    cfg = tmp_path / "bomb.yaml"
    cfg.write_bytes(make())  # under 1 KB; 9**10 = 3.5 billion strings once expanded
    assert cfg.stat().st_size < 1000
    code, err, peak_mb = _cli_with_limits(["run", str(cfg), "--out", str(tmp_path / "run")], tmp_path)
    assert code == 1 and expect in err, err[-500:]
    assert "internal error" not in err and len(err) < 600
    assert peak_mb < 600, f"peak RSS {peak_mb} MB while refusing a 1 KB config"
    assert not (tmp_path / "run").exists()


def test_alias_bomb_check_grows_with_the_file_not_the_expansion() -> None:
    """The size check is memoised over the node graph: 20 levels (9**20 leaves) cost about as much as 5."""
    import time

    def best(levels: int) -> float:
        runs = []
        for _ in range(3):
            t0 = time.perf_counter()
            with pytest.raises(ConfigError):
                from sovereign.pipeline.config import load_yaml_bounded

                load_yaml_bounded(alias_bomb_yaml(levels).decode(), "bomb")
            runs.append(time.perf_counter() - t0)
        return min(runs)

    assert best(20) < 20 * best(6) + 0.05  # 3.3x the file; a check that expanded would be 9**14 times slower


@pytest.mark.parametrize(
    ("data", "expect"),
    [
        (recursive_alias_yaml(3), "alias inside the node it refers to"),
        (deep_yaml(100_000), "nested too deeply"),
        (deep_yaml(200), "nested deeper than"),
        (binary_config(4096), "not UTF-8 text"),
        (b"name: x\x00y\n", "invalid YAML"),
        (b"# " + b"x" * (2 << 20), "too large for a config"),
    ],
    ids=["recursive-alias", "deep-100k", "deep-200", "binary", "nul", "huge"],
)
def test_hostile_config_is_a_one_line_config_error(tmp_path: Path, data: bytes, expect: str) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_bytes(data)
    with pytest.raises(ConfigError, match=expect) as info:
        load_config(cfg)
    assert "\n" not in str(info.value) and len(str(info.value)) < 400


def test_binary_config_at_the_command_line(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_bytes(binary_config(4096))
    result = CliRunner().invoke(main, ["run", str(cfg)])
    assert result.exit_code == 1
    assert "not UTF-8 text" in result.output and "internal error" not in result.output


def test_validation_error_quotes_values_briefly_and_escaped(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        json.dumps({"name": "x", "executor": {"workers": "\x1b[2J" + "many" * 10_000}, "bogus": list(range(5_000))})
    )
    with pytest.raises(ConfigError) as info:
        load_config(cfg)
    msg = str(info.value)
    assert len(msg) < 600 and "\x1b" not in msg and "executor.workers" in msg and "list of 5000 items" in msg


# --- a finished run with hostile strings in its data ------------------------------------------------------------


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    d = tmp_path_factory.mktemp("edges")
    url = escaped_url(8)
    docs = d / "docs.jsonl"
    text = "Die Verwaltung veröffentlicht regelmäßig Berichte über ihre Arbeit und die Haushaltsmittel. " * 4
    with open(docs, "w", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": "evil", "url": url, "text": text}) + "\n")
        fh.write(json.dumps({"id": "fine", "url": "https://www.beispiel.de/ok", "text": text + " Anders."}) + "\n")
        fh.write("{not json}\n")
    out = d / "run"
    cfg = {"name": "t", "inputs": [{"uri": str(docs)}], "output": str(out), "stages": [{"name": "dedup_exact"}]}
    run_pipeline(parse_config({**cfg, "executor": {"workers": 1}}))
    return out, url


def _copy(run: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    return copy


def test_explain_prints_no_terminal_escapes(finished_run: tuple[Path, str]) -> None:
    run, url = finished_run
    result = CliRunner().invoke(main, ["audit", "explain", str(run), url])
    assert result.exit_code == 0, result.output
    assert "URL: https://www.beispiel.de/seite\\x1b[2J" in result.output  # shown, visibly escaped
    assert not [c for c in FORBIDDEN if c in result.output], repr(result.output)
    missing = CliRunner().invoke(main, ["audit", "explain", str(run), "\x1b[2Jnope"])
    assert missing.exit_code == 1 and "\x1b" not in missing.output


def _seal(run: Path) -> None:
    """Make _SUCCESS agree with a tampered run.json, so verify must find the problem in the content."""
    raw = (run / "run.json").read_bytes()
    try:
        root = json.loads(raw).get("root_hash")
    except (ValueError, AttributeError, RecursionError):
        root = None
    (run / "_SUCCESS").write_text(json.dumps({"run_json_sha256": hashlib.sha256(raw).hexdigest(), "root_hash": root}))


def test_verify_never_reads_outside_the_run(finished_run: tuple[Path, str], tmp_path: Path) -> None:
    run = _copy(finished_run[0], tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"not part of any run\n")
    digest = hashlib.sha256(secret.read_bytes()).hexdigest()
    (run / "run.json").write_bytes(outside_outputs((run / "run.json").read_bytes(), 6, str(secret)))
    (run / "shards" / "link.parquet").symlink_to(secret)  # a symlink inside the run that leads out of it
    data = json.loads((run / "run.json").read_text())
    data["outputs"]["shards/link.parquet"] = {"sha256": "0" * 64, "bytes": 1}
    data["outputs"]["shards/\x1b[2Jevil.parquet"] = {"sha256": "0" * 64, "bytes": 1}
    (run / "run.json").write_text(json.dumps(data))
    _seal(run)
    result = CliRunner().invoke(main, ["audit", "verify", str(run)])
    assert result.exit_code == EXIT_VERIFY_FAILED
    assert "outside the run" in result.output
    assert digest[:8] not in result.output and digest[-8:] not in result.output
    assert not [c for c in FORBIDDEN if c in result.output], repr(result.output)


@pytest.mark.parametrize("body", malformed_markers(11), ids=[f"marker{i}" for i in range(11)])
def test_verify_fails_on_a_malformed_success_marker(finished_run: tuple[Path, str], tmp_path: Path, body: bytes):
    run = _copy(finished_run[0], tmp_path)
    (run / "_SUCCESS").write_bytes(body)
    result = CliRunner().invoke(main, ["audit", "verify", str(run)])
    assert result.exit_code == EXIT_VERIFY_FAILED, result.output
    assert "FAIL" in result.output and "internal error" not in result.output


@pytest.mark.parametrize("change", malformed_run_jsons(5), ids=[f"run{i}" for i in range(5)])
def test_verify_fails_on_malformed_run_json(finished_run: tuple[Path, str], tmp_path: Path, change: dict):
    run = _copy(finished_run[0], tmp_path)
    data = json.loads((run / "run.json").read_text())
    data.update(change)
    (run / "run.json").write_text(json.dumps(data))
    _seal(run)
    result = CliRunner().invoke(main, ["audit", "verify", str(run)])
    assert result.exit_code == EXIT_VERIFY_FAILED, result.output
    assert "FAIL" in result.output and "internal error" not in result.output


@pytest.mark.parametrize("body", [b"[1, 2]", b"\xff\xfe", b"[" * 100_000])
def test_verify_fails_on_run_json_that_is_not_an_object(finished_run: tuple[Path, str], tmp_path: Path, body: bytes):
    run = _copy(finished_run[0], tmp_path)
    (run / "run.json").write_bytes(body)
    _seal(run)
    result = CliRunner().invoke(main, ["audit", "verify", str(run)])
    assert result.exit_code == EXIT_VERIFY_FAILED and "internal error" not in result.output, result.output


def test_the_untampered_run_verifies(finished_run: tuple[Path, str]) -> None:
    result = CliRunner().invoke(main, ["audit", "verify", str(finished_run[0])])
    assert result.exit_code == 0, result.output
