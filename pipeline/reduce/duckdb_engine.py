"""The local executor's reduce backend: DuckDB over the key files, spilling to the work dir within the run's
memory budget.

ConnectedComponents: band lists exploded into (id, band, key) rows, grouped into buckets, turned into anchor
edges, optionally verified in streamed Arrow batches, and resolved into connected components by min-label
propagation with pointer jumping (each round: every node takes the lowest label among itself and its
neighbours, then the label of its label), until no label changes.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from sovereign.pipeline import duck
from sovereign.pipeline.reduce.common import (
    EDGE_SCHEMA,
    RESULT_SCHEMA,
    SHARD,
    finish,
    finish_rows,
    group_min_table,
    resolve_sorted_stream,
    unsupported,
    verify_batch,
    write_parts,
)
from sovereign.pipeline.reduce_ops import ConnectedComponents, GroupMin, ReduceContext, ReduceOp, ReducePart
from sovereign.pipeline.storage import sql_string

BATCH_ROWS = 65_536


def write(op: ReduceOp, ctx: ReduceContext) -> list[ReducePart]:
    """Run op over ctx.key_files and write its rows, one file per shard, under ctx.output_dir(): rows stream
    from DuckDB (spilling within ctx.memory_mb) to the files, a batch at a time."""
    with _scratch(ctx) as work:
        return write_parts(_rows(op, ctx, work), ctx.filesystem(), ctx.output_dir())


def reduce(op: ReduceOp, ctx: ReduceContext) -> pa.Table:
    """The same rows in memory, REDUCE_SCHEMA sorted by id: for tests and benches that compare backends."""
    with _scratch(ctx) as work:
        tables = list(_rows(op, ctx, work))
    return finish(pa.concat_tables(tables) if tables else RESULT_SCHEMA.empty_table(), op)


class _scratch:
    """A private scratch folder under ctx.work_dir (workers of one run share that folder), removed at the end."""

    def __init__(self, ctx: ReduceContext) -> None:
        Path(ctx.work_dir).mkdir(parents=True, exist_ok=True)
        self.path = Path(tempfile.mkdtemp(prefix="sovereign-reduce-", dir=ctx.work_dir))

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def _rows(op: ReduceOp, ctx: ReduceContext, work: Path) -> Iterator[pa.Table]:
    """RESULT_SCHEMA batches sorted by (SHARD, id)."""
    if not isinstance(op, GroupMin | ConnectedComponents):
        raise unsupported(op, "DuckDB")
    if not ctx.key_files:
        return
    # An on-disk database: edges and labels of a large run outgrow memory.
    db = work / "reduce.duckdb"
    con = duck.connect(
        max(64, int(ctx.memory_mb)), str(work / "spill"), database=str(db), preserve_insertion_order=False
    )
    try:
        # A lazy dataset through the store's filesystem (S3 included): DuckDB streams it with projection pushdown.
        con.register("key_files", ds.dataset(ctx.key_files, filesystem=ctx.filesystem(), format="parquet"))
        shard = duck.ident(ctx.shard_column) if ctx.shard_column else sql_string("all")
        if isinstance(op, GroupMin):
            con.execute(f"CREATE VIEW keys AS SELECT id, {duck.ident(op.key)} AS k, {shard} AS {SHARD} FROM key_files")
            reader = con.sql(
                f"SELECT id, k, n, survivor, {SHARD} FROM (SELECT id, k, {SHARD}, count(*) OVER (PARTITION BY k) AS n, "
                "min(id) OVER (PARTITION BY k) AS survivor FROM keys WHERE k IS NOT NULL) WHERE n > 1 "
                f"ORDER BY {SHARD}, id"
            ).to_arrow_reader(BATCH_ROWS)
            for batch in reader:
                yield finish_rows(group_min_table(batch, op), op)
            return
        con.execute(
            f"CREATE VIEW keys AS SELECT id, {duck.ident(op.bands)} AS bands, {duck.ident(op.sig)} AS sig, "
            f"{duck.ident(op.score)} AS score, {shard} AS {SHARD} FROM key_files"
        )
        _edges(con, work, op.verify_threshold)
        _components(con)
        reader = con.sql(
            f"SELECT l.node AS id, l.label, k.score, k.{SHARD} FROM labels l JOIN keys k ON k.id = l.node "
            "ORDER BY l.label, l.node"
        ).to_arrow_reader(BATCH_ROWS)
        # Clusters resolve in label order; the parts want shard order: through a local file, sorted by DuckDB.
        resolved = work / "resolved.parquet"
        with pq.ParquetWriter(resolved, RESULT_SCHEMA) as writer:
            for batch in resolve_sorted_stream(reader, op.reason):
                writer.write_table(finish_rows(batch, op))
        reader = con.sql(
            f"SELECT * FROM read_parquet({sql_string(str(resolved))}) ORDER BY {SHARD}, id"
        ).to_arrow_reader(BATCH_ROWS)
        for batch in reader:
            yield pa.Table.from_batches([batch]).cast(RESULT_SCHEMA)
    finally:
        con.close()


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
