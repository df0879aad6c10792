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

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.config import RunConfig
from pipeline.ingest import WorkUnit, read_unit, scan_host_captures
from pipeline.schema import (
    DECISION_SCHEMA,
    DOCUMENT_SCHEMA,
    MANIFEST_SCHEMA,
    SHARD_SCHEMA,
    STATUS_KEPT,
    host_evidence_table,
)
from pipeline.stage_runner import SHARD_KEY, conform, run_batch, shard_key, stages_for, unit_schema
from pipeline.storage import PARQUET_OPTIONS, S3Settings, Store, sha256_stream

WORK = "_work"
EVIDENCE_FILE = f"{WORK}/host_evidence.parquet"


@dataclass(frozen=True)
class TaskContext:
    run_uri: str
    config_json: str  # the resolved RunConfig, as JSON: tasks rebuild it in whatever process they land in

    def config(self) -> RunConfig:
        return RunConfig.model_validate_json(self.config_json)

    def store(self) -> Store:
        cfg = self.config()
        return Store(self.run_uri, S3Settings.from_env(cfg.s3.endpoint_url, cfg.s3.region))


def unit_dir(unit: WorkUnit) -> str:
    return f"{WORK}/units/{unit.key}"


# --- phase 0: host captures (robots.txt, tdmrep.json) for the rights stage ------------------------------------


def evidence_task(ctx: TaskContext, unit: WorkUnit) -> int:
    store = ctx.store()
    rel = f"{WORK}/evidence/{unit.key}.parquet"
    if store.exists(rel):
        return store.read_parquet(rel, columns=["host"]).num_rows
    cfg = ctx.config()
    rows = scan_host_captures(unit, cfg.max_record_bytes, store.settings) if unit.format == "warc" else []
    store.write_parquet(rel, host_evidence_table(rows))
    return len(rows)


# --- phase 1: ingest + per-document stages for one input file -----------------------------------------------


def unit_task(ctx: TaskContext, unit: WorkUnit) -> dict[str, Any]:
    store = ctx.store()
    done_rel = f"{unit_dir(unit)}/done.json"
    if store.exists(done_rel):
        summary = json.loads(store.read_bytes(done_rel))
        summary["resumed"] = True
        return summary
    cfg = ctx.config()
    evidence = store.read_parquet(EVIDENCE_FILE) if store.exists(EVIDENCE_FILE) else None
    stages = stages_for(cfg, evidence)
    schema = unit_schema(stages)
    t0 = time.perf_counter()
    tmp = tempfile.mkdtemp(prefix="sovereign-unit-")
    try:
        docs_path = os.path.join(tmp, "docs.parquet")
        decisions: list[dict[str, Any]] = []
        seconds: Counter = Counter()
        shard_keys: Counter = Counter()
        records = kept = 0
        with pq.ParquetWriter(docs_path, schema, **PARQUET_OPTIONS) as writer:
            for batch in read_unit(unit, cfg.executor.batch_size, cfg.max_record_bytes, store.settings):
                records += len(batch.docs) + len(batch.decisions)
                decisions.extend(batch.decisions)
                if not batch.docs:
                    continue
                table = pa.Table.from_pylist(batch.docs, schema=DOCUMENT_SCHEMA)
                outcome = run_batch(stages, table)
                decisions.extend(outcome.decisions)
                seconds.update(outcome.seconds)
                out = outcome.kept
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
        store.put_file(docs_path, f"{unit_dir(unit)}/docs.parquet")
        store.write_parquet(
            f"{unit_dir(unit)}/decisions.parquet", pa.Table.from_pylist(decisions, schema=DECISION_SCHEMA)
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    digest, size = sha256_stream(*_fs_path(unit.uri, store))
    summary = {
        "uri": unit.uri,
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


def _fs_path(uri: str, store: Store) -> tuple[Any, str]:
    from pipeline.storage import filesystem_for

    return filesystem_for(uri, store.settings)


# --- phase 3: shards --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShardTask:
    key: str  # "<lang>/<bucket>"
    unit_keys: tuple[str, ...]
    reduce_files: tuple[tuple[str, str], ...]  # (stage name, rel path of its reduce output), in stage order
    sizes_clusters: bool = False  # a global stage sizes clusters: documents in none get dup_cluster_size 1


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


def shard_task(ctx: TaskContext, task: ShardTask) -> dict[str, Any]:
    """Write one shard (rows sorted by id) and its index: a manifest-ready row per document that reached it."""
    store = ctx.store()
    parts = []
    for ukey in task.unit_keys:
        t = pq.read_table(
            store.path(f"{WORK}/units/{ukey}/docs.parquet"),
            filesystem=store.fs,
            filters=[(SHARD_KEY, "=", task.key)],
        )
        if t.num_rows:
            parts.append(t)
    table = pa.concat_tables(parts) if parts else None
    index_rows: list[dict[str, Any]] = []
    if table is None or table.num_rows == 0:
        return {"key": task.key, "kept": 0, "dropped": 0}
    table = table.sort_by("id")
    ids = table.column("id")
    keep_mask = pa.array([True] * table.num_rows)
    cluster_size = pa.nulls(table.num_rows, pa.int32())
    for stage_name, rel in task.reduce_files:
        red = store.read_parquet(rel)
        red = red.filter(pc.is_in(red.column("id"), value_set=ids))
        if red.num_rows == 0:
            continue
        by_id = {r["id"]: r for r in red.to_pylist()}
        still = keep_mask.to_pylist()
        sizes = cluster_size.to_pylist()
        for i, doc_id in enumerate(ids.to_pylist()):
            r = by_id.get(doc_id)
            if r is None or not still[i]:
                continue
            if r["drop"]:
                still[i] = False
                index_rows.append(_index_row(table, i, "dropped", stage_name, r["reason"], r["evidence"]))
            elif r["dup_cluster_size"] is not None:
                sizes[i] = r["dup_cluster_size"]
        keep_mask = pa.array(still)
        cluster_size = pa.array(sizes, pa.int32())
    if task.sizes_clusters:
        cluster_size = pc.fill_null(cluster_size, 1)
    table = table.set_column(table.schema.get_field_index("dup_cluster_size"), "dup_cluster_size", cluster_size)
    kept = table.filter(keep_mask)
    rel = shard_rel(task.key)
    if kept.num_rows:
        store.write_parquet(rel, conform(kept, SHARD_SCHEMA))
    evidence_cols = sorted(c for c in kept.column_names if c.startswith("_") and c.endswith("_evidence"))
    for row_no, row in enumerate(kept.to_pylist()):
        index_rows.append(
            {
                **{k: row.get(k) for k in ("id", "url", "source_uri", "content_sha256", "language", "language_score")},
                "status": STATUS_KEPT,
                "stage": None,
                "reason": None,
                "evidence": _evidence_json(row, evidence_cols),
                "licence": row.get("licence"),
                "shard": rel,
                "row": row_no,
            }
        )
    index = pa.Table.from_pylist(index_rows, schema=_index_schema())
    store.write_parquet(f"{WORK}/index/{task.key.replace('/', '-')}.parquet", index)
    return {"key": task.key, "kept": kept.num_rows, "dropped": table.num_rows - kept.num_rows}


def _index_schema() -> pa.Schema:
    return MANIFEST_SCHEMA


def _index_row(table: pa.Table, i: int, status: str, stage: str, reason: str, evidence: str | None) -> dict[str, Any]:
    row = {k: table.column(k)[i].as_py() for k in ("id", "url", "source_uri", "content_sha256", "language")}
    row["language_score"] = table.column("language_score")[i].as_py()
    row.update(status=status, stage=stage, reason=reason, evidence=evidence, licence=None, shard=None, row=None)
    return row


# --- phase 4: manifest --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ManifestTask:
    part: int
    parts: int
    unit_keys: tuple[str, ...]
    index_files: tuple[str, ...]


def manifest_part_of(doc_id: str, parts: int) -> int:
    return int(doc_id[8:16], 16) % parts


def manifest_rel(part: int) -> str:
    return f"manifest/part-{part:05d}.parquet"


def manifest_task(ctx: TaskContext, task: ManifestTask) -> dict[str, Any]:
    store = ctx.store()
    schema = _index_schema()
    pieces: list[pa.Table] = []
    sources = [f"{WORK}/units/{u}/decisions.parquet" for u in task.unit_keys] + list(task.index_files)
    for rel in sources:
        t = store.read_parquet(rel)
        if t.num_rows == 0:
            continue
        if task.parts > 1:
            mask = [manifest_part_of(i, task.parts) == task.part for i in t.column("id").to_pylist()]
            t = t.filter(pa.array(mask))
        pieces.append(conform(t, schema))
    table = pa.concat_tables(pieces) if pieces else schema.empty_table()
    table = table.sort_by([("id", "ascending"), ("source_uri", "ascending")])
    store.write_parquet(manifest_rel(task.part), table)
    return {"part": task.part, "rows": table.num_rows}
