"""Fuzzy dedup over the whole run: MinHash-LSH buckets -> connected components -> one survivor per cluster.

map (per work unit): R-MinHash signature of each text's shingles and one LSH key per band (stages/minhash.py).
reduce: a ConnectedComponents op (pipeline.reduce_ops), run by each executor's backend (pipeline/reduce/):
documents sharing any band key are candidates; each candidate edge is optionally verified by estimated Jaccard;
clusters are the connected components over the whole run.
Survivor rule: the member with the highest score (``survivor_score``; missing counts lowest), then the lowest
id. Dropped members get reason ``duplicate:fuzzy`` and evidence {cluster (its lowest id), cluster_size,
survivor}; every clustered document gets ``dup_cluster_size``. Documents in no cluster get no row.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import rensa
from pydantic import Field

from sovereign.pipeline.reduce_ops import ConnectedComponents
from sovereign.stages import minhash
from sovereign.stages.base import Column, GlobalStage, StageParams
from sovereign.stages.registry import register

BANDS, SIG, SCORE = "_minhash_bands", "_minhash_sig", "_dedup_score"
REASON = "duplicate:fuzzy"


@register
class FuzzyDedupStage(GlobalStage):
    name: ClassVar[str] = "dedup_fuzzy"
    version: ClassVar[str] = f"1+rmh{rensa.RMinHash.ALGORITHM_VERSION}"  # signatures change with rensa's algorithm
    reasons: ClassVar[dict[str, str]] = {
        REASON: "near-duplicate (MinHash-LSH cluster) of a document preferred as survivor (evidence: cluster = its "
        "lowest id, cluster_size, survivor)",
    }
    columns: ClassVar[tuple[Column, ...]] = (
        Column("dup_cluster_size", pa.int32(), "documents in this document's near-duplicate cluster (1: unique)"),
    )
    key_columns: ClassVar[dict[str, pa.DataType]] = {
        BANDS: pa.list_(pa.int64()),  # one LSH key per band; null for texts without shingles
        SIG: pa.binary(),  # num_perm little-endian uint32, only when verifying
        SCORE: pa.float64(),  # survivor score, only when survivor_score is set
    }

    class Params(StageParams):
        num_bands: int = Field(14, ge=1, le=128)
        rows_per_band: int = Field(8, ge=1, le=64)
        ngram: int = Field(5, ge=1, le=64, description="words per shingle")
        char_ngram: int = Field(5, ge=1, le=64, description="characters per shingle for char_languages")
        char_languages: list[str] = Field(default_factory=lambda: sorted(minhash.CHAR_LANGUAGES))
        seed: int = Field(1, ge=0, lt=2**32)
        per_language: bool = Field(False, description="only documents of the same language can be duplicates")
        verify_threshold: float | None = Field(
            0.7, ge=0.0, le=1.0, description="drop candidate edges below this estimated Jaccard; null: no check"
        )
        survivor_score: str | None = Field(
            None, description="numeric column, or quality_signals.<key>, preferred (highest) as survivor"
        )

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        p = self.params
        self.cfg = minhash.MinHashConfig(
            num_bands=p.num_bands,
            rows_per_band=p.rows_per_band,
            ngram=p.ngram,
            char_ngram=p.char_ngram,
            seed=p.seed,
            char_languages=frozenset(p.char_languages),
        )

    # ---- map ---------------------------------------------------------------------------------------------
    def map(self, docs: pa.Table) -> pa.Table:
        n = docs.num_rows
        languages = docs.column("language").to_pylist() if "language" in docs.column_names else [None] * n
        char_mask = np.fromiter((lang in self.cfg.char_languages for lang in languages), dtype=bool, count=n)
        shingles, offsets = minhash.shingle_hashes(docs.column("text").combine_chunks(), char_mask, self.cfg)
        sig = minhash.signatures(shingles, offsets, self.cfg)
        salt = minhash.string_salt(languages) if self.params.per_language else None
        bands = minhash.band_hashes(sig, self.cfg, salt)
        has = np.diff(offsets) > 0
        missing = pa.array(~has)
        b = self.cfg.num_bands
        band_col = pa.ListArray.from_arrays(
            pa.array(np.arange(n + 1, dtype=np.int32) * b), pa.array(bands.reshape(-1)), mask=missing
        )
        if self.params.verify_threshold is not None:
            width = self.cfg.num_perm * 4
            sig_col = pa.Array.from_buffers(
                pa.binary(),
                n,
                [
                    None,
                    pa.py_buffer(np.arange(n + 1, dtype=np.int32) * width),
                    pa.py_buffer(sig.astype("<u4").tobytes()),
                ],
            )
            sig_col = pc.if_else(missing, pa.scalar(None, pa.binary()), sig_col)
        else:
            sig_col = pa.nulls(n, pa.binary())
        out = docs
        for col, arr in ((BANDS, band_col), (SIG, sig_col), (SCORE, self._scores(docs))):
            if col in out.column_names:
                out = out.drop_columns([col])
            out = out.append_column(pa.field(col, self.key_columns[col]), arr)
        return out

    def _scores(self, docs: pa.Table) -> pa.Array:
        key = self.params.survivor_score
        if key is None:
            return pa.nulls(docs.num_rows, pa.float64())
        if key.startswith("quality_signals.") and "quality_signals" in docs.column_names:
            field = key.split(".", 1)[1]
            values = [_json_number(s, field) for s in docs.column("quality_signals").to_pylist()]
            return pa.array(values, pa.float64())
        if key in docs.column_names:
            return pc.cast(docs.column(key), pa.float64(), safe=False).combine_chunks()
        return pa.nulls(docs.num_rows, pa.float64())

    # ---- reduce ------------------------------------------------------------------------------------------
    def reduce_op(self) -> ConnectedComponents:
        return ConnectedComponents(
            bands=BANDS, sig=SIG, score=SCORE, verify_threshold=self.params.verify_threshold, reason=REASON
        )


def _json_number(text: str | dict | None, field: str) -> float | None:
    if not text:
        return None
    value = (text if isinstance(text, dict) else json.loads(text)).get(field)  # quality_signals is a struct
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
