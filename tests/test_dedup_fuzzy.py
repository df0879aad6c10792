"""Fuzzy dedup: deterministic signatures, map columns, and the near-duplicate set's F1 floor (local reduce)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sovereign.pipeline.errors import ConfigError
from sovereign.pipeline.reduce import duckdb_engine
from sovereign.pipeline.reduce_ops import REDUCE_SCHEMA, ReduceContext
from sovereign.pipeline.synthetic.neardup_set import generate, pair_scores, shared_paragraphs, synthetic_paragraphs
from sovereign.stages.dedup_fuzzy import BANDS, SIG, FuzzyDedupStage
from tests.helpers.shared import shared_path


def _docs(texts: list[str], **cols: list) -> pa.Table:
    return pa.table({"id": [f"d{i:03d}" for i in range(len(texts))], "text": texts, **cols})


def _reduce_local(stage: FuzzyDedupStage, docs: pa.Table, tmp_path: Path, memory_mb: int = 128) -> pa.Table:
    keys = stage.map(docs).select(["id", *stage.key_columns])
    pq.write_table(keys, tmp_path / "keys.parquet")
    ctx = ReduceContext([str(tmp_path / "keys.parquet")], str(tmp_path), memory_mb)
    return duckdb_engine.reduce(stage.reduce_op(), ctx)


def test_signatures_deterministic_across_batches() -> None:
    texts = [" ".join(p.split()[:60]) for p in synthetic_paragraphs(12, seed=3)] + ["", None, "tiny"]
    stage = FuzzyDedupStage()
    whole = stage.map(_docs(texts))
    again = FuzzyDedupStage().map(_docs(texts))
    assert whole.column(BANDS).equals(again.column(BANDS)) and whole.column(SIG).equals(again.column(SIG))
    # The same text gets the same keys whatever batch it sits in.
    parts = [stage.map(_docs(texts[i : i + 4])) for i in range(0, len(texts), 4)]
    assert pa.concat_tables(parts).column(BANDS).to_pylist() == whole.column(BANDS).to_pylist()
    bands = whole.column(BANDS).to_pylist()
    assert bands[12] is None and bands[13] is None  # no shingles, no keys
    assert bands[14] is not None and len(bands[0]) == 14
    assert whole.schema.field(BANDS).type == pa.list_(pa.int64())
    assert len(whole.column(SIG)[0].as_py()) == 14 * 8 * 4


def test_params_change_keys_and_validate() -> None:
    text = synthetic_paragraphs(1, seed=5)
    a = FuzzyDedupStage().map(_docs(text)).column(BANDS).to_pylist()
    b = FuzzyDedupStage(seed=2).map(_docs(text)).column(BANDS).to_pylist()
    assert a != b
    with pytest.raises(ConfigError, match="num_bands"):
        FuzzyDedupStage(num_bands=0)
    no_verify = FuzzyDedupStage(verify_threshold=None).map(_docs(text))
    assert no_verify.column(SIG).null_count == 1


def test_near_duplicates_clustered_with_survivor_rule(tmp_path: Path) -> None:
    base = " ".join(synthetic_paragraphs(3, seed=7))
    words = base.split()
    edited = " ".join(words[:-3] + ["changed", "ending", "here"])
    texts = [base, edited, base + " Cookie banner: we use cookies.", synthetic_paragraphs(1, seed=8)[0]]
    signals = [{"q": v} for v in (0.2, 0.9, 0.5, 0.1)]  # quality_signals is a struct
    stage = FuzzyDedupStage(survivor_score="quality_signals.q")
    out = _reduce_local(stage, _docs(texts, quality_signals=signals), tmp_path)
    assert out.schema == REDUCE_SCHEMA
    rows = {r["id"]: r for r in out.to_pylist()}
    assert set(rows) == {"d000", "d001", "d002"}  # the unrelated doc gets no row
    assert rows["d001"]["drop"] is False and rows["d001"]["dup_cluster_size"] == 3
    ev = json.loads(rows["d000"]["evidence"])
    assert ev == {"cluster": "d000", "cluster_size": 3, "survivor": "d001"}
    assert rows["d002"]["reason"] == "duplicate:fuzzy"


def test_char_ngrams_for_languages_without_spaces(tmp_path: Path) -> None:
    ja = "東京は日本の首都であり、政治、経済、文化の中心地です。人口は約千四百万人で、世界有数の大都市です。" * 3
    texts = [ja, ja.replace("大都市", "巨大都市"), "これは全く関係のない別の文章で、重複ではありません。" * 4]
    out = _reduce_local(FuzzyDedupStage(), _docs(texts, language=["ja"] * 3), tmp_path)
    assert sorted(out.column("id").to_pylist()) == ["d000", "d001"]


def test_near_dup_set_f1_floor(tmp_path: Path) -> None:
    shared = shared_path()  # the near-dup set is built from its public-sector laws
    nd = generate(shared_paragraphs(shared), families=25, singletons=60, threshold=0.7, seed=1)
    docs = pa.table({"id": [d["id"] for d in nd.docs], "text": [d["text"] for d in nd.docs]})
    out = _reduce_local(FuzzyDedupStage(), docs, tmp_path, memory_mb=64)
    index = {d["id"]: i for i, d in enumerate(nd.docs)}
    clusters: list[str | None] = [None] * len(nd.docs)
    for r in out.to_pylist():
        clusters[index[r["id"]]] = json.loads(r["evidence"])["cluster"] if r["drop"] else r["id"]
    scores = pair_scores(clusters, nd.true_pairs)
    assert scores["true_pairs"] > 100
    assert scores["f1"] >= 0.88, scores
    assert scores["precision"] >= 0.85 and scores["recall"] >= 0.85, scores


def test_exact_copies_and_empty_input(tmp_path: Path) -> None:
    text = synthetic_paragraphs(1, seed=9)[0]
    out = _reduce_local(FuzzyDedupStage(), _docs([text] * 5), tmp_path)
    assert out.num_rows == 5 and int(np.sum(out.column("drop").to_numpy(zero_copy_only=False))) == 4
    (tmp_path / "e").mkdir()
    empty = _reduce_local(FuzzyDedupStage(), _docs(["", None]), tmp_path / "e")
    assert empty.num_rows == 0 and empty.schema == REDUCE_SCHEMA
