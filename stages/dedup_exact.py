"""Exact dedup of normalised text across the whole run: one survivor per identical text, the lowest id."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import ClassVar

import pyarrow as pa

from sovereign.pipeline.reduce_ops import GroupMin
from sovereign.stages.base import GlobalStage, StageParams
from sovereign.stages.registry import register

_SPACE = re.compile(r"\s+")
KEY = "_dedup_exact_key"
REASON = "duplicate:exact"


def normalise(text: str) -> str:
    """NFKC, case-folded, whitespace collapsed: copies that differ only in layout count as identical."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


@register
class ExactDedupStage(GlobalStage):
    name: ClassVar[str] = "dedup_exact"
    version: ClassVar[str] = "1"
    key_columns: ClassVar[dict[str, pa.DataType]] = {KEY: pa.string()}
    reasons: ClassVar[dict[str, str]] = {
        REASON: "the same normalised text as a document with a lower id (evidence: cluster = the text's key, "
        "cluster_size, survivor)",
    }

    class Params(StageParams):
        normalise: bool = True  # False: byte-identical text only

    def map(self, docs: pa.Table) -> pa.Table:
        norm = self.params.normalise
        keys = [
            hashlib.sha256((normalise(t) if norm else t).encode("utf-8", "surrogatepass")).hexdigest()[:32]
            if t is not None
            else None
            for t in docs.column("text").to_pylist()
        ]
        return docs.append_column(pa.field(KEY, pa.string()), pa.array(keys, pa.string()))

    def reduce_op(self) -> GroupMin:
        # Every key shared by n > 1 documents: all but the lowest id are dropped.
        return GroupMin(key=KEY, reason=REASON)
