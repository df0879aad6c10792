"""The Spark executor's reduce backend: DataFrames over the key files, which the tasks read through pyarrow's
filesystem; the tasks also write the result parts (one file per shard).

GroupMin: groupBy/join. ConnectedComponents: buckets and edges by groupBy/join, connected components by
iterative min-label propagation with pointer jumping (checkpointed each round), survivors by the shared Arrow
code in mapInArrow. Nothing is collected to the driver but one changed-label count per round and the names and
counts of the parts written.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from sovereign.pipeline.reduce.common import (
    RESULT_SCHEMA,
    SHARD,
    finish,
    finish_rows,
    group_min_table,
    parts_from,
    parts_table,
    read_key_batches,
    resolve_sorted_stream,
    unsupported,
    verify_batch,
    write_parts,
)
from sovereign.pipeline.reduce_ops import ConnectedComponents, GroupMin, ReduceContext, ReduceOp, ReducePart

RESULT_DDL = f"id string, drop boolean, reason string, evidence string, dup_cluster_size int, {SHARD} string"
PART_DDL = "shard string, path string, rows long, drops long"


def write(spark: SparkSession, op: ReduceOp, ctx: ReduceContext) -> list[ReducePart]:
    """Run op and let the tasks write its rows, one file per shard, under ctx.output_dir(): each shard's rows
    meet in one partition (repartitioned by shard), sorted by id. Only the parts' names and counts come back."""
    rows = _rows(spark, op, ctx)
    if rows is None:
        return []
    open_fs, out_dir = ctx.open_fs, ctx.output_dir()

    def write_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import pyarrow.fs as pafs

        fs = open_fs() if open_fs is not None else pafs.LocalFileSystem()
        parts = write_parts((finish_rows(b, op) for b in batches), fs, out_dir)
        yield from parts_table(parts).to_batches()

    parallelism = spark.sparkContext.defaultParallelism
    ordered = rows.repartition(parallelism, SHARD).sortWithinPartitions(SHARD, "id")
    return parts_from([ordered.mapInArrow(write_partition, PART_DDL).toArrow()])


def reduce(spark: SparkSession, op: ReduceOp, ctx: ReduceContext) -> pa.Table:
    """The same rows in memory, REDUCE_SCHEMA sorted by id: for tests that compare backends."""
    rows = _rows(spark, op, ctx)
    if rows is None:
        return finish(RESULT_SCHEMA.empty_table(), op)
    return finish(rows.toArrow(), op)


def _rows(spark: SparkSession, op: ReduceOp, ctx: ReduceContext) -> DataFrame | None:
    """A DataFrame of RESULT_SCHEMA rows; None when there are no key files."""
    if not isinstance(op, GroupMin | ConnectedComponents):
        raise unsupported(op, "Spark")
    if not ctx.key_files:
        return None
    keys = read_keys(spark, ctx, op.columns)
    if isinstance(op, GroupMin):
        return group_min(keys.select("id", F.col(op.key).alias("k"), SHARD), op)
    cols = keys.select(
        "id", F.col(op.bands).alias("bands"), F.col(op.sig).alias("sig"), F.col(op.score).alias("score"), SHARD
    )
    return connected_components(cols, op).select(*RESULT_SCHEMA.names)


def read_keys(spark: SparkSession, ctx: ReduceContext, columns: list[str]) -> DataFrame:
    """id + columns + SHARD of the key files, read by the tasks through pyarrow's filesystem (S3 included: no
    Hadoop S3 connector); the driver reads one footer for the schema."""
    files, open_fs, shard_column = list(ctx.key_files), ctx.open_fs, ctx.shard_column
    cols = ["id", *columns]
    fs = ctx.filesystem()
    with fs.open_input_file(files[0]) as fh:
        file_schema = pq.read_schema(fh)
    schema = pa.schema([file_schema.field(c) for c in cols]).append(pa.field(SHARD, pa.string()))

    def read(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import pyarrow.fs as pafs

        task_fs = open_fs() if open_fs is not None else pafs.LocalFileSystem()
        for batch in batches:
            paths = [files[i] for i in batch.column(0).to_pylist()]
            for out in read_key_batches(paths, cols, task_fs, shard_column):
                yield out.cast(schema)

    n = len(files)
    return spark.range(n, numPartitions=max(1, min(n, spark.sparkContext.defaultParallelism * 4))).mapInArrow(
        read, from_arrow_schema(schema)
    )


def group_min(keys: DataFrame, op: GroupMin) -> DataFrame:
    """keys: (id, k, SHARD) -> RESULT_SCHEMA rows, computed by the tasks a batch at a time."""
    grouped = (
        keys.where(F.col("k").isNotNull())
        .groupBy("k")
        .agg(F.count("*").alias("n"), F.min("id").alias("survivor"))
        .where("n > 1")
    )
    joined = keys.join(grouped, on="k").select("id", "k", "n", "survivor", SHARD)

    def rows(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield from group_min_table(batch, op).to_batches()

    return joined.mapInArrow(rows, RESULT_DDL)


def connected_components(keys: DataFrame, op: ConnectedComponents) -> DataFrame:
    """keys: (id, bands, sig, score, SHARD). Returns a DataFrame of RESULT_SCHEMA rows."""
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
        labels.join(keyed.select(F.col("id").alias("node"), F.col("score"), SHARD), "node")
        .select(F.col("node").alias("id"), "label", F.col("score").cast("double"), SHARD)
        .repartition("label")
        .sortWithinPartitions("label", "id")
    )

    def resolve(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in resolve_sorted_stream(batches, reason):
            yield batch.cast(RESULT_SCHEMA) if batch.schema != RESULT_SCHEMA else batch

    return members.mapInArrow(resolve, RESULT_DDL)


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
