"""Local reduce in DuckDB: bounded memory (memory_limit + temp_directory spill), whole-run clusters.

Band keys are exploded into (id, band, key) rows, grouped into buckets, turned into anchor edges, optionally
verified in streamed Arrow batches, and resolved into connected components by min-label propagation with
pointer jumping (each round: every node takes the lowest label among itself and its neighbours, then the
label of its label), until no label changes.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from stages.base import REDUCE_SCHEMA, ReduceContext
from stages.components.common import EDGE_SCHEMA, resolve_sorted_stream, verify_batch

BATCH_ROWS = 65_536


def reduce_duckdb(ctx: ReduceContext, verify_threshold: float | None) -> pa.Table:
    work = Path(ctx.work_dir) / "dedup_fuzzy"
    work.mkdir(parents=True, exist_ok=True)
    db = work / "reduce.duckdb"
    if db.exists():
        db.unlink()
    con = duckdb.connect(str(db))
    try:
        con.execute(f"SET memory_limit = '{max(64, int(ctx.memory_mb))}MB'")
        con.execute("SET temp_directory = " + _sql_path(work / "spill"))
        con.execute("SET preserve_insertion_order = false")
        con.execute("SET threads = 1")  # one task per core already; each DuckDB thread holds its own buffers
        keys = ds.dataset(ctx.key_files, format="parquet", filesystem=ctx.filesystem)  # scanned lazily
        con.register("keys", keys)
        _edges(con, work, verify_threshold)
        _components(con)
        reader = con.sql(
            "SELECT l.node AS id, l.label, k._dedup_score AS score FROM labels l JOIN keys k ON k.id = l.node "
            "ORDER BY l.label, l.node"
        ).to_arrow_reader(BATCH_ROWS)
        out = list(resolve_sorted_stream(reader))
    finally:
        con.close()
        db.unlink(missing_ok=True)
    if not out:
        return REDUCE_SCHEMA.empty_table()
    return pa.Table.from_batches(out, REDUCE_SCHEMA).sort_by("id")


def _sql_path(path: Path) -> str:
    """A path as a SQL string literal: scratch lives under the user's TMPDIR, which may hold a quote."""
    return "'" + str(path).replace("'", "''") + "'"


def _edges(con: duckdb.DuckDBPyConnection, work: Path, verify_threshold: float | None) -> None:
    con.execute(
        "CREATE TABLE bands AS SELECT id, generate_subscripts(_minhash_bands, 1) AS b, unnest(_minhash_bands) AS h "
        "FROM keys WHERE _minhash_bands IS NOT NULL"
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
        "SELECT c.a, c.b, ka._minhash_sig AS sig_a, kb._minhash_sig AS sig_b FROM cand c "
        "JOIN keys ka ON ka.id = c.a JOIN keys kb ON kb.id = c.b"
    ).to_arrow_reader(BATCH_ROWS)
    path = work / "edges.parquet"
    with pq.ParquetWriter(path, EDGE_SCHEMA) as writer:
        for batch in reader:
            writer.write_table(verify_batch(batch, verify_threshold))
    con.execute(f"CREATE TABLE edges AS SELECT a, b FROM read_parquet({_sql_path(path)})")
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
