"""Exact dedup of normalised text across the whole run: one survivor per identical text, the lowest id."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from typing import Any, ClassVar

import pyarrow as pa
from pydantic import BaseModel, ConfigDict

from stages.base import REDUCE_SCHEMA, GlobalStage, ReduceContext

_SPACE = re.compile(r"\s+")
KEY = "_dedup_exact_key"


def normalise(text: str) -> str:
    """NFKC, case-folded, whitespace collapsed: copies that differ only in layout count as identical."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def _drop_evidence(cluster: str, size: int, survivor: str) -> str:
    return json.dumps({"cluster_id": cluster, "cluster_size": size, "survivor_id": survivor}, sort_keys=True)


class ExactDedupStage(GlobalStage):
    name = "dedup_exact"
    version = "1"
    key_columns: ClassVar[dict[str, pa.DataType]] = {KEY: pa.string()}

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        normalise: bool = True  # False: byte-identical text only

    def map(self, docs: pa.Table) -> pa.Table:
        norm = self.params.get("normalise", True)
        keys = [
            hashlib.sha256((normalise(t) if norm else t).encode("utf-8", "surrogatepass")).hexdigest()[:32]
            if t is not None
            else None
            for t in docs.column("text").to_pylist()
        ]
        return docs.append_column(pa.field(KEY, pa.string()), pa.array(keys, pa.string()))

    # The three reduces compute the same thing: for every key shared by n > 1 documents, all but the lowest id
    # are dropped. Rows come back sorted by id, so their bytes do not depend on the executor.
    _SQL = f"""
        SELECT id, {KEY} AS k, count(*) OVER (PARTITION BY {KEY}) AS n, min(id) OVER (PARTITION BY {KEY}) AS survivor
        FROM keys WHERE {KEY} IS NOT NULL
    """

    def reduce_local(self, ctx: ReduceContext) -> pa.Table:
        import duckdb

        con = duckdb.connect()
        con.execute(f"SET memory_limit='{ctx.memory_mb}MB'")
        con.execute("SET temp_directory=" + "'" + str(ctx.work_dir).replace("'", "''") + "'")
        con.execute("SET threads=1")  # the reduce is small next to the map; one thread keeps memory predictable
        files = ", ".join("'" + f.replace("'", "''") + "'" for f in ctx.key_files)
        con.execute(f"CREATE VIEW keys AS SELECT id, {KEY} FROM read_parquet([{files}])")
        rows = con.execute(f"SELECT id, k, n, survivor FROM ({self._SQL}) WHERE n > 1 ORDER BY id").fetchall()
        con.close()
        return _rows_to_table(rows)

    def reduce_spark(self, spark: Any, keys_df: Any) -> Any:
        from pyspark.sql import functions as F

        grouped = (
            keys_df.where(F.col(KEY).isNotNull())
            .groupBy(KEY)
            .agg(F.count("*").alias("n"), F.min("id").alias("survivor"))
            .where("n > 1")
        )
        joined = keys_df.join(grouped, on=KEY).select("id", F.col(KEY).alias("k"), "n", "survivor")
        rows = [(r["id"], r["k"], r["n"], r["survivor"]) for r in joined.collect()]
        return _rows_to_table(sorted(rows))

    def reduce_ray(self, keys_ds: Any) -> pa.Table:
        def clusters(batch: Any) -> Any:
            import pandas as pd

            if len(batch) < 2:
                return pd.DataFrame({"id": [], "k": [], "n": [], "survivor": []})
            return pd.DataFrame({"id": batch["id"], "k": batch[KEY], "n": len(batch), "survivor": batch["id"].min()})

        result = keys_ds.filter(lambda r: r[KEY] is not None).groupby(KEY).map_groups(clusters, batch_format="pandas")
        from stages.components.ray_collect import collect_tables

        rows = [(r["id"], r["k"], int(r["n"]), r["survivor"]) for t in collect_tables(result) for r in t.to_pylist()]
        return _rows_to_table(sorted(rows))


def _rows_to_table(rows: list[tuple[str, str, int, str]]) -> pa.Table:
    rows = sorted(rows)
    return pa.Table.from_pydict(
        {
            "id": [r[0] for r in rows],
            "drop": [r[0] != r[3] for r in rows],
            "reason": ["duplicate:exact" if r[0] != r[3] else None for r in rows],
            "evidence": [_drop_evidence(r[1], r[2], r[3]) if r[0] != r[3] else None for r in rows],
            "dup_cluster_size": [None] * len(rows),
        },
        schema=REDUCE_SCHEMA,
    )
