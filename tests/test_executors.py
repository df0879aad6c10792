"""The contract that makes the executors honest: the same input and config give byte-identical shards and
manifest on local, Spark and Ray."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sovereign.pipeline.audit import verify_run
from sovereign.pipeline.config import ExecutorSpec
from sovereign.pipeline.demo import demo_config
from sovereign.pipeline.engine import run_pipeline
from sovereign.pipeline.executors import Executor, LocalExecutor, make_executor
from sovereign.pipeline.reduce.common import read_parts
from sovereign.pipeline.reduce_ops import REDUCE_SCHEMA, GroupMin, ReduceContext

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
    from sovereign.pipeline.config import parse_config

    run_pipeline(parse_config(data))
    assert _outputs(tmp_path / "run") == _outputs(local_run)


# ---- reduce backends: each executor implements the stages' engine-neutral ops ----------------------------------
# key "a" on three documents, "c" on two, "b" alone, one without key: the lowest id of each group survives.
GROUP_KEYS = {"d4": "a", "d1": "b", "d0": "a", "d3": None, "d2": "a", "d6": "c", "d5": "c"}
GROUP_EXPECTED = {  # id -> (drop, evidence)
    "d0": (False, None),
    "d2": (True, {"cluster": "a", "cluster_size": 3, "survivor": "d0"}),
    "d4": (True, {"cluster": "a", "cluster_size": 3, "survivor": "d0"}),
    "d5": (False, None),
    "d6": (True, {"cluster": "c", "cluster_size": 2, "survivor": "d5"}),
}


def _group_min(executor: Executor, tmp_path: Path) -> pa.Table:
    ids = list(GROUP_KEYS)
    # Two key files, as two work units write them, plus a column the op does not read.
    for i, part in enumerate((ids[:3], ids[3:])):
        t = pa.table({"id": part, "_k": [GROUP_KEYS[d] for d in part], "text": ["x"] * len(part)})
        pq.write_table(t, tmp_path / f"k{i}.parquet")
    ctx = ReduceContext([str(tmp_path / "k0.parquet"), str(tmp_path / "k1.parquet")], str(tmp_path), 128)
    parts = executor.reduce(GroupMin(key="_k", reason="duplicate:exact"), ctx)  # files, written by the workers
    return read_parts(parts, ctx.filesystem())


def _check_group_min(table: pa.Table) -> None:
    assert table.schema == REDUCE_SCHEMA
    rows = table.to_pylist()
    assert [r["id"] for r in rows] == sorted(GROUP_EXPECTED)  # sorted by id, nothing for singletons or null keys
    for r in rows:
        drop, evidence = GROUP_EXPECTED[r["id"]]
        assert r["drop"] is drop and r["reason"] == ("duplicate:exact" if drop else None)
        assert r["dup_cluster_size"] is None
        if drop:  # the one evidence shape: compact JSON, sorted keys
            assert r["evidence"] == json.dumps(evidence, sort_keys=True, separators=(",", ":"))
        else:
            assert r["evidence"] is None


def test_local_executor_reduces_group_min_with_duckdb(tmp_path: Path) -> None:
    _check_group_min(_group_min(LocalExecutor(ExecutorSpec(kind="local", workers=1)), tmp_path))


def test_local_executor_rejects_an_unknown_op(tmp_path: Path) -> None:
    ctx = ReduceContext([], str(tmp_path), 128)
    with pytest.raises(TypeError, match="DuckDB reduce backend has no implementation of object"):
        LocalExecutor(ExecutorSpec(kind="local", workers=1)).reduce(object(), ctx)  # type: ignore[arg-type]


def test_spark_executor_reduces_group_min(spark, tmp_path: Path) -> None:
    _check_group_min(_group_min(make_executor(ExecutorSpec(kind="spark"), spark_session=spark), tmp_path))


def test_ray_executor_reduces_group_min(ray_local, tmp_path: Path) -> None:
    _check_group_min(_group_min(make_executor(ExecutorSpec(kind="ray")), tmp_path))
