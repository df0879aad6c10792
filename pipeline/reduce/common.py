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

from pipeline.reduce_ops import REDUCE_SCHEMA, ConnectedComponents, GroupMin, ReduceOp
from pipeline.schema import evidence_json

EDGE_SCHEMA = pa.schema([pa.field("a", pa.string(), nullable=False), pa.field("b", pa.string(), nullable=False)])
# Rows the survivor step reads: one per clustered document.
MEMBER_SCHEMA = pa.schema([("id", pa.string()), ("label", pa.string()), ("score", pa.float64())])


def unsupported(op: object, engine: str) -> TypeError:
    return TypeError(f"the {engine} reduce backend has no implementation of {type(op).__name__}")


# ---- GroupMin ------------------------------------------------------------------------------------------------
def group_min_rows(rows: Iterable[tuple[str, str, int, str]], op: GroupMin) -> pa.Table:
    """REDUCE_SCHEMA rows, sorted by id, from (id, key, group size, lowest id) of every member of a group n > 1."""
    rows = sorted(rows)
    drop = [r[0] != r[3] for r in rows]
    return pa.Table.from_pydict(
        {
            "id": [r[0] for r in rows],
            "drop": drop,
            "reason": [op.reason if d else None for d in drop],
            "evidence": [
                evidence_json({"cluster": r[1], "cluster_size": int(r[2]), "survivor": r[3]}) if d else None
                for r, d in zip(rows, drop, strict=True)
            ],
            "dup_cluster_size": [None] * len(rows),
        },
        schema=REDUCE_SCHEMA,
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
    """REDUCE_SCHEMA rows for whole clusters (id, label = the cluster's lowest id, score), sorted by id."""
    if members.num_rows == 0:
        return REDUCE_SCHEMA.empty_table()
    score = pc.fill_null(members.column("score").cast(pa.float64()), -np.inf)
    t = pa.table({"id": members.column("id"), "label": members.column("label"), "neg": pc.negate(score)})
    t = t.sort_by([("label", "ascending"), ("neg", "ascending"), ("id", "ascending")])
    labels = t.column("label").to_pylist()
    ids = t.column("id").to_pylist()
    rows: list[dict] = []
    start = 0
    for i in range(1, len(ids) + 1):
        if i < len(ids) and labels[i] == labels[start]:
            continue
        size = i - start
        survivor = ids[start]
        evidence = evidence_json({"cluster": labels[start], "cluster_size": size, "survivor": survivor})
        rows.append({"id": survivor, "drop": False, "reason": None, "evidence": None, "dup_cluster_size": size})
        for j in range(start + 1, i):
            rows.append({"id": ids[j], "drop": True, "reason": reason, "evidence": evidence, "dup_cluster_size": size})
        start = i
    return pa.Table.from_pylist(rows, REDUCE_SCHEMA).sort_by("id")


def resolve_sorted_stream(batches: Iterable[pa.RecordBatch], reason: str) -> Iterator[pa.RecordBatch]:
    """resolve_clusters over a stream sorted (or grouped contiguously) by label: a cluster cut by a batch
    boundary is carried over to the next batch."""
    carry: pa.Table | None = None
    for batch in batches:
        if batch.num_rows == 0:
            continue
        t = pa.Table.from_batches([batch]).select(["id", "label", "score"])
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
def finish(table: pa.Table, op: ReduceOp) -> pa.Table:
    """A backend's rows as the engine stores them: REDUCE_SCHEMA, sorted by id. Components that do not size
    clusters keep only their drops, without sizes."""
    table = table.select(REDUCE_SCHEMA.names).cast(REDUCE_SCHEMA)
    if isinstance(op, ConnectedComponents) and not op.sizes_clusters:
        table = table.filter(pc.field("drop"))
        table = table.set_column(4, REDUCE_SCHEMA.field(4), pa.nulls(table.num_rows, pa.int32()))
    return table.sort_by("id")
