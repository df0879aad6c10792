"""Language identification with the real lid.176 model on real text written by others (../shared/data)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pytest

from sovereign.pipeline.errors import ConfigError
from sovereign.pipeline.schema import DOCUMENT_SCHEMA, STATUS_DROPPED
from sovereign.stages.base import safe_error
from sovereign.stages.langid import LanguageIdStage, default_model_path, load_model
from sovereign.stages.registry import build_stage
from tests.helpers.shared import shared_path


def _data(*parts: str) -> Path:
    return shared_path("conformance", *parts)


def _table(texts: list[str | None]) -> pa.Table:
    rows = [{"id": f"doc{i:03d}", "text": t, "source_uri": f"test#line={i}"} for i, t in enumerate(texts)]
    return pa.Table.from_pylist(rows, schema=DOCUMENT_SCHEMA)


@pytest.fixture(scope="module")
def stage() -> LanguageIdStage:
    st = LanguageIdStage()
    st.ensure_setup()
    return st


def test_resiliparse_samples_top1(stage: LanguageIdStage) -> None:
    samples = json.loads(_data("resiliparse-lang-samples", "samples.json").read_text())
    verdicts = stage.apply_batch([{"id": str(i), "text": s["text"]} for i, s in enumerate(samples)])
    got = {
        s["lang"]: (v["language"] if isinstance(v, dict) else v.reason) for s, v in zip(samples, verdicts, strict=True)
    }
    assert got == {s["lang"]: s["lang"] for s in samples}
    assert all(0.5 <= v["language_score"] <= 1.0 for v in verdicts)


LAWS = {
    ("de-bundesgesetze", "gg.md"): "de",
    ("de-bundesgesetze", "urhg.md"): "de",
    ("de-bundesgesetze", "bdsg_2018.md"): "de",
    ("de-bundesgesetze", "tmg.md"): "de",
    ("de-bundesgesetze", "kunsturhg.md"): "de",
    ("de-bundesgesetze", "uwg_2004.md"): "de",
    ("public-sector", "fi", "1999-731.md"): "fi",
    ("public-sector", "fi", "2018-1050.md"): "fi",
    ("public-sector", "ee", "26643.md"): "et",
    ("public-sector", "ee", "104012019011.md"): "et",
    ("public-sector", "lu", "leg-loi-2001-04-18-n2.md"): "fr",
    ("public-sector", "lu", "leg-loi-2018-04-25-a307.md"): "fr",
    # SOURCE.md lists lu/ as French, but this (2023) constitution text is Luxembourgish throughout.
    ("public-sector", "lu", "leg-constitution-1868-10-17-n1.md"): "lb",
}


def test_public_sector_laws(stage: LanguageIdStage) -> None:
    docs = [{"id": "/".join(k), "text": _data(*k).read_text(encoding="utf-8")} for k in LAWS]
    verdicts = stage.apply_batch(docs)
    assert {d["id"]: v["language"] for d, v in zip(docs, verdicts, strict=True)} == {
        "/".join(k): lang for k, lang in LAWS.items()
    }


def test_process_columns_and_drops() -> None:
    st = LanguageIdStage(threshold=0.5, thresholds={"en": 0.999}, languages=["de", "en", "fr"])
    texts = [
        "Die Würde des Menschen ist unantastbar. Sie zu achten und zu schützen ist Verpflichtung aller staatlichen "
        "Gewalt.\nDas Deutsche Volk bekennt sich darum zu unverletzlichen Menschenrechten.",
        "Tous les hommes naissent libres et égaux en dignité et en droits.",
        "Wszyscy ludzie rodzą się wolni i równi pod względem swej godności i swych praw.",
        "ok ok 123",
        "The quick brown fox",
        None,
        "   \n ",
    ]
    res = st.process(_table(texts))
    assert res.kept.column("id").to_pylist() == ["doc000", "doc001"]
    assert res.kept.schema.field("language_score").type == pa.float32()
    assert res.kept.column("language").to_pylist() == ["de", "fr"]
    by_id = {d["id"]: d for d in res.decisions}
    assert by_id["doc002"]["reason"] == "langid:language-not-selected"
    assert json.loads(by_id["doc002"]["evidence"])["language"] == "pl"
    assert by_id["doc003"]["reason"] == "langid:below-threshold"
    ev = json.loads(by_id["doc004"]["evidence"])  # English, but under its own 0.999 threshold
    assert by_id["doc004"]["reason"] == "langid:below-threshold" and ev["language"] == "en" and ev["threshold"] == 0.999
    assert by_id["doc005"]["reason"] == by_id["doc006"]["reason"] == "langid:no-text"
    assert all(d["status"] == STATUS_DROPPED and d["stage"] == "langid" for d in res.decisions)
    for d in res.decisions:  # evidence never quotes the text
        assert "fox" not in (d["evidence"] or "") and "wolni" not in (d["evidence"] or "")


def test_deterministic_and_model_loaded_once() -> None:
    texts = [p.read_text(encoding="utf-8")[:3000] for p in sorted(_data("de-bundesgesetze").glob("*.md"))]
    a = LanguageIdStage().process(_table(texts))
    b = build_stage("langid", {}).process(_table(texts))
    assert a.kept.equals(b.kept) and a.decisions == b.decisions
    assert load_model(default_model_path()) is load_model(default_model_path())


def test_describe_records_model_sha256() -> None:
    st = LanguageIdStage(thresholds={"de": 0.6})
    desc = st.describe()
    expected = hashlib.sha256(Path(default_model_path()).read_bytes()).hexdigest()
    assert desc["model_sha256"] == expected
    assert desc["params"]["thresholds"] == {"de": 0.6} and desc["name"] == "langid"


def test_params_validated() -> None:
    with pytest.raises(ConfigError, match=r"thresholds\.de"):
        LanguageIdStage(thresholds={"de": 1.5})
    with pytest.raises(ConfigError, match="treshold"):
        LanguageIdStage(treshold=0.3)  # typo: unknown parameter
    assert LanguageIdStage.Params.model_validate({}).model_dump()["threshold"] == 0.5


def test_broken_row_quarantined_not_fatal(stage: LanguageIdStage) -> None:
    # A lone surrogate cannot be encoded for fastText: the call fails.
    docs = [
        {"id": "a", "text": "Dies ist ein ganz gewöhnlicher deutscher Satz über das Wetter in Berlin."},
        {"id": "b", "text": "secret-\udc80-value"},
        {"id": "c", "text": "Ceci est une phrase française tout à fait ordinaire sur la météo à Paris."},
    ]
    # The stage raises; the stage runner (the one isolation path) retries one by one and quarantines only "b".
    with pytest.raises(Exception) as raised:
        stage.apply_batch(docs)
    reason, evidence = safe_error(raised.value)
    assert reason.startswith("error:") and "secret" not in json.dumps(evidence)
    verdicts = stage.apply_batch([docs[0], docs[2]])
    assert verdicts[0]["language"] == "de" and verdicts[1]["language"] == "fr"


def test_drop_rows_record_the_language_found() -> None:
    """A legal reviewer sees which language a dropped document was taken for, not only that it was dropped."""
    stage = LanguageIdStage(threshold=0.5, languages=["fr"])
    docs = pa.Table.from_pylist(
        [{"id": "a" * 32, "text": "Die Verwaltung veröffentlicht regelmäßig Berichte über ihre Arbeit."}],
        schema=DOCUMENT_SCHEMA,
    )
    result = stage.process(docs)
    (row,) = result.decisions
    assert row["reason"] == "langid:language-not-selected"
    assert row["language"] == "de" and row["language_score"] > 0.5
