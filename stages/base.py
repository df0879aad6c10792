"""What a stage is: a name, a version, parameters from config, and one method over a batch of documents.

A stage returns the documents it keeps and one decision row for each document it drops. A document whose
processing raises is quarantined (reason = the error class and where it was raised, never its content) and
the batch goes on. Heavy resources are loaded in ``setup()``, once per worker process.
"""

from __future__ import annotations

import json
import traceback
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pyarrow as pa

from pipeline.errors import StageError
from pipeline.schema import DECISION_SCHEMA, STATUS_DROPPED, STATUS_QUARANTINED

__all__ = ["Drop", "DocumentStage", "GlobalStage", "Stage", "StageError", "StageResult"]


@dataclass
class Drop:
    """A per-document verdict: leave the stream, with a reason and short JSON-able evidence."""

    reason: str
    evidence: dict[str, Any] | None = None
    columns: dict[str, Any] | None = None  # values the stage learned before dropping (e.g. language) for the manifest


@dataclass
class StageResult:
    kept: pa.Table
    decisions: list[dict[str, Any]] = field(default_factory=list)  # rows of DECISION_SCHEMA


def evidence_json(evidence: dict[str, Any] | None) -> str | None:
    if evidence is None:
        return None
    return json.dumps(evidence, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def decision_row(
    doc: dict[str, Any], stage: str, reason: str, evidence: dict[str, Any] | None, status: str = STATUS_DROPPED
) -> dict[str, Any]:
    return {
        "id": doc["id"],
        "url": doc.get("url"),
        "source_uri": doc.get("source_uri"),
        "content_sha256": doc.get("content_sha256"),
        "language": doc.get("language"),
        "language_score": doc.get("language_score"),
        "status": status,
        "stage": stage,
        "reason": reason,
        "evidence": evidence_json(evidence),
    }


def safe_error(exc: BaseException) -> tuple[str, dict[str, Any]]:
    """Reason and evidence for a quarantine: the error class and the code location, never the message of a
    foreign exception (library messages can quote the input, e.g. UnicodeDecodeError)."""
    reason = f"error:{type(exc).__name__}"
    evidence: dict[str, Any] = {"error": type(exc).__name__}
    if isinstance(exc, StageError):
        evidence["message"] = str(exc)[:300]
    tb = traceback.extract_tb(exc.__traceback__)
    if tb:
        last = tb[-1]
        evidence["at"] = f"{last.filename.rsplit('/', 1)[-1]}:{last.lineno}"
    return reason, evidence


class Stage:
    """Base class. Subclasses set ``name`` and ``version`` and implement ``process`` (or ``apply``)."""

    name: ClassVar[str] = "stage"
    version: ClassVar[str] = "1"
    # Columns this stage adds (name -> type); they must exist in pipeline.schema.STAGE_FIELDS or start with "_".
    adds_columns: ClassVar[dict[str, pa.DataType]] = {}
    # True for stages that read host-level captures (robots.txt, tdmrep.json); the engine then sets
    # ``self.host_evidence`` (a HostEvidence) before calling setup().
    needs_host_evidence: ClassVar[bool] = False

    def __init__(self, **params: Any) -> None:
        self.params = params
        self._ready = False
        self.host_evidence: HostEvidence | None = None

    def setup(self) -> None:
        """Load heavy resources (models, engines). Called once per worker process before the first batch."""

    def ensure_setup(self) -> None:
        if not self._ready:
            self.setup()
            self._ready = True

    def describe(self) -> dict[str, Any]:
        """What run.json records about this stage."""
        return {"name": self.name, "version": self.version, "params": self.params}

    def process(self, docs: pa.Table) -> StageResult:
        raise NotImplementedError


class DocumentStage(Stage):
    """A row-wise stage: implement ``apply(doc) -> dict | Drop``.

    ``apply`` gets one document as a dict and returns either a ``Drop`` or a dict of column values to set
    (new columns from ``adds_columns``, or ``text`` when the stage rewrites it). An exception quarantines
    that document only.
    """

    def apply(self, doc: dict[str, Any]) -> dict[str, Any] | Drop:
        raise NotImplementedError

    def apply_batch(self, docs: list[dict[str, Any]]) -> list[dict[str, Any] | Drop | BaseException]:
        """Override to vectorise (e.g. one model call per batch); default calls ``apply`` per document."""
        out: list[dict[str, Any] | Drop | BaseException] = []
        for doc in docs:
            try:
                out.append(self.apply(doc))
            except Exception as exc:  # noqa: BLE001 - one bad document must not stop the batch
                out.append(exc)
        return out

    def process(self, docs: pa.Table) -> StageResult:
        self.ensure_setup()
        rows = docs.to_pylist()
        verdicts = self.apply_batch(rows)
        kept_rows: list[dict[str, Any]] = []
        decisions: list[dict[str, Any]] = []
        for doc, verdict in zip(rows, verdicts, strict=True):
            if isinstance(verdict, Drop):
                known = {**doc, **verdict.columns} if verdict.columns else doc
                decisions.append(decision_row(known, self.name, verdict.reason, verdict.evidence))
            elif isinstance(verdict, BaseException):
                reason, evidence = safe_error(verdict)
                decisions.append(decision_row(doc, self.name, reason, evidence, STATUS_QUARANTINED))
            else:
                doc.update(verdict)
                kept_rows.append(doc)
        schema = docs.schema
        for col, typ in self.adds_columns.items():
            if schema.get_field_index(col) < 0:
                schema = schema.append(pa.field(col, typ))
        kept = pa.Table.from_pylist(kept_rows, schema=schema)
        return StageResult(kept=kept, decisions=decisions)


class BatchedDocumentStage(DocumentStage):
    """A row-wise stage that works a batch at a time (one model or engine call per batch): implement
    ``apply_batch``; ``apply`` runs a batch of one."""

    def apply(self, doc: dict[str, Any]) -> dict[str, Any] | Drop:
        verdict = self.apply_batch([doc])[0]
        if isinstance(verdict, BaseException):
            raise verdict
        return verdict


def empty_decisions() -> pa.Table:
    return DECISION_SCHEMA.empty_table()


# What a global stage's reduce returns: one row per document it drops or annotates.
REDUCE_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("drop", pa.bool_(), nullable=False),
        pa.field("reason", pa.string()),  # for drops, e.g. "duplicate:exact"
        pa.field("evidence", pa.string()),  # JSON: cluster id, cluster size, survivor id
        pa.field("dup_cluster_size", pa.int32()),  # for kept cluster members (and drops)
    ]
)


@dataclass
class ReduceContext:
    """What the engine hands a global stage's reduce."""

    key_files: list[str]  # local paths or URIs of Parquet files with `id` + the stage's key columns
    work_dir: str  # local scratch directory the reduce may spill into
    memory_mb: int  # budget for the local reduce
    filesystem: Any = None  # pyarrow FileSystem for key_files when they are not local


class GlobalStage(Stage):
    """A stage over the whole run (dedup): ``map`` per work unit, ``reduce`` per executor, then a filter the
    engine applies from the reduce's rows (REDUCE_SCHEMA).

    ``map`` adds the stage's key columns (names start with ``_``) to each batch in the map phase. The
    reduce sees only ``id`` and those columns for every document that survived all per-document stages and
    the global stages before it. It must be deterministic: same keys, same rows, on every executor.
    """

    key_columns: ClassVar[dict[str, pa.DataType]] = {}
    # True when the reduce gives every clustered document a dup_cluster_size; the others then get 1.
    sizes_clusters: ClassVar[bool] = False

    def map(self, docs: pa.Table) -> pa.Table:
        raise NotImplementedError

    def process(self, docs: pa.Table) -> StageResult:  # in the map phase a global stage only adds keys
        self.ensure_setup()
        return StageResult(kept=self.map(docs))

    def reduce_local(self, ctx: ReduceContext) -> pa.Table:
        raise NotImplementedError

    def reduce_spark(self, spark: Any, keys_df: Any) -> Any:
        """keys_df: a Spark DataFrame (id + key columns). Return a DataFrame with REDUCE_SCHEMA columns."""
        raise NotImplementedError

    def reduce_ray(self, keys_ds: Any) -> pa.Table:
        """keys_ds: a ray.data.Dataset (id + key columns). Return a pyarrow Table with REDUCE_SCHEMA."""
        raise NotImplementedError


@dataclass
class HostEvidence:
    """Host-level captures found in the inputs (robots.txt, /.well-known/tdmrep.json), for the rights stage.

    Either ``table`` (in memory: tests, small sets) or ``path`` (+ ``filesystem``): a Parquet file sorted by host
    whose row groups the rights stage reads on demand, so a worker never holds every capture's body.
    Columns (pipeline.schema.HOST_EVIDENCE_SCHEMA): host (scheme://host[:port]), kind ("robots" | "tdmrep"), url,
    http_status (int), headers (JSON list of [name, value]), body (binary), fetched_at, source_uri, body_bytes,
    truncated.
    """

    table: pa.Table | None = None
    path: str | None = None
    filesystem: Any = None
