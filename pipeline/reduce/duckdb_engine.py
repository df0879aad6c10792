"""The local executor's reduce backend: DuckDB over the key files, spilling to the work dir within the run's
memory budget.

ConnectedComponents: band lists exploded into (id, band, key) rows, grouped into buckets, turned into anchor
edges, optionally verified in streamed Arrow batches, and resolved into connected components by min-label
propagation with pointer jumping (each round: every node takes the lowest label among itself and its
neighbours, then the label of its label), until no label changes.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from pipeline import duck
from pipeline.reduce.common import (
    EDGE_SCHEMA,
    finish,
    group_min_rows,
    resolve_sorted_stream,
    unsupported,
    verify_batch,
)
from pipeline.reduce_ops import REDUCE_SCHEMA, ConnectedComponents, GroupMin, ReduceContext, ReduceOp
from pipeline.storage import sql_string

BATCH_ROWS = 65_536


def reduce(op: ReduceOp, ctx: ReduceContext) -> pa.Table:
    if isinstance(op, GroupMin):
        return finish(group_min(op, ctx), op)
    if isinstance(op, ConnectedComponents):
        return finish(connected_components(op, ctx), op)
    raise unsupported(op, "DuckDB")


def group_min(op: GroupMin, ctx: ReduceContext) -> pa.Table:
    key = duck.ident(op.key)
    con = duck.connect(ctx.memory_mb, ctx.work_dir)  # the reduce is small next to the map: one thread
    try:
        con.execute(f"CREATE VIEW keys AS SELECT id, {key} AS k FROM read_parquet({duck.parquet_list(ctx.key_files)})")
        rows = con.execute(
            "SELECT id, k, n, survivor FROM (SELECT id, k, count(*) OVER (PARTITION BY k) AS n, "
            "min(id) OVER (PARTITION BY k) AS survivor FROM keys WHERE k IS NOT NULL) WHERE n > 1 ORDER BY id"
        ).fetchall()
    finally:
        con.close()
    return group_min_rows(rows, op)


def connected_components(op: ConnectedComponents, ctx: ReduceContext) -> pa.Table:
    work = Path(ctx.work_dir) / "dedup_fuzzy"
    work.mkdir(parents=True, exist_ok=True)
    db = work / "reduce.duckdb"
    if db.exists():
        db.unlink()
    # An on-disk database: edges and labels of a large run outgrow memory.
    con = duck.connect(
        max(64, int(ctx.memory_mb)), str(work / "spill"), database=str(db), preserve_insertion_order=False
    )
    try:
        con.register("key_files", ds.dataset(ctx.key_files, format="parquet"))  # lazy
        con.execute(
            f"CREATE VIEW keys AS SELECT id, {duck.ident(op.bands)} AS bands, {duck.ident(op.sig)} AS sig, "
            f"{duck.ident(op.score)} AS score FROM key_files"
        )
        _edges(con, work, op.verify_threshold)
        _components(con)
        reader = con.sql(
            "SELECT l.node AS id, l.label, k.score FROM labels l JOIN keys k ON k.id = l.node ORDER BY l.label, l.node"
        ).to_arrow_reader(BATCH_ROWS)
        out = list(resolve_sorted_stream(reader, op.reason))
    finally:
        con.close()
        db.unlink(missing_ok=True)
    if not out:
        return REDUCE_SCHEMA.empty_table()
    return pa.Table.from_batches(out, REDUCE_SCHEMA)


def _edges(con: duckdb.DuckDBPyConnection, work: Path, verify_threshold: float | None) -> None:
    con.execute(
        "CREATE TABLE bands AS SELECT id, generate_subscripts(bands, 1) AS b, unnest(bands) AS h "
        "FROM keys WHERE bands IS NOT NULL"
    )
    con.execute("CREATE TABLE buckets AS SELECT b, h, min(id) AS a FROM bands GROUP BY b, h HAVING count(*) > 1")
    con.execute(
        "CREATE TABLE cand AS SELECT DISTINCT k.a, x.id AS b FROM bands x JOIN buckets k USING (b, h) WHERE x.id <> k.a"
    )
    con.execute("DROP TABLE bands; DROP TABLE buckets")
    if verify_threshold is None:
        con.execute("ALTER TABLE cand RENAME TO edges")
        return
    # Verification streams (a, b, sig_a, sig_b) through numpy, so the same code decides on every engine.
    reader = con.sql(
        "SELECT c.a, c.b, ka.sig AS sig_a, kb.sig AS sig_b FROM cand c "
        "JOIN keys ka ON ka.id = c.a JOIN keys kb ON kb.id = c.b"
    ).to_arrow_reader(BATCH_ROWS)
    path = work / "edges.parquet"
    with pq.ParquetWriter(path, EDGE_SCHEMA) as writer:
        for batch in reader:
            writer.write_table(verify_batch(batch, verify_threshold))
    con.execute(f"CREATE TABLE edges AS SELECT a, b FROM read_parquet({sql_string(str(path))})")
    con.execute("DROP TABLE cand")
    path.unlink()


def _components(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "CREATE TABLE labels AS SELECT node, min(label) AS label FROM ("
        " SELECT a AS node, a AS label FROM edges UNION ALL SELECT b, a FROM edges) GROUP BY node"
    )
    while True:
        con.execute(
            "CREATE OR REPLACE TABLE next AS WITH prop AS ("
            " SELECT node, label FROM labels"
            " UNION ALL SELECT e.b, l.label FROM edges e JOIN labels l ON l.node = e.a"
            " UNION ALL SELECT e.a, l.label FROM edges e JOIN labels l ON l.node = e.b),"
            " m AS (SELECT node, min(label) AS label FROM prop GROUP BY node)"
            " SELECT m.node, least(m.label, coalesce(j.label, m.label)) AS label"
            " FROM m LEFT JOIN m j ON j.node = m.label"
        )
        (changed,) = con.execute(
            "SELECT count(*) FROM next n JOIN labels l USING (node) WHERE n.label <> l.label"
        ).fetchone()
        con.execute("DROP TABLE labels; ALTER TABLE next RENAME TO labels")
        if changed == 0:
            break
