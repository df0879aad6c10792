"""The Ray executor's reduce backend: Ray Data over the key files, distributed with groupby/map_groups only
(Ray's joins need polars).

ConnectedComponents: group exploded (band, key, signature) rows; each bucket emits its verified anchor edges. A
node's score is attached by grouping the union of its adjacency rows and one row that carries the score.
Connected components: min-label propagation, one groupby per round: each adjacency row (u, v, label(u)) also
sends label(u) to v; each node takes the lowest label it hears and reports whether it changed; rounds stop when
none did.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import ray
import ray.data

from pipeline.reduce.common import EDGE_SCHEMA, bucket_edges, finish, group_min_rows, resolve_clusters, unsupported
from pipeline.reduce_ops import REDUCE_SCHEMA, ConnectedComponents, GroupMin, ReduceContext, ReduceOp

PYARROW = {"batch_format": "pyarrow"}
ADJ = pa.schema(
    [
        ("node", pa.string()),
        ("nbr", pa.string()),
        ("label", pa.string()),
        ("score", pa.float64()),
        ("changed", pa.int64()),
    ]
)


def reduce(op: ReduceOp, ctx: ReduceContext) -> pa.Table:
    if not isinstance(op, GroupMin | ConnectedComponents):
        raise unsupported(op, "Ray")
    keys = ray.data.read_parquet(ctx.key_files, columns=["id", *op.columns])
    if isinstance(op, GroupMin):
        return finish(group_min(keys, op), op)
    return finish(connected_components(keys, op), op)


def collect_tables(ds: Any) -> list[pa.Table]:
    """A Dataset's blocks as Arrow tables, fetched as block references: Ray 2.60's streaming iterator can deadlock
    when the garbage collector finalises it while its executor shuts down (StreamingExecutor.shutdown waits on a
    lock its own __del__ holds; seen in our executor tests)."""
    return [t for t in ray.get(ds.to_arrow_refs()) if t.num_rows]


def group_min(keys: Any, op: GroupMin) -> pa.Table:
    key = op.key

    def clusters(batch: pd.DataFrame) -> pd.DataFrame:
        if len(batch) < 2:
            return pd.DataFrame({"id": [], "k": [], "n": [], "survivor": []})
        return pd.DataFrame({"id": batch["id"], "k": batch[key], "n": len(batch), "survivor": batch["id"].min()})

    result = keys.filter(lambda r: r[key] is not None).groupby(key).map_groups(clusters, batch_format="pandas")
    rows = [(r["id"], r["k"], int(r["n"]), r["survivor"]) for t in collect_tables(result) for r in t.to_pylist()]
    return group_min_rows(rows, op)


def connected_components(keys: Any, op: ConnectedComponents) -> pa.Table:
    threshold, reason = op.verify_threshold, op.reason
    # Few shuffle partitions: Ray's per-partition task overhead dominates small reduces (measured 7 s -> 2.5 s).
    parts = max(2, 2 * int(ray.cluster_resources().get("CPU", 1)))
    keyed = keys.map_batches(lambda t: _keyed(t, op), **PYARROW)
    # Signatures ride along with the band rows, so each bucket verifies its own edges: one shuffle, not three.
    bands = keyed.map_batches(lambda t: _explode(t, threshold is not None), **PYARROW)
    edges = bands.groupby(["b", "h"], num_partitions=parts).map_groups(lambda t: bucket_edges(t, threshold), **PYARROW)
    adj = _adjacency(keyed, edges, parts).materialize()
    while _changed(adj):
        adj = adj.map_batches(_messages, **PYARROW).groupby("node", num_partitions=parts)
        adj = adj.map_groups(_take_min, **PYARROW).materialize()
    out = adj.groupby("label", num_partitions=parts).map_groups(lambda t: _resolve(t, reason), **PYARROW)
    tables = [t.cast(REDUCE_SCHEMA) for t in collect_tables(out)]
    return pa.concat_tables(tables) if tables else REDUCE_SCHEMA.empty_table()


def _changed(adj: Any) -> bool:
    """Whether any label changed in the last round: one count per block comes back, not the rows."""
    counts = adj.map_batches(lambda t: pa.table({"n": [pc.sum(t["changed"]).as_py() or 0]}), **PYARROW)
    return any(n for t in collect_tables(counts) for n in t.column("n").to_pylist())


def _keyed(t: pa.Table, op: ConnectedComponents) -> pa.Table:
    """(id, bands, sig, score) of the documents with band keys."""
    t = t.filter(pc.is_valid(t.column(op.bands)))
    return pa.table({"id": t["id"], "bands": t[op.bands], "sig": t[op.sig], "score": t[op.score]})


def _explode(t: pa.Table, with_sig: bool) -> pa.Table:
    lists = t.column("bands").combine_chunks()
    parents = pc.list_parent_indices(lists)
    offsets = lists.offsets.to_numpy()
    pos = np.arange(len(parents)) - offsets[parents.to_numpy()] + offsets[0] + 1  # 1-based band index, as in SQL
    out = {"id": t.column("id").take(parents), "b": pa.array(pos, pa.int64()), "h": pc.list_flatten(lists)}
    if with_sig:
        out["sig"] = t.column("sig").take(parents)
    return pa.table(out)


def _adjacency(keyed: Any, edges: Any, parts: int) -> Any:
    """Rows (u, v, label, score(u)) for both directions of every edge, label = min(u, neighbours)."""
    score_rows = keyed.map_batches(
        lambda t: pa.table(
            {
                "node": t["id"],
                "nbr": pa.nulls(t.num_rows, pa.string()),
                "label": t["id"],
                "score": t["score"].cast(pa.float64()),
                "changed": pa.nulls(t.num_rows, pa.int64()),
            },
            ADJ,
        ),
        **PYARROW,
    )

    def both(t: pa.Table) -> pa.Table:
        t = t.cast(EDGE_SCHEMA) if t.schema != EDGE_SCHEMA else t
        n = t.num_rows
        node = pa.concat_arrays([t["a"].combine_chunks(), t["b"].combine_chunks()]) if n else pa.array([], pa.string())
        nbr = pa.concat_arrays([t["b"].combine_chunks(), t["a"].combine_chunks()]) if n else pa.array([], pa.string())
        return pa.table(
            {
                "node": node,
                "nbr": nbr,
                "label": node,
                "score": pa.nulls(2 * n, pa.float64()),
                "changed": pa.nulls(2 * n, pa.int64()),
            },
            ADJ,
        )

    both_ways = edges.map_batches(both, **PYARROW).union(score_rows)
    return both_ways.groupby("node", num_partitions=parts).map_groups(_init, **PYARROW)


def _init(t: pa.Table) -> pa.Table:
    adj = t.filter(pc.is_valid(t.column("nbr")))
    if adj.num_rows == 0:
        return ADJ.empty_table()
    score = _score(t)
    node = adj.column("node")[0].as_py()
    label = min(node, pc.min(adj.column("nbr")).as_py())
    n = adj.num_rows
    return pa.table(
        {
            "node": adj["node"],
            "nbr": adj["nbr"],
            "label": pa.array([label] * n, pa.string()),
            "score": pa.array([score] * n, pa.float64()),
            "changed": pa.array([1] * n, pa.int64()),
        },
        ADJ,
    )


def _score(t: pa.Table) -> float | None:
    own = t.filter(pc.is_null(t.column("nbr")))
    return own.column("score")[0].as_py() if own.num_rows else None


def _messages(t: pa.Table) -> pa.Table:
    """Each adjacency row stays, and sends its node's label to the neighbour (a row without nbr)."""
    msg = pa.table(
        {
            "node": t["nbr"],
            "nbr": pa.nulls(t.num_rows, pa.string()),
            "label": t["label"],
            "score": pa.nulls(t.num_rows, pa.float64()),
            "changed": pa.nulls(t.num_rows, pa.int64()),
        },
        ADJ,
    )
    return pa.concat_tables([t.cast(ADJ), msg])


def _take_min(t: pa.Table) -> pa.Table:
    adj = t.filter(pc.is_valid(t.column("nbr")))
    new = pc.min(t.column("label"))
    changed = pc.cast(pc.not_equal(adj.column("label"), new), pa.int64())
    return adj.set_column(2, "label", pa.array([new.as_py()] * adj.num_rows, pa.string())).set_column(
        4, "changed", changed
    )


def _resolve(t: pa.Table, reason: str) -> pa.Table:
    members = t.group_by(["node", "label"]).aggregate([("score", "max")])
    members = pa.table({"id": members["node"], "label": members["label"], "score": members["score_max"]})
    return resolve_clusters(members, reason)
