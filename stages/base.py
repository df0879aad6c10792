"""What a stage is: the contract every stage declares, checked by the base class.

A stage is one module. It declares its ``name`` and ``version``, its typed ``Params`` (validated once, here, and
exposed as ``self.params``), the ``columns`` it adds to the shards (name, Arrow type, description: the shard schema
is derived from them), the ``reasons`` it drops documents for, and the ``side_inputs`` it reads (e.g. the run's
host captures). It registers itself with ``@register`` (stages/registry.py) and implements one method over a batch.

A stage returns the documents it keeps and one decision row for each document it drops. A document whose
processing raises is quarantined by the stage runner (reason = the error class and where it was raised, never its
content) and the batch goes on. Heavy resources are loaded in ``setup()``, once per worker process.
See docs/writing-a-stage.md.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, ValidationError

from sovereign.pipeline.errors import ConfigError, SovereignError, StageError, format_validation_error
from sovereign.pipeline.reduce_ops import REDUCE_SCHEMA, ReduceContext, ReduceOp
from sovereign.pipeline.schema import STATUS_DROPPED, evidence_json

__all__ = [
    "REDUCE_SCHEMA",
    "Column",
    "DocumentStage",
    "Drop",
    "GlobalStage",
    "ReduceContext",
    "Stage",
    "StageError",
    "StageParams",
    "StageResult",
]


class StageContractError(SovereignError):
    """A stage broke its own declaration (e.g. wrote a column it does not declare): a bug, so the run stops."""


@dataclass(frozen=True)
class Column:
    """A column a stage adds. Public columns go to the shards (described in the run's schema); names starting
    with ``_`` are internal: they travel between stages and stay out of the shards."""

    name: str
    type: pa.DataType
    description: str

    def field(self) -> pa.Field:
        return pa.field(self.name, self.type)  # descriptions go to docs and --help, not into every shard's bytes


class StageParams(BaseModel):
    """Base of every stage's ``Params``: a key the model does not define is an error (a typo never passes)."""

    model_config = ConfigDict(extra="forbid")


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
    """Reason and evidence for a quarantine: the error class (or the stage's own ``reason`` for its errors) and
    the code location, never the message of a foreign exception (library messages can quote the input, e.g.
    UnicodeDecodeError)."""
    reason = getattr(exc, "reason", None) if isinstance(exc, StageError) else None
    reason = reason if isinstance(reason, str) else f"error:{type(exc).__name__}"
    evidence: dict[str, Any] = {"error": type(exc).__name__}
    if isinstance(exc, StageError):
        evidence["message"] = str(exc)[:300]
    tb = traceback.extract_tb(exc.__traceback__)
    if tb:
        last = tb[-1]
        evidence["at"] = f"{last.filename.rsplit('/', 1)[-1]}:{last.lineno}"
    return reason, evidence


HOST_CAPTURES = "host_captures"  # side input: the run's robots.txt / tdmrep.json captures (a HostEvidence)
SIDE_INPUTS = frozenset({HOST_CAPTURES})  # the side inputs the engine knows how to produce


class Stage:
    """Base class. Subclasses declare the class attributes below and implement ``process`` (or ``apply``)."""

    name: ClassVar[str] = "stage"
    version: ClassVar[str] = "1"
    Params: ClassVar[type[BaseModel]] = StageParams  # typed parameters; the config's ``params`` are checked against it
    columns: ClassVar[tuple[Column, ...]] = ()  # columns this stage adds (public ones go to the shards)
    reasons: ClassVar[dict[str, str]] = {}  # reason code -> what it means, for every reason the stage drops for
    side_inputs: ClassVar[tuple[str, ...]] = ()  # run-wide inputs the engine prepares before the map (SIDE_INPUTS)
    adds_columns: ClassVar[dict[str, pa.DataType]] = {}  # derived from ``columns``: name -> type

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.adds_columns = {c.name: c.type for c in cls.columns}
        unknown = set(cls.side_inputs) - SIDE_INPUTS
        if unknown:
            raise TypeError(f"{cls.__name__}: unknown side inputs {sorted(unknown)}; known: {sorted(SIDE_INPUTS)}")

    def __init__(self, **params: Any) -> None:
        try:
            self.params = self.Params.model_validate(params)
        except ValidationError as err:
            raise ConfigError(format_validation_error(f"{self.name} stage params", err)) from None
        self._ready = False
        self.inputs: dict[str, Any] = {}  # side input name -> value, set by the stage runner before setup()

    def writable_columns(self, existing: Iterable[str]) -> set[str]:
        """The columns this stage may set: those it gets, and those it declares."""
        return set(existing) | set(self.adds_columns)

    def check_columns(self, existing: Iterable[str], written: Iterable[str]) -> None:
        """StageContractError when ``written`` holds a column that is neither in ``existing`` nor declared."""
        undeclared = set(written) - self.writable_columns(existing)
        if undeclared:
            raise StageContractError(
                f"stage {self.name!r} wrote undeclared column(s) {sorted(undeclared)}: declare them in `columns`"
            )

    def side_input(self, name: str) -> Any:
        if name not in self.side_inputs:
            raise StageContractError(f"stage {self.name!r} reads side input {name!r} without declaring it")
        return self.inputs.get(name)

    def setup(self) -> None:
        """Load heavy resources (models, engines). Called once per worker process before the first batch."""

    def ensure_setup(self) -> None:
        if not self._ready:
            self.setup()
            self._ready = True

    def describe(self) -> dict[str, Any]:
        """What run.json records about this stage."""
        return {"name": self.name, "version": self.version, "params": self.params.model_dump(mode="json")}

    def process(self, docs: pa.Table) -> StageResult:
        raise NotImplementedError


class DocumentStage(Stage):
    """A row-wise stage: implement ``apply(doc) -> dict | Drop``.

    ``apply`` gets one document as a dict and returns either a ``Drop`` or a dict of column values to set
    (declared ``columns``, or ``text`` / ``url`` when the stage rewrites them). An exception quarantines that
    document only: the stage runner retries the batch one document at a time (the one isolation path).
    """

    def apply(self, doc: dict[str, Any]) -> dict[str, Any] | Drop:
        raise NotImplementedError

    def apply_batch(self, docs: list[dict[str, Any]]) -> list[dict[str, Any] | Drop]:
        """Override to vectorise (e.g. one model call per batch); default calls ``apply`` per document."""
        return [self.apply(doc) for doc in docs]

    def process(self, docs: pa.Table) -> StageResult:
        self.ensure_setup()
        rows = docs.to_pylist()
        verdicts = self.apply_batch(rows)
        kept_rows: list[dict[str, Any]] = []
        decisions: list[dict[str, Any]] = []
        allowed = self.writable_columns(docs.column_names)
        for doc, verdict in zip(rows, verdicts, strict=True):
            if isinstance(verdict, Drop):
                known = {**doc, **verdict.columns} if verdict.columns else doc
                decisions.append(decision_row(known, self.name, verdict.reason, verdict.evidence))
            else:
                if not allowed.issuperset(verdict):  # checked here: the table built below would drop such keys
                    self.check_columns(docs.column_names, verdict)
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
        return self.apply_batch([doc])[0]


class GlobalStage(Stage):
    """A stage over the whole run (dedup): ``map`` per work unit, then one reduce over the run, then a filter the
    engine applies from the reduce's rows (REDUCE_SCHEMA).

    ``map`` adds the stage's key columns (names start with ``_``) to each batch in the map phase. ``reduce_op``
    says, in engine-neutral terms (pipeline.reduce_ops), what the reduce computes over ``id`` and those columns
    for every document that survived all per-document stages and the global stages before it; each executor's
    backend (pipeline/reduce/) implements it, deterministically: same keys, same rows, on every executor.
    """

    key_columns: ClassVar[dict[str, pa.DataType]] = {}

    def writable_columns(self, existing: Iterable[str]) -> set[str]:
        return super().writable_columns(existing) | set(self.key_columns)

    def map(self, docs: pa.Table) -> pa.Table:
        raise NotImplementedError

    def process(self, docs: pa.Table) -> StageResult:  # in the map phase a global stage only adds keys
        self.ensure_setup()
        return StageResult(kept=self.map(docs))

    def reduce_op(self) -> ReduceOp:
        """What the reduce computes, e.g. GroupMin(key=..., reason=...) or ConnectedComponents(...)."""
        raise NotImplementedError

    @property
    def sizes_clusters(self) -> bool:
        """True when the reduce gives every clustered document a dup_cluster_size; the others then get 1."""
        return self.reduce_op().sizes_clusters


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
