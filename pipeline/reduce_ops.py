"""What a global stage asks of a reduce, in engine-neutral terms: small declarative ops that every executor's
reduce backend (pipeline/reduce/) implements with its own engine (DuckDB, Spark DataFrames, Ray Data).

A leaf module (pyarrow only), so stages can name an op without importing any engine. Every op's result is
REDUCE_SCHEMA rows sorted by id, the same bytes on every executor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import pyarrow as pa

__all__ = [
    "ALL_SHARDS",
    "REDUCE_SCHEMA",
    "ConnectedComponents",
    "GroupMin",
    "ReduceContext",
    "ReduceOp",
    "ReducePart",
    "part_name",
]

# What a global stage's reduce returns: one row per document it drops or annotates.
REDUCE_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("drop", pa.bool_(), nullable=False),
        pa.field("reason", pa.string()),  # for drops, e.g. "duplicate:exact"
        pa.field("evidence", pa.string()),  # JSON {cluster, cluster_size, survivor}
        pa.field("dup_cluster_size", pa.int32()),  # for kept cluster members (and drops)
    ]
)


# The one partition of a reduce whose key files carry no shard column (tests, benches).
ALL_SHARDS = "all"


@dataclass
class ReduceContext:
    """What the engine hands a reduce backend. Only file names and settings: the rows stay with the workers."""

    key_files: list[str]  # Parquet files with `id` + the op's columns (+ shard_column), paths in open_fs()'s filesystem
    work_dir: str  # scratch directory the reduce may spill into (local to the process that runs it)
    memory_mb: int  # budget for the local reduce
    # The filesystem of key_files and out_dir, rebuilt where a task runs (credentials come from that process's
    # environment, never with the task); None: local disk.
    open_fs: Callable[[], Any] | None = None
    shard_column: str | None = None  # assigns each document to a shard; result parts are partitioned by it
    out_dir: str | None = None  # where the parts go (<out_dir>/<part_name(shard)>); None: <work_dir>/reduce-out

    def filesystem(self) -> Any:
        if self.open_fs is None:
            import pyarrow.fs as pafs

            return pafs.LocalFileSystem()
        return self.open_fs()

    def output_dir(self) -> str:
        return self.out_dir if self.out_dir is not None else f"{self.work_dir}/reduce-out"


@dataclass(frozen=True)
class ReducePart:
    """One file a reduce wrote: the REDUCE_SCHEMA rows (sorted by id) of the documents of one shard."""

    shard: str
    path: str  # in ReduceContext.filesystem()
    rows: int
    drops: int


def part_name(shard: str) -> str:
    """File name of a shard's reduce rows: shard keys are '<lang>/<bucket>' with a checked language."""
    return shard.replace("/", "-") + ".parquet"


@dataclass(frozen=True)
class GroupMin:
    """Every non-null ``key`` shared by n > 1 documents: all but the lowest id are dropped with ``reason`` and
    evidence {cluster: the key, cluster_size: n, survivor: the lowest id}. Documents in no group get no row."""

    key: str
    reason: str
    sizes_clusters: ClassVar[bool] = False

    @property
    def columns(self) -> list[str]:
        return [self.key]


@dataclass(frozen=True)
class ConnectedComponents:
    """MinHash-LSH near-duplicate clusters. Documents sharing any band key (``bands``: list<int64>, null for no
    shingles) are candidates; the edge anchor -> member of each bucket is kept when the share of equal slots of
    their signatures (``sig``: little-endian uint32s) reaches ``verify_threshold`` (None: no check). Clusters are
    the connected components. Survivor: highest ``score`` (nulls lowest), then lowest id; the others are dropped
    with ``reason`` and evidence {cluster: its lowest id, cluster_size, survivor}. With ``sizes_clusters`` every
    clustered document gets ``dup_cluster_size``."""

    bands: str
    sig: str
    score: str
    verify_threshold: float | None
    reason: str
    sizes_clusters: bool = True

    @property
    def columns(self) -> list[str]:
        return [self.bands, self.sig, self.score]


ReduceOp = GroupMin | ConnectedComponents
