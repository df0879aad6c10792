"""The task functions every executor runs. Each reads and writes through the run's storage, commits its output
atomically (a marker written last), and returns a small JSON-able summary."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from sovereign.pipeline import duck
from sovereign.pipeline.config import RunConfig
from sovereign.pipeline.filemeta import with_metadata
from sovereign.pipeline.ingest import WorkUnit, read_unit, scan_host_captures
from sovereign.pipeline.sandbox import StageSandbox, sandbox_for
from sovereign.pipeline.schema import (
    DECISION_SCHEMA,
    DOCUMENT_SCHEMA,
    HOST_EVIDENCE_ORDER,
    HOST_EVIDENCE_SCHEMA,
    MANIFEST_SCHEMA,
    STATUS_KEPT,
)
from sovereign.pipeline.stage_runner import EVIDENCE_FILE, SHARD_KEY, WORK, conform, run_shard_schema, shard_key
from sovereign.pipeline.storage import (
    PARQUET_OPTIONS,
    ROW_GROUP_SIZE,
    S3Settings,
    Store,
    filesystem_for,
    sha256_stream,
    sql_string,
)


@dataclass(frozen=True)
class TaskContext:
    run_uri: str
    config_json: str  # the resolved RunConfig, as JSON: tasks rebuild it in whatever process they land in

    def config(self) -> RunConfig:
        return RunConfig.model_validate_json(self.config_json)

    def store(self) -> Store:
        cfg = self.config()
        return Store(self.run_uri, S3Settings.from_env(cfg.s3.endpoint_url, cfg.s3.region))


def store_fs(ctx: TaskContext) -> pafs.FileSystem:
    """The run store's filesystem, built where it is called: reduces pass this (not the filesystem) to their
    tasks, so credentials come from each worker's environment and never travel with a task."""
    return ctx.store().fs


def unit_dir(unit: WorkUnit) -> str:
    return f"{WORK}/units/{unit.key}"


# --- phase 0: host captures (robots.txt, tdmrep.json) for the rights stage ------------------------------------


def evidence_task(ctx: TaskContext, unit: WorkUnit) -> int:
    """Host captures of one input file, written as they are read (bodies capped by the ingest)."""
    store = ctx.store()
    rel = f"{WORK}/evidence/{unit.key}.parquet"
    if store.exists(rel):
        return store.read_parquet(rel, columns=["host"]).num_rows
    cfg = ctx.config()
    rows = 0
    tmp = tempfile.mkdtemp(prefix="sovereign-evidence-")
    try:
        path = os.path.join(tmp, "evidence.parquet")
        with pq.ParquetWriter(path, HOST_EVIDENCE_SCHEMA, **PARQUET_OPTIONS) as writer:
            if unit.format == "warc":
                for batch in scan_host_captures(unit, cfg.max_record_bytes, store.settings):
                    writer.write_table(pa.Table.from_pylist(batch, schema=HOST_EVIDENCE_SCHEMA))
                    rows += len(batch)
        store.put_file(path, rel)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


# Row groups of the merged evidence file hold about this many body bytes: a lookup reads one group, not the file.
EVIDENCE_GROUP_BYTES = 4 << 20


def merge_host_evidence(ctx: TaskContext, units: list[WorkUnit]) -> int:
    """All units' captures in one Parquet file sorted by host (HOST_EVIDENCE_ORDER), written once by the driver
    as a stream: DuckDB sorts within the run's memory budget, spilling to scratch, and no body is held twice."""
    store = ctx.store()
    scratch = tempfile.mkdtemp(prefix="sovereign-evidence-")
    try:
        con = _connect(ctx, scratch)
        _view(con, store, "ev", [f"{WORK}/evidence/{u.key}.parquet" for u in units])
        order = ", ".join(f"{c} NULLS FIRST" for c in (*HOST_EVIDENCE_ORDER, "http_status", "headers", "body"))
        reader = con.sql(f"SELECT * FROM ev ORDER BY {order}").to_arrow_reader(1024)
        path = os.path.join(scratch, "host_evidence.parquet")
        rows = 0
        with pq.ParquetWriter(path, HOST_EVIDENCE_SCHEMA, **PARQUET_OPTIONS) as writer:
            pending: list[pa.Table] = []
            size = 0
            for batch in reader:
                table = conform(pa.Table.from_batches([batch]), HOST_EVIDENCE_SCHEMA)
                lengths = pc.fill_null(pc.binary_length(table.column("body")), 0).to_pylist()
                cut = 0
                for i, n in enumerate(lengths):  # row groups cut by body bytes: bodies are up to 1 MiB each
                    size += n + 256
                    if size >= EVIDENCE_GROUP_BYTES:
                        pending.append(table.slice(cut, i + 1 - cut))
                        rows += _write_group(writer, pending)
                        pending, size, cut = [], 0, i + 1
                if cut < table.num_rows:
                    pending.append(table.slice(cut))
            rows += _write_group(writer, pending)
        con.close()
        store.put_file(path, EVIDENCE_FILE)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return rows


def _write_group(writer: pq.ParquetWriter, tables: list[pa.Table]) -> int:
    if not tables:
        return 0
    group = pa.concat_tables(tables)
    writer.write_table(group, row_group_size=max(group.num_rows, 1))
    return group.num_rows


# --- phase 1: ingest + per-document stages for one input file -----------------------------------------------


def unit_task(ctx: TaskContext, unit: WorkUnit) -> dict[str, Any]:
    store = ctx.store()
    done_rel = f"{unit_dir(unit)}/done.json"
    if store.exists(done_rel):
        summary = json.loads(store.read_bytes(done_rel))
        summary.setdefault("ref", unit.source_ref)  # a unit committed by an earlier version
        summary["resumed"] = True
        return summary
    cfg = ctx.config()
    sandbox = sandbox_for(ctx.run_uri, ctx.config_json, cfg.executor.doc_timeout_s, cfg.executor.memory_mb)
    schema = sandbox.unit_schema()  # the stages (and their models) live in the sandbox's process only
    t0 = time.perf_counter()
    tmp = tempfile.mkdtemp(prefix="sovereign-unit-")
    try:
        docs_path = os.path.join(tmp, "docs.parquet")
        decisions: list[dict[str, Any]] = []
        seconds: Counter = Counter()
        shard_keys: Counter = Counter()
        records = kept = 0
        with pq.ParquetWriter(docs_path, schema, **PARQUET_OPTIONS) as writer:
            # A batch's bodies may take an eighth of the budget: the worker, the pickled copy and the stage
            # process's working set each hold about one batch.
            batch_bytes = max(1 << 20, (cfg.executor.memory_mb << 20) // 8)
            for batch in read_unit(unit, cfg.executor.batch_size, cfg.max_record_bytes, store.settings, batch_bytes):
                records += len(batch.docs) + len(batch.decisions)
                decisions.extend(batch.decisions)
                if not batch.docs:
                    continue
                table = pa.Table.from_pylist(batch.docs, schema=DOCUMENT_SCHEMA)
                out, stage_decisions, stage_seconds = sandbox.run(table)
                decisions.extend(stage_decisions)
                seconds.update(stage_seconds)
                keys = [
                    shard_key(lang, doc_id, cfg.shards.shards_per_language)
                    for lang, doc_id in zip(
                        (out.column("language").to_pylist() if "language" in out.column_names else [None] * len(out)),
                        out.column("id").to_pylist(),
                        strict=True,
                    )
                ]
                out = out.append_column(SHARD_KEY, pa.array(keys, pa.string()))
                shard_keys.update(keys)
                kept += out.num_rows
                writer.write_table(conform(out, schema))
        # Sorted by shard key (then id) so that each shard task reads only the row groups of its own shard
        # (Parquet min/max statistics), not every unit's whole file.
        sorted_path = os.path.join(tmp, "docs-sorted.parquet")
        con = _connect(ctx, tmp)
        query = f"SELECT * FROM read_parquet({sql_string(docs_path)}) ORDER BY {SHARD_KEY}, id"
        _stream_parquet(con, query, schema, sorted_path)
        con.close()
        store.put_file(sorted_path, f"{unit_dir(unit)}/docs.parquet")
        _scrub_decision_urls(sandbox, decisions)
        # Sorted by id for the same reason: manifest parts are id ranges.
        decisions.sort(key=lambda d: (d["id"], d["source_uri"] or ""))
        store.write_parquet(
            f"{unit_dir(unit)}/decisions.parquet", pa.Table.from_pylist(decisions, schema=DECISION_SCHEMA)
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    digest, size = sha256_stream(*filesystem_for(unit.uri, store.settings))
    summary = {
        "uri": unit.uri,
        "ref": unit.source_ref,  # what the manifest's source_uri names the file by
        "bytes": size,
        "sha256": digest,
        "format": unit.format,
        "source": unit.source,
        "records": records,
        "kept_after_map": kept,
        "decisions": len(decisions),
        "shard_keys": dict(sorted(shard_keys.items())),
        "stage_seconds": {k: round(v, 4) for k, v in sorted(seconds.items())},
        "seconds": round(time.perf_counter() - t0, 4),
    }
    store.write_bytes(done_rel, json.dumps(summary, sort_keys=True).encode())  # the commit marker, written last
    summary["resumed"] = False
    return summary


def _scrub_decision_urls(sandbox: StageSandbox, decisions: list[dict[str, Any]]) -> None:
    """Personal data in the URLs of manifest rows that never reached the pii stage (dropped before it, or not
    documents): only URLs with a query, fragment or '@' can hold any."""
    idx = [i for i, d in enumerate(decisions) if d.get("url") and any(c in d["url"] for c in "?#@")]
    for i, url in zip(idx, sandbox.scrub_urls([decisions[i]["url"] for i in idx]), strict=True):
        decisions[i]["url"] = url


# --- phase 2: the input of a second global stage ----------------------------------------------------------------


@dataclass(frozen=True)
class ReduceInputTask:
    shard: str  # the shard key whose documents this task filters
    unit_keys: tuple[str, ...]
    columns: tuple[str, ...]  # id, the stage's key columns, the shard key
    drop_files: tuple[str, ...]  # rels of the earlier reduces' parts for this shard
    out: str  # rel of the keys file to write


def reduce_input_task(ctx: TaskContext, task: ReduceInputTask) -> int:
    """Keys of one shard's documents that no earlier global stage dropped, sorted by id; returns the rows written
    (no file when none)."""
    store = ctx.store()
    scratch = tempfile.mkdtemp(prefix="sovereign-reduce-input-")
    try:
        con = _connect(ctx, scratch)
        _view(con, store, "units", [f"{WORK}/units/{u}/docs.parquet" for u in task.unit_keys])
        where = f"{SHARD_KEY} = {sql_string(task.shard)}"
        if task.drop_files:
            _view(con, store, "prev", list(task.drop_files))
            where += " AND id NOT IN (SELECT id FROM prev WHERE drop)"
        cols = ", ".join(duck.ident(c) for c in task.columns)
        reader = con.sql(f"SELECT {cols} FROM units WHERE {where} ORDER BY id").to_arrow_reader(ROW_GROUP_SIZE)
        path = os.path.join(scratch, "keys.parquet")
        rows = 0
        with pq.ParquetWriter(path, reader.schema, **PARQUET_OPTIONS) as writer:
            for batch in reader:
                writer.write_batch(batch)
                rows += batch.num_rows
        con.close()
        if rows:
            store.put_file(path, task.out)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return rows


# --- phase 3: shards --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShardTask:
    key: str  # "<lang>/<bucket>"
    unit_keys: tuple[str, ...]
    # (stage name, rel of that reduce's part for this shard, None when it has none), in stage order
    reduce_files: tuple[tuple[str, str | None], ...]
    sizes_clusters: bool = False  # a global stage sizes clusters: documents in none get dup_cluster_size 1
    metadata: tuple[tuple[str, str], ...] = ()  # the run's key-value pairs for the file (pipeline.filemeta)


# An empty REDUCE_SCHEMA relation, for a shard none of whose documents a reduce named.
_NO_REDUCE_ROWS = (
    "SELECT NULL::VARCHAR AS id, NULL::BOOLEAN AS drop, NULL::VARCHAR AS reason, NULL::VARCHAR AS evidence, "
    "NULL::INTEGER AS dup_cluster_size"
)


def shard_rel(key: str) -> str:
    lang, bucket = key.split("/")
    return f"shards/lang={lang}/part-{int(bucket):05d}.parquet"


def _evidence_json(row: dict[str, Any], evidence_cols: list[str]) -> str | None:
    merged = {}
    for col in evidence_cols:
        value = row.get(col)
        if value:
            try:
                merged[col.strip("_").removesuffix("_evidence")] = json.loads(value)
            except json.JSONDecodeError:
                merged[col.strip("_").removesuffix("_evidence")] = value
    return json.dumps(merged, sort_keys=True, ensure_ascii=False, separators=(",", ":")) if merged else None


def _connect(ctx: TaskContext, scratch: str) -> duckdb.DuckDBPyConnection:
    """DuckDB with the run's memory budget: sorts and joins beyond it spill to local scratch, so a task's memory
    is set by the config, not by how large a shard or manifest part grows."""
    return duck.connect(ctx.config().executor.memory_mb, scratch, preserve_insertion_order=False)


def _view(con: duckdb.DuckDBPyConnection, store: Store, name: str, rels: list[str]) -> None:
    """A view over Parquet files of the run: read directly on local disk, through pyarrow's filesystem on S3
    (DuckDB scans the Arrow dataset lazily, with projection and filter pushdown)."""
    if store.local:
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet({duck.parquet_list(map(store.path, rels))})")
    else:
        dataset = ds.dataset([store.path(r) for r in rels], filesystem=store.fs, format="parquet")
        con.register(name, dataset)


def _stream_parquet(
    con: duckdb.DuckDBPyConnection, query: str, schema: pa.Schema, path: str, transform: Any = None
) -> int:
    """Run query and write its rows, batch by batch, to a local Parquet file with the fixed options."""
    rows = 0
    reader = con.sql(query).to_arrow_reader(ROW_GROUP_SIZE)
    with pq.ParquetWriter(path, schema, **PARQUET_OPTIONS) as writer:
        for batch in reader:
            table = pa.Table.from_batches([batch])
            if transform is not None:
                table = transform(table)
            writer.write_table(conform(table, schema), row_group_size=ROW_GROUP_SIZE)
            rows += table.num_rows
    return rows


def shard_task(ctx: TaskContext, task: ShardTask) -> dict[str, Any]:
    """Write one shard (rows sorted by id) and its index: a manifest-ready row per document that reached it,
    kept (with shard and row) or dropped by a global stage (with that stage's reason and evidence)."""
    store = ctx.store()
    scratch = tempfile.mkdtemp(prefix="sovereign-shard-")
    try:
        con = _connect(ctx, scratch)
        _view(con, store, "units", [f"{WORK}/units/{u}/docs.parquet" for u in task.unit_keys])
        key = sql_string(task.key)
        joins, drop_stage, drop_reason, drop_evidence, sizes = [], [], [], [], []
        for i, (stage_name, rel) in enumerate(task.reduce_files):
            # Only this shard's reduce rows: each reduce wrote one part per shard.
            if rel is not None:
                _view(con, store, f"r{i}", [rel])
            else:
                con.execute(f"CREATE VIEW r{i} AS SELECT * FROM ({_NO_REDUCE_ROWS}) WHERE false")
            joins.append(f"LEFT JOIN r{i} ON r{i}.id = d.id")
            drop_stage.append(f"WHEN r{i}.drop THEN {sql_string(stage_name)}")
            drop_reason.append(f"WHEN r{i}.drop THEN r{i}.reason")
            drop_evidence.append(f"WHEN r{i}.drop THEN r{i}.evidence")
            sizes.insert(0, f"r{i}.dup_cluster_size")  # a later stage's size wins
        size_default = "1" if task.sizes_clusters else "NULL"
        case = lambda whens: f"CASE {' '.join(whens)} END" if whens else "NULL"  # noqa: E731
        shard_schema = with_metadata(run_shard_schema(ctx.config()), task.metadata, "documents")
        # dup_cluster_size (REDUCE_SCHEMA) comes from the reduces, when a stage of the run declares it.
        sized = "dup_cluster_size" in shard_schema.names
        con.execute(
            f"""CREATE TEMP TABLE t AS SELECT d.*{" EXCLUDE (dup_cluster_size)" if sized else ""},
                {f"COALESCE({', '.join([*sizes, size_default])})::INTEGER AS dup_cluster_size," if sized else ""}
                {case(drop_stage)} AS _drop_stage, {case(drop_reason)} AS _drop_reason,
                {case(drop_evidence)} AS _drop_evidence
            FROM units d {" ".join(joins)} WHERE d.{SHARD_KEY} = {key}"""
        )
        rel = shard_rel(task.key)
        kept_path = os.path.join(scratch, "shard.parquet")
        kept = _stream_parquet(con, "SELECT * FROM t WHERE _drop_stage IS NULL ORDER BY id", shard_schema, kept_path)
        if kept:
            store.put_file(kept_path, rel)
        evidence_cols = sorted(
            c
            for c in (d[0] for d in con.execute("SELECT * FROM t LIMIT 0").description)
            if c.startswith("_") and c.endswith("_evidence") and c != "_drop_evidence"
        )
        ev_select = ", ".join(evidence_cols) if evidence_cols else "NULL AS _none_evidence"
        index_path = os.path.join(scratch, "index.parquet")
        indexed = _stream_parquet(
            con,
            f"""SELECT id, url, source_uri, content_sha256, language, language_score,
                    CASE WHEN _drop_stage IS NULL THEN '{STATUS_KEPT}' ELSE 'dropped' END AS status,
                    _drop_stage AS stage, _drop_reason AS reason, _drop_evidence AS evidence,
                    CASE WHEN _drop_stage IS NULL THEN licence END AS licence,
                    CASE WHEN _drop_stage IS NULL THEN {sql_string(rel)} END AS shard,
                    CASE WHEN _drop_stage IS NULL
                        THEN row_number() OVER (PARTITION BY _drop_stage IS NULL ORDER BY id) - 1 END AS row,
                    {ev_select}
                FROM t ORDER BY id""",
            MANIFEST_SCHEMA,
            index_path,
            transform=lambda table: _with_keep_evidence(table, evidence_cols),
        )
        store.put_file(index_path, f"{WORK}/index/{task.key.replace('/', '-')}.parquet")
        con.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return {"key": task.key, "kept": kept, "dropped": indexed - kept}


def _with_keep_evidence(table: pa.Table, evidence_cols: list[str]) -> pa.Table:
    """Kept rows' evidence: what the keep relied on, from the stages' `_<stage>_evidence` columns."""
    if not evidence_cols:
        return table
    status = table.column("status").to_pylist()
    evidence = table.column("evidence").to_pylist()
    extra = table.select(evidence_cols).to_pylist()
    merged = [
        _evidence_json(row, evidence_cols) if st == STATUS_KEPT else ev
        for st, ev, row in zip(status, evidence, extra, strict=True)
    ]
    return table.set_column(table.schema.get_field_index("evidence"), "evidence", pa.array(merged, pa.string()))


@dataclass(frozen=True)
class ManifestTask:
    part: int
    parts: int
    unit_keys: tuple[str, ...]
    index_files: tuple[str, ...]
    metadata: tuple[tuple[str, str], ...] = ()  # the run's key-value pairs for the file (pipeline.filemeta)


def manifest_part_of(doc_id: str, parts: int) -> int:
    """Parts are contiguous id ranges (ids are uniform hex): files sorted by id let a part's task skip the row
    groups of other parts, and the parts read in order form one sorted manifest."""
    return int(doc_id[:8], 16) * parts >> 32


def manifest_range(part: int, parts: int) -> tuple[str, str | None]:
    """[low, high) bounds of a part's ids as hex prefixes; high is None for the last part."""
    low = -(-(part << 32) // parts)  # smallest 32-bit prefix p with p * parts >> 32 == part
    high = -(-((part + 1) << 32) // parts)
    return f"{low:08x}", (f"{high:08x}" if high < 1 << 32 else None)


def manifest_rel(part: int) -> str:
    return f"manifest/part-{part:05d}.parquet"


def manifest_task(ctx: TaskContext, task: ManifestTask) -> dict[str, Any]:
    """One manifest part: every decision and index row whose id hashes to it, sorted by id."""
    store = ctx.store()
    scratch = tempfile.mkdtemp(prefix="sovereign-manifest-")
    try:
        con = _connect(ctx, scratch)
        _view(con, store, "decisions", [f"{WORK}/units/{u}/decisions.parquet" for u in task.unit_keys])
        cols = ", ".join(MANIFEST_SCHEMA.names)
        decision_cols = cols.replace("licence, shard, row", "NULL AS licence, NULL AS shard, NULL AS row")
        union = f"SELECT {decision_cols} FROM decisions"
        if task.index_files:
            _view(con, store, "idx", list(task.index_files))
            union += f" UNION ALL SELECT {cols} FROM idx"
        low, high = manifest_range(task.part, task.parts)  # the same ranges as manifest_part_of()
        where = f"WHERE id >= {sql_string(low)}" + (f" AND id < {sql_string(high)}" if high else "")
        path = os.path.join(scratch, "manifest.parquet")
        schema = with_metadata(MANIFEST_SCHEMA, task.metadata, "manifest")
        rows = _stream_parquet(con, f"SELECT * FROM ({union}) {where} ORDER BY id, source_uri", schema, path)
        store.put_file(path, manifest_rel(task.part))
        con.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return {"part": task.part, "rows": rows}
