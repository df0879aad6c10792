"""What a global stage asks of a reduce, in engine-neutral terms: small declarative ops that every executor's
reduce backend (pipeline/reduce/) implements with its own engine (DuckDB, Spark DataFrames, Ray Data).

A leaf module (pyarrow only), so stages can name an op without importing any engine. Every op's result is
REDUCE_SCHEMA rows sorted by id, the same bytes on every executor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pyarrow as pa

__all__ = ["REDUCE_SCHEMA", "ConnectedComponents", "GroupMin", "ReduceContext", "ReduceOp"]

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


@dataclass
class ReduceContext:
    """What the engine hands a reduce backend."""

    key_files: list[str]  # local paths of Parquet files with `id` + the op's columns
    work_dir: str  # local scratch directory the reduce may spill into
    memory_mb: int  # budget for the local reduce


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
