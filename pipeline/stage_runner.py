"""Builds a run's stages once per worker process and pushes batches through them, quarantining what fails."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from sovereign.pipeline.config import RunConfig
from sovereign.pipeline.schema import DOCUMENT_FIELDS, HOST_EVIDENCE_SCHEMA, MANIFEST_SCHEMA, STATUS_QUARANTINED
from sovereign.pipeline.storage import S3Settings, Store
from sovereign.stages.base import (
    HOST_CAPTURES,
    GlobalStage,
    HostEvidence,
    Stage,
    StageContractError,
    StageResult,
    decision_row,
    safe_error,
)
from sovereign.stages.registry import build_stage, stage_class

SHARD_KEY = "_shard_key"
WORK = "_work"  # a run's scratch folder under its output
EVIDENCE_FILE = f"{WORK}/host_evidence.parquet"
UNDETERMINED = "und"
MANIFEST_DOC_COLUMNS = ("language", "language_score", "licence")  # manifest columns read from the documents

_CACHE: dict[str, list[Stage]] = {}


def build_stages(cfg: RunConfig) -> list[Stage]:
    return [build_stage(spec.name, dict(spec.params)) for spec in cfg.enabled_stages()]


def stages_for(cfg: RunConfig, host_evidence: HostEvidence | pa.Table | None) -> list[Stage]:
    """The run's stages, set up once per process (models and engines are loaded once, not per batch)."""
    key = cfg.sha256()
    if key not in _CACHE:
        stages = build_stages(cfg)
        side = {
            HOST_CAPTURES: host_evidence
            if isinstance(host_evidence, HostEvidence)
            else HostEvidence(host_evidence if host_evidence is not None else empty_evidence())
        }
        for stage in stages:
            stage.inputs.update({name: side[name] for name in stage.side_inputs})
            stage.ensure_setup()
        _CACHE.clear()
        _CACHE[key] = stages
    return _CACHE[key]


def load_host_evidence(store: Store) -> HostEvidence:
    """The run's host captures for the rights stage: the merged file, read lazily (metadata once per process,
    bodies by row group on demand), never loaded whole."""
    if not store.exists(EVIDENCE_FILE):
        return HostEvidence(table=empty_evidence())
    return HostEvidence(path=store.path(EVIDENCE_FILE), filesystem=store.fs)


def run_stages(run_uri: str, config_json: str) -> list[Stage]:
    """The run's stages, set up with their side inputs: what the stage sandbox's child process runs (it imports
    this module, not the task module with its DuckDB and dataset imports: 0.7 s less start-up per worker)."""
    cfg = RunConfig.model_validate_json(config_json)
    store = Store(run_uri, S3Settings.from_env(cfg.s3.endpoint_url, cfg.s3.region))
    return stages_for(cfg, load_host_evidence(store))


def empty_evidence() -> pa.Table:
    # Not Schema.empty_table(): that imports pandas (0.3 s of every stage process's start-up).
    return pa.Table.from_batches([], schema=HOST_EVIDENCE_SCHEMA)


def shard_schema(stages: Iterable[Stage | type[Stage]]) -> pa.Schema:
    """What trainers get in shards: the document columns, then the public columns the run's stages declare, in
    stage order (derived, never listed by hand: a stage's new column reaches the shards by being declared)."""
    fields = [f for f in DOCUMENT_FIELDS if not f.name.startswith("_")]
    names = {f.name for f in fields}
    for stage in stages:
        for col in stage.columns:
            if not col.name.startswith("_") and col.name not in names:
                fields.append(col.field())
                names.add(col.name)
    return pa.schema(fields)


def run_shard_schema(cfg: RunConfig) -> pa.Schema:
    """The shard schema of a run, from its stages' declarations (their classes only: no model is loaded)."""
    return shard_schema(stage_class(spec.name) for spec in cfg.enabled_stages())


def unit_schema(stages: list[Stage]) -> pa.Schema:
    """Columns a work unit keeps for its surviving documents: the shard columns, the shard key, and the
    internal columns stages add (keep-evidence, global-stage keys)."""
    shard = shard_schema(stages)
    fields = list(shard) + [pa.field(SHARD_KEY, pa.string())]
    # The manifest's document columns exist in every run (null where no stage sets them).
    fields += [f for f in MANIFEST_SCHEMA if f.name in MANIFEST_DOC_COLUMNS and f.name not in shard.names]
    names = {f.name for f in fields}
    for stage in stages:
        extra = dict(stage.adds_columns)
        if isinstance(stage, GlobalStage):
            extra.update(stage.key_columns)
        for name, typ in extra.items():
            if name not in names:
                fields.append(pa.field(name, typ))
                names.add(name)
    return pa.schema(fields)


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Select and cast to schema, filling absent columns with nulls."""
    cols = []
    for f in schema:
        if f.name in table.column_names:
            cols.append(table.column(f.name).cast(f.type))
        else:
            cols.append(pa.nulls(table.num_rows, f.type))
    return pa.Table.from_arrays(cols, schema=schema)


def shard_key(language: str | None, doc_id: str, shards_per_language: int) -> str:
    lang = language if language and language.replace("-", "").replace("_", "").isalnum() else UNDETERMINED
    return f"{lang.lower()}/{int(doc_id[:8], 16) % shards_per_language:05d}"


@dataclass
class BatchOutcome:
    kept: pa.Table
    decisions: list[dict[str, Any]] = field(default_factory=list)
    seconds: Counter = field(default_factory=Counter)


def _run_stage(stage: Stage, table: pa.Table) -> StageResult:
    """One stage over one batch; if the batch as a whole fails, retry document by document so that only the
    documents that fail are quarantined. The one per-document error-isolation path: stages just raise."""
    try:
        return _checked(stage, table, stage.process(table))
    except StageContractError:
        raise  # a bug in the stage, not in a document: stop the run
    except Exception:  # noqa: BLE001 - isolate the bad document(s) below
        pass
    kept: list[pa.Table] = []
    decisions: list[dict[str, Any]] = []
    for i in range(table.num_rows):
        one = table.slice(i, 1)
        try:
            res = _checked(stage, one, stage.process(one))
        except StageContractError:
            raise
        except Exception as exc:  # noqa: BLE001
            reason, evidence = safe_error(exc)
            decisions.append(decision_row(one.to_pylist()[0], stage.name, reason, evidence, STATUS_QUARANTINED))
            continue
        kept.append(res.kept)
        decisions.extend(res.decisions)
    if kept:
        return StageResult(kept=pa.concat_tables(kept, promote_options="permissive"), decisions=decisions)
    return StageResult(kept=table.slice(0, 0), decisions=decisions)


def _checked(stage: Stage, before: pa.Table, result: StageResult) -> StageResult:
    """A stage may add only the columns it declares (else they would vanish from the shards unnoticed)."""
    stage.check_columns(before.column_names, result.kept.column_names)
    return result


def run_batch(stages: list[Stage], table: pa.Table, on_stage: Callable[[str], None] | None = None) -> BatchOutcome:
    """The batch through every stage in turn; ``on_stage(name)`` is told before each (the sandbox reports it)."""
    out = BatchOutcome(kept=table)
    for stage in stages:
        if out.kept.num_rows == 0:
            break
        if on_stage is not None:
            on_stage(stage.name)
        t0 = time.perf_counter()
        res = _run_stage(stage, out.kept)
        out.seconds[stage.name] += time.perf_counter() - t0
        out.decisions.extend(res.decisions)
        out.kept = res.kept
    return out
