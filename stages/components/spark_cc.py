"""Spark reduce: buckets and edges by groupBy/join, connected components by iterative min-label propagation
with pointer jumping (checkpointed each round), survivors by the shared Arrow code in mapInArrow. Nothing is
collected to the driver but one changed-label count per round."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from stages.base import REDUCE_SCHEMA
from stages.components.common import resolve_sorted_stream, verify_batch

REDUCE_DDL = "id string, drop boolean, reason string, evidence string, dup_cluster_size int"


def reduce_spark(spark: Any, keys_df: Any, verify_threshold: float | None) -> Any:
    from pyspark.sql import functions as F

    keyed = keys_df.where(F.col("_minhash_bands").isNotNull())
    bands = keyed.select("id", F.posexplode("_minhash_bands").alias("b", "h"))
    buckets = bands.groupBy("b", "h").agg(F.min("id").alias("a"), F.count("*").alias("n")).where("n > 1")
    edges = (
        bands.join(buckets, ["b", "h"]).where(F.col("id") != F.col("a")).select("a", F.col("id").alias("b")).distinct()
    )
    if verify_threshold is not None:
        sigs = keyed.select("id", "_minhash_sig")
        pairs = edges.join(sigs.withColumnsRenamed({"id": "a", "_minhash_sig": "sig_a"}), "a").join(
            sigs.withColumnsRenamed({"id": "b", "_minhash_sig": "sig_b"}), "b"
        )

        def verify(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            for batch in batches:
                yield from verify_batch(batch, verify_threshold).to_batches()

        edges = pairs.select("a", "b", "sig_a", "sig_b").mapInArrow(verify, "a string, b string")
    edges = edges.localCheckpoint()
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
            break
    members = (
        labels.join(keyed.select(F.col("id").alias("node"), F.col("_dedup_score").alias("score")), "node")
        .select(F.col("node").alias("id"), "label", F.col("score").cast("double"))
        .repartition("label")
        .sortWithinPartitions("label", "id")
    )

    def resolve(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in resolve_sorted_stream(batches):
            yield batch.cast(REDUCE_SCHEMA) if batch.schema != REDUCE_SCHEMA else batch

    return members.mapInArrow(resolve, REDUCE_DDL)
