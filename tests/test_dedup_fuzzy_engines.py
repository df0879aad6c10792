"""The three reduce backends (DuckDB for local, Spark, Ray) give identical rows for the same op on the same keys."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sovereign.pipeline.reduce import duckdb_engine
from sovereign.pipeline.reduce_ops import REDUCE_SCHEMA, ReduceContext
from sovereign.pipeline.synthetic.neardup_set import generate, synthetic_paragraphs
from sovereign.stages.dedup_fuzzy import FuzzyDedupStage


@pytest.fixture(scope="module")
def keys_and_local(tmp_path_factory: pytest.TempPathFactory) -> tuple[FuzzyDedupStage, ReduceContext, pa.Table]:
    nd = generate(synthetic_paragraphs(600, seed=2), families=6, boilerplate_groups=2, group_size=3, singletons=8)
    texts = [d["text"] for d in nd.docs]
    docs = pa.table({"id": [d["id"] for d in nd.docs], "text": texts, "q": [float(len(t) % 5) for t in texts]})
    stage = FuzzyDedupStage(survivor_score="q", verify_threshold=0.6)
    keys = stage.map(docs).select(["id", *stage.key_columns])
    tmp = tmp_path_factory.mktemp("fuzzy")
    # Two key files, as two work units would write them.
    pq.write_table(keys.slice(0, 20), tmp / "k0.parquet")
    pq.write_table(keys.slice(20), tmp / "k1.parquet")
    ctx = ReduceContext([str(tmp / "k0.parquet"), str(tmp / "k1.parquet")], str(tmp), 64)
    local = duckdb_engine.reduce(stage.reduce_op(), ctx)
    assert local.num_rows > 10 and sum(local.column("drop").to_pylist()) > 5
    return stage, ctx, local


def test_spark_reduce_matches_local(spark, keys_and_local) -> None:
    from sovereign.pipeline.reduce import spark_engine

    stage, ctx, local = keys_and_local
    table = spark_engine.reduce(spark, stage.reduce_op(), ctx)
    assert table.schema == REDUCE_SCHEMA
    assert table.equals(local)


def test_ray_reduce_matches_local(ray_local, keys_and_local) -> None:
    from sovereign.pipeline.reduce import ray_engine

    stage, ctx, local = keys_and_local
    table = ray_engine.reduce(stage.reduce_op(), ctx)
    assert table.schema == REDUCE_SCHEMA
    assert table.equals(local)
