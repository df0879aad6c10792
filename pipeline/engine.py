"""A run, phase by phase: host captures -> map (ingest + stages per input file) -> global reduces -> shards ->
manifest -> run.json. Every phase writes through atomic commits, so a killed run started again redoes only
what was not committed and ends with the same bytes."""

from __future__ import annotations

import json
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pyarrow.dataset as ds

from sovereign.pipeline import duck
from sovereign.pipeline.config import ConfigError, RunConfig
from sovereign.pipeline.errors import SovereignError
from sovereign.pipeline.executors import Executor, make_executor
from sovereign.pipeline.filemeta import run_id, run_metadata
from sovereign.pipeline.ingest import WorkUnit, detect_format
from sovereign.pipeline.lock import RunLock
from sovereign.pipeline.reduce_ops import ReduceContext, part_name
from sovereign.pipeline.runinfo import (
    OUTPUT_DIRS,
    RUN_JSON,
    SUCCESS,
    dumps,
    git_commit,
    package_version,
    root_hash,
    sha256_bytes,
)
from sovereign.pipeline.sandbox import close_all as close_sandboxes
from sovereign.pipeline.stage_runner import SHARD_KEY, build_stages
from sovereign.pipeline.storage import S3Settings, StorageError, Store, expand_inputs, is_safe_rel, normalise_uri
from sovereign.pipeline.tasks import (
    WORK,
    ManifestTask,
    ReduceInputTask,
    ShardTask,
    TaskContext,
    evidence_task,
    manifest_rel,
    manifest_task,
    merge_host_evidence,
    reduce_input_task,
    shard_rel,
    shard_task,
    store_fs,
    unit_task,
)
from sovereign.stages.base import HOST_CAPTURES, GlobalStage


class RunError(SovereignError):
    """A run that cannot start or finish; one line for the user."""


@dataclass
class Hooks:
    """How the CLI follows a run; every hook is optional."""

    phase: Callable[[str, int], None] = lambda name, total: None
    advance: Callable[[dict[str, Any]], None] = lambda summary: None
    notice: Callable[[str], None] = lambda line: print(f"[sovereign] {line}", file=sys.stderr)


@dataclass
class RunResult:
    run_uri: str
    run_json: dict[str, Any]
    resumed_units: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def plan_units(cfg: RunConfig, settings: S3Settings) -> list[WorkUnit]:
    units: dict[str, WorkUnit] = {}
    out_prefix = normalise_uri(cfg.output).rstrip("/") + "/"
    for i, spec in enumerate(cfg.inputs):
        try:
            files = expand_inputs(spec.uri, settings)
        except StorageError as exc:
            raise RunError(f"inputs[{i}]: {exc}") from None
        # An input glob that covers the output would ingest the run's own shards and manifest on the next run.
        files = [(uri, size) for uri, size in files if not uri.startswith(out_prefix)]
        if not files:
            raise RunError(f"inputs[{i}]: every file matching {spec.uri} lies inside the output {cfg.output}")
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
    cfg: RunConfig,
    *,
    overwrite: bool = False,
    force_out: bool = False,
    hooks: Hooks | None = None,
    spark_session: Any = None,
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
    check_output(store, force_out)  # before the lock, which would create the folder
    units = plan_units(cfg, settings)  # before --overwrite deletes anything: bad inputs leave the old run whole
    with RunLock(store):
        check_output(store, force_out)
        _prepare_output(store, cfg, overwrite, hooks.notice)
        executor = make_executor(cfg.executor, spark_session)
        try:
            return _run(cfg, store, settings, stages, executor, hooks, units)
        finally:
            executor.close()


def _check_stage_order(stages: list[Any]) -> None:
    seen_global = False
    for stage in stages:
        if isinstance(stage, GlobalStage):
            seen_global = True
        elif seen_global:
            raise ConfigError(f"stage {stage.name!r} must come before the dedup stages (global stages run last)")


def check_output(store: Store, force: bool = False) -> None:
    """Refuse an output that is neither empty nor a Sovereign run, saying what is there; `force` writes into it
    anyway (the run then still deletes only what it wrote)."""
    try:
        names = [n for n in store.top_level() if n != ".lock"]
    except OSError as exc:
        raise RunError(f"cannot list the output {store.root_uri}: {str(exc).splitlines()[0][:200]}") from None
    if not names or _is_run(store):
        return
    clash = sorted({RUN_JSON, SUCCESS, WORK} & set(names))
    if force and clash:  # the run replaces these whole and deletes _work at the end: never a user's
        raise RunError(f"{store.root_uri} holds {', '.join(clash)} that no Sovereign run wrote; move them first")
    if force:
        return
    shown = ", ".join(repr(n) for n in names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    raise RunError(
        f"{store.root_uri} is not empty and holds no Sovereign run ({shown}); choose an empty or new --out, "
        "or pass --force-out to write into it (files the run did not write are never deleted)"
    )


def _is_run(store: Store) -> bool:
    """An unfinished run (its config marker) or a finished one (run.json of our format)."""
    if store.exists(f"{WORK}/config.sha256"):
        return True
    if not store.exists(RUN_JSON):
        return False
    try:
        return json.loads(store.read_bytes(RUN_JSON)).get("format", "").startswith("sovereign-run/")
    except (ValueError, AttributeError, OSError):
        return False


def _prepare_output(store: Store, cfg: RunConfig, overwrite: bool, notice: Callable[[str], None]) -> None:
    if store.exists(SUCCESS):
        if not overwrite:
            raise RunError(f"{store.root_uri} already holds a finished run; choose another --out or pass --overwrite")
        _delete_run_files(store, notice)
    marker = f"{WORK}/config.sha256"
    if store.exists(marker):
        previous = store.read_bytes(marker).decode(errors="replace").strip()
        if previous != cfg.sha256():
            if not overwrite:
                raise RunError(
                    f"{store.root_uri} holds an unfinished run of a different config; "
                    "resume it with the same config, choose another --out, or pass --overwrite"
                )
            _delete_run_files(store, notice)
    store.write_bytes(marker, cfg.sha256().encode())


def _delete_run_files(store: Store, notice: Callable[[str], None]) -> None:
    """--overwrite: delete what a run writes (the old run.json's outputs, files named as a run names them, packs
    listed in their pack.json, the run's _work), never anything else; say what was left."""
    doomed: set[str] = set()
    try:
        outputs = json.loads(store.read_bytes(RUN_JSON)).get("outputs") if store.exists(RUN_JSON) else None
    except (ValueError, AttributeError, OSError):
        outputs = None
    if isinstance(outputs, dict):
        doomed |= {rel for rel in outputs if is_safe_rel(rel) and rel.split("/", 1)[0] in OUTPUT_DIRS}
    for d in OUTPUT_DIRS:
        doomed |= {f"{d}/{rel}" for rel in store.list(d) if _RUN_FILE.fullmatch(f"{d}/{rel}")}
    for pack in sorted({rel.split("/", 1)[0] for rel in store.list("packs")}):
        try:
            listed = json.loads(store.read_bytes(f"packs/{pack}/pack.json")).get("files")
        except (ValueError, AttributeError, OSError):
            continue
        if isinstance(listed, dict):
            doomed |= {f"packs/{pack}/{rel}" for rel in listed if is_safe_rel(rel)}
            doomed.add(f"packs/{pack}/pack.json")
    for rel in sorted(doomed):
        if store.contains(rel):
            store.delete_file(rel)
    store.delete_dir(WORK)  # the run's scratch: only a run (checked above) has one
    for rel in (RUN_JSON, SUCCESS):
        store.delete_file(rel)
    left = [f"{d}/{rel}" for d in (*OUTPUT_DIRS, "packs") for rel in store.list(d)]
    _prune_empty_dirs(store)
    if left:
        shown = ", ".join(left[:5]) + (f" and {len(left) - 5} more" if len(left) > 5 else "")
        notice(f"--overwrite left {len(left)} files the run did not write: {shown}")


# Names the run gives its shards and manifest parts (see tasks.shard_rel, tasks.manifest_rel).
_RUN_FILE = re.compile(r"shards/lang=[^/]+/part-\d{5}\.parquet|manifest/part-\d{5}\.parquet")


def _prune_empty_dirs(store: Store) -> None:
    if not store.local:
        return  # object stores have no empty folders
    for d in (*OUTPUT_DIRS, "packs"):
        top = store.local_path(d)
        if not top.is_dir() or top.is_symlink():
            continue
        for sub in sorted((p for p in top.rglob("*") if p.is_dir() and not p.is_symlink()), reverse=True):
            try:
                sub.rmdir()
            except OSError:
                pass
        try:
            top.rmdir()
        except OSError:
            pass


def _run(
    cfg: RunConfig,
    store: Store,
    settings: S3Settings,
    stages: list[Any],
    executor: Executor,
    hooks: Hooks,
    units: list[WorkUnit],
) -> RunResult:
    ctx = TaskContext(run_uri=store.root_uri, config_json=cfg.model_dump_json())
    timings: dict[str, float] = {}
    from sovereign.pipeline.status import record_phases  # writes _work/progress.json for `sovereign status`

    hooks = record_phases(hooks, store, units, stages)

    t0 = time.perf_counter()
    if any(HOST_CAPTURES in s.side_inputs for s in stages):
        hooks.phase("host captures", len(units))
        executor.map(partial(evidence_task, ctx), units, lambda n: hooks.advance({}))
        merge_host_evidence(ctx, units)  # one file sorted by host, streamed: bodies are never all in memory
    timings["host_captures"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    hooks.phase("documents", len(units))
    summaries = executor.map(partial(unit_task, ctx), units, hooks.advance)
    close_sandboxes()  # units that ran inline left a stage process in this one
    timings["map"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    shard_keys = sorted({k for s in summaries for k in s["shard_keys"]})
    unit_keys = tuple(u.key for u in units)
    reduces = _reduces(cfg, ctx, stages, unit_keys, shard_keys, executor)
    timings["reduce"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    sizes_clusters = any(getattr(s, "sizes_clusters", False) for s in stages)
    metadata = run_metadata(cfg, summaries)  # key-value pairs of every shard and manifest file
    hooks.phase("shards", len(shard_keys))
    shard_results = executor.map(
        partial(shard_task, ctx),
        [
            ShardTask(
                key=k,
                unit_keys=unit_keys,
                reduce_files=tuple((name, parts.get(k)) for name, parts in reduces),
                sizes_clusters=sizes_clusters,
                metadata=metadata,
            )
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
        [
            ManifestTask(part=p, parts=parts, unit_keys=unit_keys, index_files=index_files, metadata=metadata)
            for p in range(parts)
        ],
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
    cfg: RunConfig,
    ctx: TaskContext,
    stages: list[Any],
    unit_keys: tuple[str, ...],
    shards: list[str],
    executor: Executor,
) -> list[tuple[str, dict[str, str]]]:
    """Run each global stage's reduce over the documents that survived everything before it. The executor's workers
    read the keys from the store and write the results there, one part per shard; the driver handles file names
    and counts only. Returns, per stage in order, the rel of its part for each shard that has one."""
    out: list[tuple[str, dict[str, str]]] = []
    store = ctx.store()
    key_files = [store.path(f"{WORK}/units/{u}/docs.parquet") for u in unit_keys]
    for stage in (s for s in stages if isinstance(s, GlobalStage)):
        base = f"{WORK}/reduce/{stage.name}"
        store.delete_dir(base)  # a resumed run recomputes its reduces: no part of an earlier attempt may linger
        if out:  # documents an earlier global stage dropped take no part: workers filter the keys shard by shard
            key_files = _surviving_key_files(ctx, stage, unit_keys, shards, out, base, executor)
        rctx = ReduceContext(
            key_files=key_files,
            work_dir=tempfile.gettempdir(),
            memory_mb=cfg.executor.memory_mb,
            open_fs=partial(store_fs, ctx),
            shard_column=SHARD_KEY,
            out_dir=store.path(f"{base}/parts"),
        )
        parts = executor.reduce(stage.reduce_op(), rctx)
        out.append((stage.name, {p.shard: f"{base}/parts/{part_name(p.shard)}" for p in parts}))
    return out


def _surviving_key_files(
    ctx: TaskContext,
    stage: GlobalStage,
    unit_keys: tuple[str, ...],
    shards: list[str],
    done: list[tuple[str, dict[str, str]]],
    base: str,
    executor: Executor,
) -> list[str]:
    """Keys of the documents no earlier global stage dropped, one file per shard, written by the workers."""
    columns = ("id", *stage.key_columns, SHARD_KEY)
    tasks = [
        ReduceInputTask(
            shard=k,
            unit_keys=unit_keys,
            columns=columns,
            drop_files=tuple(parts[k] for _, parts in done if k in parts),
            out=f"{base}/input/{part_name(k)}",
        )
        for k in shards
    ]
    rows = executor.map(partial(reduce_input_task, ctx), tasks)
    store = ctx.store()
    return [store.path(t.out) for t, n in zip(tasks, rows, strict=True) if n]


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
    # Only the files this run wrote: other files in its folders (left by a user) are not the run's outputs.
    written = {shard_rel(r["key"]) for r in shard_results if r["kept"]}
    written |= {manifest_rel(p) for p in range(cfg.shards.manifest_parts)}
    for full in sorted(written):
        digest, size = store.sha256(full)
        outputs[full] = {"sha256": digest, "bytes": size}
    counts = manifest_counts(store, sorted(r for r in written if r.startswith("manifest/")))
    input_records = sum(s["records"] for s in summaries)
    run = {
        "format": "sovereign-run/1",
        "name": cfg.name,
        "sovereign_version": package_version(),
        "git_commit": git_commit(),
        "executor": executor_kind,
        "config": cfg.model_dump(mode="json"),
        "config_sha256": cfg.sha256(),
        "run_id": run_id(cfg, summaries),  # also in every shard's and manifest file's metadata (pipeline.filemeta)
        "stages": [s.describe() for s in stages],
        "inputs": [
            {k: s[k] for k in ("uri", "ref", "bytes", "sha256", "format", "source", "records")} for s in summaries
        ],
        "counts": {"input_records": input_records, **counts},
        "timings_s": {
            **{k: round(v, 3) for k, v in timings.items()},
            "stages": _sum_stage_seconds(summaries),
            # the units' own seconds, after their worker's start-up and model loading: the summary's rates
            "map_busy": round(sum(s.get("seconds", 0.0) for s in summaries), 3),
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


def manifest_counts(store: Store, rels: list[str] | None = None) -> dict[str, Any]:
    """Counts by status and by stage + reason, read from the manifest itself (so verify can recompute them)."""
    if rels is None:
        rels = [f"manifest/{rel}" for rel in store.list("manifest", ".parquet")]
    files = [store.path(rel) for rel in rels]
    if not files:
        return {"kept": 0, "dropped": 0, "quarantined": 0, "manifest_rows": 0, "by_reason": {}}
    con = duck.connect(threads=None)
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
