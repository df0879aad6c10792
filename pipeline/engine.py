"""A run, phase by phase: host captures -> map (ingest + stages per input file) -> global reduces -> shards ->
manifest -> run.json. Every phase writes through atomic commits, so a killed run started again redoes only
what was not committed and ends with the same bytes."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from pipeline.config import ConfigError, RunConfig
from pipeline.executors import Executor, make_executor
from pipeline.ingest import WorkUnit, detect_format
from pipeline.lock import RunLock
from pipeline.runinfo import OUTPUT_DIRS, RUN_JSON, SUCCESS, dumps, git_commit, package_version, root_hash, sha256_bytes
from pipeline.schema import host_evidence_table
from pipeline.stage_runner import build_stages
from pipeline.storage import S3Settings, StorageError, Store, expand_inputs, normalise_uri
from pipeline.tasks import (
    EVIDENCE_FILE,
    WORK,
    ManifestTask,
    ShardTask,
    TaskContext,
    evidence_task,
    manifest_task,
    shard_task,
    unit_task,
)
from stages.base import GlobalStage, ReduceContext


class RunError(Exception):
    """A run that cannot start or finish; one line for the user."""


@dataclass
class Hooks:
    """How the CLI follows a run; every hook is optional."""

    phase: Callable[[str, int], None] = lambda name, total: None
    advance: Callable[[dict[str, Any]], None] = lambda summary: None


@dataclass
class RunResult:
    run_uri: str
    run_json: dict[str, Any]
    resumed_units: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def plan_units(cfg: RunConfig, settings: S3Settings) -> list[WorkUnit]:
    units: dict[str, WorkUnit] = {}
    for i, spec in enumerate(cfg.inputs):
        try:
            files = expand_inputs(spec.uri, settings)
        except StorageError as exc:
            raise RunError(f"inputs[{i}]: {exc}") from None
        base = _glob_base(
            spec.uri if "://" in spec.uri and not spec.uri.startswith("file://") else normalise_uri(spec.uri)
        )
        for uri, size in files:
            if uri in units:
                continue
            units[uri] = WorkUnit(
                rel=uri[len(base) :].lstrip("/") if uri.startswith(base) and uri != base else uri.rsplit("/", 1)[-1],
                uri=uri,
                size=size,
                format=detect_format(uri, spec.format),
                source=spec.source or cfg.name,
                text_column=spec.text_column,
                id_column=spec.id_column,
                url_column=spec.url_column,
                licence_column=spec.licence_column,
            )
    if not units:
        raise RunError("the config lists no inputs; add `inputs:` or pass --input")
    return list(units.values())


def _glob_base(uri: str) -> str:
    """The folder part of an input URI before any glob character: ids are derived relative to it."""
    cut = min((uri.index(c) for c in "*?[" if c in uri), default=len(uri))
    return uri[:cut].rsplit("/", 1)[0] if cut < len(uri) else uri


def resolve(cfg: RunConfig) -> RunConfig:
    """Absolute URIs, so that every worker process reads the same files."""
    data = cfg.model_dump(mode="json")
    data["output"] = normalise_uri(cfg.output)
    for spec in data["inputs"]:
        if "://" not in spec["uri"] or spec["uri"].startswith("file://"):
            spec["uri"] = normalise_uri(spec["uri"])
    return RunConfig.model_validate(data)


def run_pipeline(
    cfg: RunConfig, *, overwrite: bool = False, hooks: Hooks | None = None, spark_session: Any = None
) -> RunResult:
    hooks = hooks or Hooks()
    cfg = resolve(cfg)
    settings = S3Settings.from_env(cfg.s3.endpoint_url, cfg.s3.region)
    store = Store(cfg.output, settings)
    try:
        stages = build_stages(cfg)
    except Exception as exc:  # noqa: BLE001 - a stage that cannot be built is a config problem
        raise ConfigError(f"cannot build stages: {type(exc).__name__}: {exc}") from None
    _check_stage_order(stages)
    with RunLock(store):
        _prepare_output(store, cfg, overwrite)
        executor = make_executor(cfg.executor, spark_session)
        try:
            return _run(cfg, store, settings, stages, executor, hooks)
        finally:
            executor.close()


def _check_stage_order(stages: list[Any]) -> None:
    seen_global = False
    for stage in stages:
        if isinstance(stage, GlobalStage):
            seen_global = True
        elif seen_global:
            raise ConfigError(f"stage {stage.name!r} must come before the dedup stages (global stages run last)")


def _prepare_output(store: Store, cfg: RunConfig, overwrite: bool) -> None:
    if store.exists(SUCCESS):
        if not overwrite:
            raise RunError(f"{store.root_uri} already holds a finished run; choose another --out or pass --overwrite")
        for rel in (*OUTPUT_DIRS, WORK, "packs"):
            store.delete_dir(rel)
        for rel in (RUN_JSON, SUCCESS):
            if store.exists(rel):
                store.fs.delete_file(store.path(rel))
    marker = f"{WORK}/config.sha256"
    if store.exists(marker):
        previous = store.read_bytes(marker).decode().strip()
        if previous != cfg.sha256():
            if not overwrite:
                raise RunError(
                    f"{store.root_uri} holds an unfinished run of a different config; "
                    "resume it with the same config, choose another --out, or pass --overwrite"
                )
            store.delete_dir(WORK)
    store.write_bytes(marker, cfg.sha256().encode())


def _run(
    cfg: RunConfig, store: Store, settings: S3Settings, stages: list[Any], executor: Executor, hooks: Hooks
) -> RunResult:
    ctx = TaskContext(run_uri=store.root_uri, config_json=cfg.model_dump_json())
    units = plan_units(cfg, settings)
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    if any(s.needs_host_evidence for s in stages):
        hooks.phase("host captures", len(units))
        executor.map(partial(evidence_task, ctx), units, lambda n: hooks.advance({}))
        parts = [store.read_parquet(f"{WORK}/evidence/{u.key}.parquet") for u in units]
        store.write_parquet(EVIDENCE_FILE, host_evidence_table(pa.concat_tables(parts).to_pylist()))
    timings["host_captures"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    hooks.phase("documents", len(units))
    summaries = executor.map(partial(unit_task, ctx), units, hooks.advance)
    timings["map"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    reduce_files = _reduces(cfg, store, stages, units, executor)
    timings["reduce"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    shard_keys = sorted({k for s in summaries for k in s["shard_keys"]})
    unit_keys = tuple(u.key for u in units)
    sizes_clusters = any(getattr(s, "sizes_clusters", False) for s in stages)
    hooks.phase("shards", len(shard_keys))
    shard_results = executor.map(
        partial(shard_task, ctx),
        [
            ShardTask(key=k, unit_keys=unit_keys, reduce_files=tuple(reduce_files), sizes_clusters=sizes_clusters)
            for k in shard_keys
        ],
        hooks.advance,
    )
    index_files = tuple(store.list(f"{WORK}/index", ".parquet"))
    index_files = tuple(f"{WORK}/index/{f}" for f in index_files)
    timings["shards"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    parts = cfg.shards.manifest_parts
    hooks.phase("manifest", parts)
    executor.map(
        partial(manifest_task, ctx),
        [ManifestTask(part=p, parts=parts, unit_keys=unit_keys, index_files=index_files) for p in range(parts)],
        hooks.advance,
    )
    timings["manifest"] = time.perf_counter() - t0

    run_json = _write_run_json(cfg, store, stages, summaries, shard_results, timings, executor.kind)
    store.delete_dir(WORK)
    return RunResult(
        run_uri=store.root_uri,
        run_json=run_json,
        resumed_units=sum(1 for s in summaries if s.get("resumed")),
        seconds=timings,
    )


def _reduces(
    cfg: RunConfig, store: Store, stages: list[Any], units: list[WorkUnit], executor: Executor
) -> list[tuple[str, str]]:
    """Run each global stage's reduce over the documents that survived everything before it."""
    out: list[tuple[str, str]] = []
    globals_ = [s for s in stages if isinstance(s, GlobalStage)]
    if not globals_:
        return out
    local_drops: list[str] = []
    with tempfile.TemporaryDirectory(prefix="sovereign-reduce-") as scratch:
        doc_files = _local_key_files(store, units, globals_, scratch)
        for stage in globals_:
            rel = f"{WORK}/reduce/{stage.name}.parquet"
            key_files = doc_files if not out else [_surviving_keys(doc_files, local_drops, stage, scratch)]
            ctx = ReduceContext(
                key_files=key_files, work_dir=scratch, memory_mb=cfg.executor.memory_mb, filesystem=store.fs
            )
            result = executor.reduce(stage, ctx, list(stage.key_columns)).sort_by("id")
            store.write_parquet(rel, result)
            local_drops.append(f"{scratch}/{stage.name}-reduce.parquet")
            pq.write_table(result, local_drops[-1])
            out.append((stage.name, rel))
    return out


def _local_key_files(store: Store, units: list[WorkUnit], globals_: list[GlobalStage], scratch: str) -> list[str]:
    """Paths the reduces can read. On object storage, the key columns (not the text) are copied to local scratch
    one unit at a time, so DuckDB, Spark local and Ray read plain files."""
    rels = [f"{WORK}/units/{u.key}/docs.parquet" for u in units]
    if store.local:
        return [store.path(rel) for rel in rels]
    columns = ["id", *sorted({c for g in globals_ for c in g.key_columns})]
    out = []
    for i, rel in enumerate(rels):
        target = f"{scratch}/keys-{i:06d}.parquet"
        pq.write_table(store.read_parquet(rel, columns=columns), target)
        out.append(target)
    return out


def _surviving_keys(doc_files: list[str], previous: list[str], stage: GlobalStage, scratch: str) -> str:
    """Keys of documents no earlier global stage dropped, as one local Parquet file (DuckDB streams it)."""
    con = duckdb.connect()
    con.execute(f"SET temp_directory='{scratch}'")
    files = ", ".join(f"'{f}'" for f in doc_files)
    drops = ", ".join(f"'{f}'" for f in previous)
    cols = ", ".join(["id", *stage.key_columns])
    target = f"{scratch}/{stage.name}-keys.parquet"
    con.execute(
        f"COPY (SELECT {cols} FROM read_parquet([{files}]) WHERE id NOT IN "
        f"(SELECT id FROM read_parquet([{drops}]) WHERE drop) ORDER BY id) TO '{target}' (FORMAT parquet)"
    )
    con.close()
    return target


def _write_run_json(
    cfg: RunConfig,
    store: Store,
    stages: list[Any],
    summaries: list[dict[str, Any]],
    shard_results: list[dict[str, Any]],
    timings: dict[str, float],
    executor_kind: str,
) -> dict[str, Any]:
    outputs: dict[str, dict[str, Any]] = {}
    for d in OUTPUT_DIRS:
        for rel in store.list(d, ".parquet"):
            full = f"{d}/{rel}"
            digest, size = store.sha256(full)
            outputs[full] = {"sha256": digest, "bytes": size}
    counts = manifest_counts(store)
    input_records = sum(s["records"] for s in summaries)
    run = {
        "format": "sovereign-run/1",
        "name": cfg.name,
        "sovereign_version": package_version(),
        "git_commit": git_commit(),
        "executor": executor_kind,
        "config": cfg.model_dump(mode="json"),
        "config_sha256": cfg.sha256(),
        "stages": [s.describe() for s in stages],
        "inputs": [{k: s[k] for k in ("uri", "bytes", "sha256", "format", "source", "records")} for s in summaries],
        "counts": {"input_records": input_records, **counts},
        "timings_s": {
            **{k: round(v, 3) for k, v in timings.items()},
            "stages": _sum_stage_seconds(summaries),
        },
        "outputs": dict(sorted(outputs.items())),
        "root_hash": root_hash(outputs),
    }
    data = dumps(run)
    store.write_bytes(RUN_JSON, data)
    store.write_bytes(SUCCESS, dumps({"run_json_sha256": sha256_bytes(data), "root_hash": run["root_hash"]}))
    return run


def _sum_stage_seconds(summaries: list[dict[str, Any]]) -> dict[str, float]:
    total: dict[str, float] = {}
    for s in summaries:
        for k, v in s["stage_seconds"].items():
            total[k] = total.get(k, 0.0) + v
    return {k: round(v, 3) for k, v in sorted(total.items())}


def manifest_counts(store: Store) -> dict[str, Any]:
    """Counts by status and by stage + reason, read from the manifest itself (so verify can recompute them)."""
    files = [store.path(f"manifest/{rel}") for rel in store.list("manifest", ".parquet")]
    if not files:
        return {"kept": 0, "dropped": 0, "quarantined": 0, "manifest_rows": 0, "by_reason": {}}
    con = duckdb.connect()
    # Registered as a dataset, DuckDB streams the manifest instead of holding it in memory.
    con.register("m", ds.dataset(files, filesystem=store.fs, format="parquet"))
    status = dict(con.execute("SELECT status, count(*) FROM m GROUP BY status").fetchall())
    by_reason: dict[str, dict[str, int]] = {}
    for stage, reason, n in con.execute(
        "SELECT stage, reason, count(*) FROM m WHERE status <> 'kept' GROUP BY stage, reason ORDER BY stage, reason"
    ).fetchall():
        by_reason.setdefault(stage, {})[reason] = n
    con.close()
    return {
        "kept": status.get("kept", 0),
        "dropped": status.get("dropped", 0),
        "quarantined": status.get("quarantined", 0),
        "manifest_rows": sum(status.values()),
        "by_reason": by_reason,
    }


def load_run_json(store: Store) -> dict[str, Any]:
    return json.loads(store.read_bytes(RUN_JSON))
