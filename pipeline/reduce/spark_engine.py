"""The Spark executor's reduce backend: DataFrames over the key files.

GroupMin: groupBy/join. ConnectedComponents: buckets and edges by groupBy/join, connected components by
iterative min-label propagation with pointer jumping (checkpointed each round), survivors by the shared Arrow
code in mapInArrow. Nothing is collected to the driver but one changed-label count per round and the result.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from pipeline.reduce.common import finish, group_min_rows, resolve_sorted_stream, unsupported, verify_batch
from pipeline.reduce_ops import REDUCE_SCHEMA, ConnectedComponents, GroupMin, ReduceContext, ReduceOp

REDUCE_DDL = "id string, drop boolean, reason string, evidence string, dup_cluster_size int"


def reduce(spark: SparkSession, op: ReduceOp, ctx: ReduceContext) -> pa.Table:
    keys = spark.read.parquet(*ctx.key_files)
    if isinstance(op, GroupMin):
        return finish(group_min(keys.select("id", F.col(op.key).alias("k")), op), op)
    if isinstance(op, ConnectedComponents):
        cols = keys.select(
            "id", F.col(op.bands).alias("bands"), F.col(op.sig).alias("sig"), F.col(op.score).alias("score")
        )
        return finish(connected_components(cols, op).select(*REDUCE_SCHEMA.names).toArrow(), op)
    raise unsupported(op, "Spark")


def group_min(keys: DataFrame, op: GroupMin) -> pa.Table:
    """keys: (id, k)."""
    grouped = (
        keys.where(F.col("k").isNotNull())
        .groupBy("k")
        .agg(F.count("*").alias("n"), F.min("id").alias("survivor"))
        .where("n > 1")
    )
    joined = keys.join(grouped, on="k").select("id", "k", "n", "survivor")
    return group_min_rows([(r["id"], r["k"], r["n"], r["survivor"]) for r in joined.collect()], op)


def connected_components(keys: DataFrame, op: ConnectedComponents) -> DataFrame:
    """keys: (id, bands, sig, score). Returns a DataFrame of REDUCE_SCHEMA rows."""
    threshold, reason = op.verify_threshold, op.reason
    keyed = keys.where(F.col("bands").isNotNull())
    bands = keyed.select("id", F.posexplode("bands").alias("b", "h"))
    buckets = bands.groupBy("b", "h").agg(F.min("id").alias("a"), F.count("*").alias("n")).where("n > 1")
    edges = (
        bands.join(buckets, ["b", "h"]).where(F.col("id") != F.col("a")).select("a", F.col("id").alias("b")).distinct()
    )
    if threshold is not None:
        sigs = keyed.select("id", "sig")
        pairs = edges.join(sigs.withColumnsRenamed({"id": "a", "sig": "sig_a"}), "a").join(
            sigs.withColumnsRenamed({"id": "b", "sig": "sig_b"}), "b"
        )

        def verify(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            for batch in batches:
                yield from verify_batch(batch, threshold).to_batches()

        edges = pairs.select("a", "b", "sig_a", "sig_b").mapInArrow(verify, "a string, b string")
    labels = _components(edges.localCheckpoint())
    members = (
        labels.join(keyed.select(F.col("id").alias("node"), F.col("score")), "node")
        .select(F.col("node").alias("id"), "label", F.col("score").cast("double"))
        .repartition("label")
        .sortWithinPartitions("label", "id")
    )

    def resolve(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in resolve_sorted_stream(batches, reason):
            yield batch.cast(REDUCE_SCHEMA) if batch.schema != REDUCE_SCHEMA else batch

    return members.mapInArrow(resolve, REDUCE_DDL)


def _components(edges: Any) -> Any:
    """(node, label) for every node of an edge, label = the lowest id of its connected component."""
    labels = (
        edges.select(F.col("a").alias("node"), F.col("a").alias("label"))
        .union(edges.select(F.col("b").alias("node"), F.col("a").alias("label")))
        .groupBy("node")
        .agg(F.min("label").alias("label"))
        .localCheckpoint()
    )
    while True:
        prop = (
            labels.union(
                edges.join(labels.withColumnRenamed("node", "a"), "a").select(F.col("b").alias("node"), "label")
            )
            .union(edges.join(labels.withColumnRenamed("node", "b"), "b").select(F.col("a").alias("node"), "label"))
            .groupBy("node")
            .agg(F.min("label").alias("label"))
        )
        hop = prop.select(F.col("node").alias("label"), F.col("label").alias("hop"))
        nxt = (
            prop.join(hop, "label", "left")
            .select("node", F.least("label", F.coalesce("hop", "label")).alias("label"))
            .localCheckpoint()
        )
        changed = (
            nxt.join(labels.withColumnRenamed("label", "old"), "node").where(F.col("label") != F.col("old")).count()
        )
        labels = nxt
        if changed == 0:
            return labels
