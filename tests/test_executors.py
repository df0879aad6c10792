"""The contract that makes the executors honest: the same input and config give byte-identical shards and
manifest on local, Spark and Ray."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.audit import verify_run
from pipeline.demo import demo_config
from pipeline.engine import run_pipeline

DEMO_PAGES = 160  # small enough for CI's 2 cores, large enough to hold every planted case


def _outputs(run: Path) -> dict[str, bytes]:
    files = sorted(p for d in ("shards", "manifest") for p in (run / d).rglob("*.parquet"))
    assert files, f"no outputs in {run}"
    return {str(p.relative_to(run)): p.read_bytes() for p in files}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo-corpus")


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory, corpus: Path) -> Path:
    out = tmp_path_factory.mktemp("demo-local")
    cfg = demo_config(out, executor="local", pages=DEMO_PAGES, corpus=corpus)
    run_pipeline(cfg)
    assert verify_run(str(out / "run"))[0] == []
    return out / "run"


def _run_with(kind: str, tmp: Path, corpus: Path, **kw: object) -> Path:
    cfg = demo_config(tmp, executor=kind, pages=DEMO_PAGES, corpus=corpus)
    run_pipeline(cfg, **kw)
    assert verify_run(str(tmp / "run"))[0] == []
    return tmp / "run"


def test_spark_matches_local_byte_for_byte(local_run: Path, corpus: Path, spark, tmp_path: Path) -> None:
    run = _run_with("spark", tmp_path, corpus, spark_session=spark)
    assert _outputs(run) == _outputs(local_run)


def test_ray_matches_local_byte_for_byte(local_run: Path, corpus: Path, ray_local, tmp_path: Path) -> None:
    run = _run_with("ray", tmp_path, corpus)
    assert _outputs(run) == _outputs(local_run)


def test_local_is_deterministic_across_worker_counts(local_run: Path, corpus: Path, tmp_path: Path) -> None:
    cfg = demo_config(tmp_path, executor="local", pages=DEMO_PAGES, corpus=corpus)
    data = cfg.model_dump(mode="json")
    data["executor"]["workers"] = 1
    from pipeline.config import parse_config

    run_pipeline(parse_config(data))
    assert _outputs(tmp_path / "run") == _outputs(local_run)
