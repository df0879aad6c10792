"""What every reduce backend shares: candidate edges from one LSH bucket, Jaccard verification, survivor choice,
and the REDUCE_SCHEMA rows of both ops.

Edges: each bucket with two or more documents links its lowest id (the anchor) to every other member, so a
bucket of k documents costs k - 1 edges, not k^2 / 2. Clusters are the connected components of those edges.
Survivor rule (pipeline.reduce_ops.ConnectedComponents): highest score (nulls lowest), then lowest id.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from sovereign.pipeline.reduce_ops import (
    ALL_SHARDS,
    REDUCE_SCHEMA,
    ConnectedComponents,
    GroupMin,
    ReduceOp,
    ReducePart,
    part_name,
)
from sovereign.pipeline.schema import evidence_json
from sovereign.pipeline.storage import PARQUET_OPTIONS, ROW_GROUP_SIZE

EDGE_SCHEMA = pa.schema([pa.field("a", pa.string(), nullable=False), pa.field("b", pa.string(), nullable=False)])
# Rows the survivor step reads: one per clustered document.
MEMBER_SCHEMA = pa.schema([("id", pa.string()), ("label", pa.string()), ("score", pa.float64())])
# Every backend's rows carry the shard of their document, so the parts can be written per shard.
SHARD = "_shard"
RESULT_SCHEMA = REDUCE_SCHEMA.append(pa.field(SHARD, pa.string()))


def unsupported(op: object, engine: str) -> TypeError:
    return TypeError(f"the {engine} reduce backend has no implementation of {type(op).__name__}")


# ---- GroupMin ------------------------------------------------------------------------------------------------
def group_min_table(t: pa.Table | pa.RecordBatch, op: GroupMin) -> pa.Table:
    """REDUCE_SCHEMA rows (+ SHARD), in the given order, from (id, k, n, survivor, SHARD) of every member of a
    group n > 1: a batch at a time, so no engine holds a whole run's groups."""
    t = pa.Table.from_batches([t]) if isinstance(t, pa.RecordBatch) else t
    ids, survivors = t.column("id").to_pylist(), t.column("survivor").to_pylist()
    drop = [i != s for i, s in zip(ids, survivors, strict=True)]
    evidence = [
        evidence_json({"cluster": k, "cluster_size": int(n), "survivor": s}) if d else None
        for k, n, s, d in zip(t.column("k").to_pylist(), t.column("n").to_pylist(), survivors, drop, strict=True)
    ]
    return pa.table(
        {
            "id": pa.array(ids, pa.string()),
            "drop": pa.array(drop, pa.bool_()),
            "reason": pa.array([op.reason if d else None for d in drop], pa.string()),
            "evidence": pa.array(evidence, pa.string()),
            "dup_cluster_size": pa.nulls(len(ids), pa.int32()),
            SHARD: t.column(SHARD).cast(pa.string()),
        },
        RESULT_SCHEMA,
    )


# ---- ConnectedComponents -------------------------------------------------------------------------------------
def bucket_edges(bucket: pa.Table, verify_threshold: float | None = None) -> pa.Table:
    """Edges anchor -> member for one bucket's rows (id, and sig when verifying), in any order."""
    if bucket.num_rows < 2:
        return EDGE_SCHEMA.empty_table()
    bucket = bucket.sort_by("id")
    ids = bucket.column("id").combine_chunks().cast(pa.string())
    edges = pa.table({"a": pa.array([ids[0].as_py()] * (len(ids) - 1), pa.string()), "b": ids[1:]}, EDGE_SCHEMA)
    if verify_threshold is None:
        return edges
    sigs = bucket.column("sig").combine_chunks()
    anchor = pa.array([sigs[0].as_py()] * (len(ids) - 1), sigs.type)
    return edges.filter(pa.array(verified(anchor, sigs[1:], verify_threshold)))


def signature_matrix(sigs: pa.Array | pa.ChunkedArray, num_perm: int) -> np.ndarray:
    """Binary signature column (num_perm little-endian uint32, no nulls) -> (rows, num_perm) uint32, zero-copy."""
    arr = sigs.combine_chunks() if isinstance(sigs, pa.ChunkedArray) else sigs
    off_type = np.int64 if pa.types.is_large_binary(arr.type) else np.int32
    offsets = np.frombuffer(arr.buffers()[1], dtype=off_type)[arr.offset : arr.offset + len(arr) + 1]
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    return data.view("<u4").reshape(len(arr), num_perm)


def verified(sig_a: pa.Array, sig_b: pa.Array, threshold: float) -> np.ndarray:
    """Mask of pairs whose estimated Jaccard (share of equal signature slots) reaches threshold.
    Integer comparison, so every engine draws the line at the same pair."""
    if len(sig_a) == 0:
        return np.zeros(0, dtype=bool)
    width = pc.binary_length(sig_a)[0].as_py() // 4
    a = signature_matrix(sig_a, width)
    b = signature_matrix(sig_b, width)
    equal = (a == b).sum(axis=1)
    return equal >= int(np.ceil(threshold * width - 1e-9))


def verify_batch(batch: pa.RecordBatch | pa.Table, threshold: float) -> pa.Table:
    """Keep the edges (a, b, sig_a, sig_b) that pass verification; returns (a, b)."""
    table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
    mask = verified(table.column("sig_a").combine_chunks(), table.column("sig_b").combine_chunks(), threshold)
    kept = table.filter(pa.array(mask))
    return pa.table({"a": kept.column("a"), "b": kept.column("b")}, EDGE_SCHEMA)


def resolve_clusters(members: pa.Table, reason: str) -> pa.Table:
    """RESULT_SCHEMA rows for whole clusters (id, label = the cluster's lowest id, score, SHARD), sorted by id."""
    if members.num_rows == 0:
        return RESULT_SCHEMA.empty_table()
    score = pc.fill_null(members.column("score").cast(pa.float64()), -np.inf)
    shard = members.column(SHARD) if SHARD in members.column_names else pa.nulls(members.num_rows, pa.string())
    t = pa.table({"id": members.column("id"), "label": members.column("label"), "neg": pc.negate(score), "s": shard})
    t = t.sort_by([("label", "ascending"), ("neg", "ascending"), ("id", "ascending")])
    labels = t.column("label").to_pylist()
    ids = t.column("id").to_pylist()
    shards = t.column("s").to_pylist()
    rows: list[dict] = []
    start = 0
    for i in range(1, len(ids) + 1):
        if i < len(ids) and labels[i] == labels[start]:
            continue
        size = i - start
        survivor = ids[start]
        evidence = evidence_json({"cluster": labels[start], "cluster_size": size, "survivor": survivor})
        rows.append(
            {
                "id": survivor,
                "drop": False,
                "reason": None,
                "evidence": None,
                "dup_cluster_size": size,
                SHARD: shards[start],
            }
        )
        for j in range(start + 1, i):
            rows.append(
                {
                    "id": ids[j],
                    "drop": True,
                    "reason": reason,
                    "evidence": evidence,
                    "dup_cluster_size": size,
                    SHARD: shards[j],
                }
            )
        start = i
    return pa.Table.from_pylist(rows, RESULT_SCHEMA).sort_by("id")


def resolve_sorted_stream(batches: Iterable[pa.RecordBatch], reason: str) -> Iterator[pa.RecordBatch]:
    """resolve_clusters over a stream sorted (or grouped contiguously) by label: a cluster cut by a batch
    boundary is carried over to the next batch."""
    carry: pa.Table | None = None
    for batch in batches:
        if batch.num_rows == 0:
            continue
        t = pa.Table.from_batches([batch])
        t = t.select(["id", "label", "score", *([SHARD] if SHARD in t.column_names else [])])
        if carry is not None:
            t = pa.concat_tables([carry, t.cast(carry.schema)])
        last = t.column("label")[-1]
        tail = pc.equal(t.column("label"), last)
        carry = t.filter(tail)
        done = t.filter(pc.invert(tail))
        if done.num_rows:
            yield from resolve_clusters(done, reason).to_batches()
    if carry is not None and carry.num_rows:
        yield from resolve_clusters(carry, reason).to_batches()


# ---- every op ------------------------------------------------------------------------------------------------
def finish_rows(table: pa.Table | pa.RecordBatch, op: ReduceOp) -> pa.Table:
    """A backend's rows as the engine stores them (RESULT_SCHEMA, order kept): components that do not size
    clusters keep only their drops, without sizes."""
    table = pa.Table.from_batches([table]) if isinstance(table, pa.RecordBatch) else table
    if SHARD not in table.column_names:
        table = table.append_column(SHARD, pa.nulls(table.num_rows, pa.string()))
    table = table.select(RESULT_SCHEMA.names).cast(RESULT_SCHEMA)
    if isinstance(op, ConnectedComponents) and not op.sizes_clusters:
        table = table.filter(pc.field("drop"))
        table = table.set_column(4, RESULT_SCHEMA.field(4), pa.nulls(table.num_rows, pa.int32()))
    return table


def finish(table: pa.Table, op: ReduceOp) -> pa.Table:
    """REDUCE_SCHEMA rows sorted by id, in memory: for tests and benches that compare backends."""
    return finish_rows(table, op).select(REDUCE_SCHEMA.names).cast(REDUCE_SCHEMA).sort_by("id")


def shard_of(table: pa.Table | pa.RecordBatch, shard_column: str | None) -> pa.Array:
    """The SHARD values of key rows: the shard column, or ALL_SHARDS when the keys carry none."""
    if shard_column is None:
        return pa.array([ALL_SHARDS] * table.num_rows, pa.string())
    col = table.column(shard_column)
    return col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col


def read_key_batches(
    paths: Iterable[str], columns: list[str], fs: pafs.FileSystem, shard_column: str | None
) -> Iterator[pa.RecordBatch]:
    """The key columns (+ SHARD) of the given files, streamed a row group at a time through pyarrow's filesystem
    (S3 included): what Spark tasks read, so no Hadoop S3 connector is needed."""
    cols = [*columns, *([shard_column] if shard_column and shard_column not in columns else [])]
    for path in paths:
        with fs.open_input_file(path) as fh:
            for batch in pq.ParquetFile(fh).iter_batches(columns=cols, batch_size=65_536):
                yield pa.RecordBatch.from_arrays(
                    [batch.column(c) for c in columns] + [shard_of(batch, shard_column)], [*columns, SHARD]
                )


def write_parts(tables: Iterable[pa.Table | pa.RecordBatch], fs: pafs.FileSystem, out_dir: str) -> list[ReducePart]:
    """Write RESULT_SCHEMA rows that arrive sorted by (SHARD, id) as one REDUCE_SCHEMA file per shard under
    out_dir, a batch at a time; returns the parts written."""
    parts: list[ReducePart] = []
    writer: pq.ParquetWriter | None = None
    stream = None
    current: str | None = None
    rows = drops = 0

    def close() -> None:
        nonlocal writer, stream
        if writer is not None:
            writer.close()
            stream.close()
            parts.append(ReducePart(current, f"{out_dir}/{part_name(current)}", rows, drops))
        writer = stream = None

    try:
        for table in tables:
            table = pa.Table.from_batches([table]) if isinstance(table, pa.RecordBatch) else table
            if table.num_rows == 0:
                continue
            shards = table.column(SHARD).to_pylist()
            start = 0
            for i in range(1, len(shards) + 1):
                if i < len(shards) and shards[i] == shards[start]:
                    continue
                if shards[start] != current:
                    close()
                    current, rows, drops = shards[start], 0, 0
                    fs.create_dir(out_dir, recursive=True)
                    stream = fs.open_output_stream(f"{out_dir}/{part_name(current)}")
                    writer = pq.ParquetWriter(stream, REDUCE_SCHEMA, **PARQUET_OPTIONS)
                chunk = table.slice(start, i - start).select(REDUCE_SCHEMA.names).cast(REDUCE_SCHEMA)
                writer.write_table(chunk, row_group_size=ROW_GROUP_SIZE)
                rows += chunk.num_rows
                drops += pc.sum(chunk.column("drop")).as_py() or 0
                start = i
        close()
    finally:
        if writer is not None:  # an error mid-part: release the handles
            writer.close()
            stream.close()
    return parts


PART_SCHEMA = pa.schema([("shard", pa.string()), ("path", pa.string()), ("rows", pa.int64()), ("drops", pa.int64())])


def parts_table(parts: list[ReducePart]) -> pa.Table:
    """Parts as rows: how Spark and Ray tasks report what they wrote."""
    return pa.table(
        {
            "shard": [p.shard for p in parts],
            "path": [p.path for p in parts],
            "rows": [p.rows for p in parts],
            "drops": [p.drops for p in parts],
        },
        PART_SCHEMA,
    )


def parts_from(tables: Iterable[pa.Table]) -> list[ReducePart]:
    out = [ReducePart(**r) for t in tables for r in t.to_pylist()]
    return sorted(out, key=lambda p: p.shard)


def read_parts(parts: list[ReducePart], fs: pafs.FileSystem) -> pa.Table:
    """Every part's rows in one table, sorted by id (tests and benches)."""
    tables = [pq.read_table(p.path, filesystem=fs) for p in parts]
    return pa.concat_tables(tables).sort_by("id") if tables else REDUCE_SCHEMA.empty_table()
