"""Language-aware quality heuristics on real multilingual text (../shared/data), against datatrove's default."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pytest
import yaml

from sovereign.pipeline.errors import ConfigError
from sovereign.pipeline.schema import DOCUMENT_SCHEMA, STATUS_DROPPED
from sovereign.stages.base import Drop, StageError, safe_error
from sovereign.stages.langid import LanguageIdStage
from sovereign.stages.quality import RULES, QualityStage, Thresholds, compute_signals
from tests.helpers.shared import shared_path

EU24 = "bg cs da de el en es et fi fr ga hr hu it lt lv mt nl pl pt ro sk sl sv".split()


def _data(*parts: str) -> Path:
    return shared_path("conformance", *parts)


@pytest.fixture(scope="module")
def langid() -> LanguageIdStage:
    return LanguageIdStage()


@pytest.fixture(scope="module")
def quality() -> QualityStage:
    return QualityStage()


def _identified(langid: LanguageIdStage, texts: dict[str, str]) -> list[dict]:
    docs = [{"id": k, "text": t} for k, t in texts.items()]
    for doc, verdict in zip(docs, langid.apply_batch(docs), strict=True):
        assert isinstance(verdict, dict), (doc["id"], verdict)
        doc.update(verdict)
    return docs


def _page_text(name: str) -> str:
    trafilatura = pytest.importorskip("trafilatura")
    html = gzip.decompress(_data("trafilatura-eval-pages", "html", name).read_bytes()).decode("utf-8")
    return trafilatura.extract(html)


def test_stopword_lists_cover_eu_languages() -> None:
    lists = yaml.safe_load((Path(__file__).resolve().parents[1] / "stages" / "data" / "stopwords.yaml").read_text())
    assert set(EU24) <= set(lists)
    for lang, words in lists.items():
        assert all(isinstance(w, str) and w == w.lower().strip() for w in words), lang  # YAML 1.1 "no" -> False
        assert 20 <= len(set(words)) <= 40, lang


def test_public_sector_laws_pass(langid: LanguageIdStage, quality: QualityStage) -> None:
    paths = sorted(_data("de-bundesgesetze").glob("*.md")) + sorted(_data("public-sector").glob("*/*.md"))
    texts = {p.name: p.read_text(encoding="utf-8") for p in paths if p.name != "SOURCE.md"}
    for doc in _identified(langid, texts):
        verdict = quality.apply(doc)
        assert isinstance(verdict, dict), (doc["id"], doc["language"], verdict)
        assert verdict["quality_signals"]["stop_words"] >= 20


def test_we_keep_what_datatrove_default_gopher_drops(langid: LanguageIdStage, quality: QualityStage) -> None:
    pytest.importorskip("spacy", reason="datatrove's default (English) word tokeniser needs spaCy")
    from datatrove.data import Document
    from datatrove.pipeline.filters import GopherQualityFilter

    samples = {s["lang"]: s["text"] for s in json.loads(_data("resiliparse-lang-samples", "samples.json").read_text())}
    texts = {
        "de:demokratiewebstatt": _page_text("demokratiewebstatt.at.luft.html.gz"),
        "de:caritas": _page_text("caritas.de-Präsidentin.html.gz"),
        "fr:wikipedia": samples["fr"],
        "fr:psl": _page_text("psl.eu.luniversite.html.gz"),
        "pl:energetyka24": _page_text(
            "Rosjanie sugerują natychmiastowe odcięcie Polski od gazu - Energetyka24.html.gz"
        ),
        "pl:windows": _page_text("Windows 10 od lipca przestanie obsługiwać Adobe Flash.html.gz"),
        "el:wikipedia": samples["el"],
    }
    gopher = GopherQualityFilter()
    for doc in _identified(langid, texts):
        assert doc["language"] == doc["id"].split(":")[0]
        assert gopher.filter(Document(text=doc["text"], id=doc["id"])) == (False, "gopher_enough_stop_words")
        verdict = quality.apply(doc)
        assert isinstance(verdict, dict), (doc["id"], verdict)
        assert verdict["quality_signals"]["stop_words"] >= 2


GOOD_EN = (
    "The committee met on Tuesday to discuss the new proposal for the public library. After a long debate, "
    "the members agreed that the building needs a new roof and better heating before the winter. The mayor "
    "said that the city would pay for most of the work, and that the rest would come from a regional fund. "
    "Residents who attended the meeting asked whether the library would stay open during the repairs."
)

# A product list: one item per line, no sentence ends, no repeated phrase.
CATALOGUE = "\n".join(
    f"{a} {n} made in {p}"
    for a, n, p in zip(
        "red blue green black white golden silver wooden plastic woollen leather cotton vintage modern".split(),
        "chairs tables lamps rugs mirrors shelves clocks vases sofas beds desks stools frames baskets".split(),
        "Berlin Paris Vienna Madrid Lisbon Prague Warsaw Dublin Athens Rome Oslo Riga Tallinn Vilnius".split(),
        strict=True,
    )
)


@pytest.mark.parametrize(
    ("text", "language", "reason"),
    [
        ("casino poker bonus slots jackpot free spins roulette blackjack " * 8, "en", "quality:min_stop_words"),
        (
            "\n".join(["Buy cheap watches online, best prices in the whole world today."] * 12),
            "en",
            "quality:max_dup_line_ratio",
        ),
        (
            "$$$ 100% !!! ### *** +++ @@@ €€€ 2024 ~~~ >>> <<< === ||| " * 10 + GOOD_EN,
            "en",
            "quality:min_alpha_words_ratio",
        ),
        (" ".join(f"#deal{i} #sale #love" for i in range(30)) + " " + GOOD_EN, "en", "quality:max_symbol_word_ratio"),
        (
            "\n".join(f"- item number {i} in the list of all things" for i in range(60)),
            "en",
            "quality:max_bullet_lines_ratio",
        ),
        (
            "\n".join(f"Read more about the story of the day number {i} and the rest..." for i in range(20)),
            "en",
            "quality:max_ellipsis_lines_ratio",
        ),
        ("Home\nNews\nSport\nWeather\nContact\nImprint\nLogin\n" * 3 + GOOD_EN, "en", "quality:max_dup_line_ratio"),
        (CATALOGUE + "\n" + GOOD_EN, "en", "quality:min_line_punct_ratio"),
        ("Hello world. " * 3, "en", "quality:min_words"),
        ("I a m o k a y s o i t i s n o t a b a d t h i n g t o d o . " * 5, None, "quality:min_mean_word_length"),
        (GOOD_EN + " " + "click here " * 40 + "now.", "en", "quality:max_top_2gram_char_ratio"),
    ],
)
def test_spam_dropped_with_reason(quality: QualityStage, text: str, language: str | None, reason: str) -> None:
    verdict = quality.apply({"id": "x", "text": text, "language": language})
    assert isinstance(verdict, Drop) and verdict.reason == reason, verdict
    assert set(verdict.evidence) >= {"value", "threshold"}


def test_unknown_language_falls_back_to_generic_rules(quality: QualityStage) -> None:
    keywords = " ".join(f"casino{i} poker{i} bonus{i}" for i in range(20)) + "."
    assert quality.apply({"id": "a", "text": keywords, "language": "en"}).reason == "quality:min_stop_words"
    assert isinstance(quality.apply({"id": "a", "text": keywords}), dict)  # no language: no stop-word rule
    assert isinstance(quality.apply({"id": "a", "text": keywords, "language": "xx"}), dict)  # no list
    signals = quality.apply({"id": "b", "text": GOOD_EN, "language": None})["quality_signals"]
    assert signals["stop_words"] is None and signals["n_words"] == len(GOOD_EN.split())


def test_unsegmented_language_skips_word_rules(quality: QualityStage) -> None:
    zh = "维基百科是一个自由内容、公开编辑且多语言的网络百科全书协作计划。它的目标是为全人类提供自由的百科全书。"
    assert isinstance(quality.apply({"id": "z", "text": zh * 3, "language": "zh"}), dict)
    assert quality.apply({"id": "z", "text": zh * 3}).reason == "quality:min_words"


def test_overrides_and_validation() -> None:
    text = GOOD_EN
    assert isinstance(QualityStage().apply({"id": "a", "text": text, "language": "en"}), dict)
    strict = QualityStage(overrides={"en": {"min_stop_words": 40}})
    assert strict.apply({"id": "a", "text": text, "language": "en"}).reason == "quality:min_stop_words"
    assert isinstance(strict.apply({"id": "a", "text": text, "language": "de"}), Drop)  # German rules: 0 stop words
    relaxed = QualityStage(min_stop_words=None)
    assert isinstance(relaxed.apply({"id": "a", "text": text, "language": "de"}), dict)
    custom = QualityStage(stop_words={"en": ["committee", "library"]}, min_stop_words=2)
    assert custom.apply({"id": "a", "text": text, "language": "en"})["quality_signals"]["stop_words"] == 2
    with pytest.raises(ConfigError):
        QualityStage(overrides={"de": {"min_stopwords": 3}})
    with pytest.raises(ConfigError):
        QualityStage(overrides={"de": {"short_line_chars": 0}})
    with pytest.raises(ConfigError):
        QualityStage(max_word=5)
    assert {r for r, _, _ in RULES} <= set(Thresholds.model_fields)
    desc = QualityStage().describe()
    assert len(desc["stopwords_sha256"]) == 64 and desc["params"]["min_words"] == 50


def test_process_is_deterministic_and_signals_are_stable(langid: LanguageIdStage, quality: QualityStage) -> None:
    paths = sorted(_data("public-sector").glob("*/*.md"))[:4]
    texts = [p.read_text(encoding="utf-8") for p in paths] + [GOOD_EN, "casino poker bonus " * 30, None]
    table = pa.Table.from_pylist([{"id": f"d{i}", "text": t} for i, t in enumerate(texts)], schema=DOCUMENT_SCHEMA)
    identified = langid.process(table).kept
    a, b = quality.process(identified), QualityStage().process(identified)
    assert a.kept.equals(b.kept) and a.decisions == b.decisions
    assert a.kept.schema.field("quality_signals").type == next(
        c.type for c in QualityStage.columns if c.name == "quality_signals"
    )
    # Typed: one field per signal the rules read, counts as integers, ratios rounded to 4 decimals.
    sig = a.kept.column("quality_signals").to_pylist()[0]
    assert list(sig) == list(dict.fromkeys(signal for _, signal, _ in RULES))
    assert isinstance(sig["n_words"], int) and all(v is None or round(v, 4) == v for v in sig.values())
    assert [d["reason"] for d in a.decisions] == ["quality:min_stop_words"]
    assert all(d["status"] == STATUS_DROPPED and "casino" not in d["evidence"] for d in a.decisions)


def test_broken_row_quarantined_not_fatal(quality: QualityStage) -> None:
    docs = [
        {"id": "a", "text": GOOD_EN, "language": "en"},
        {"id": "b", "text": b"\xff\xfe raw bytes", "language": "en"},
        {"id": "c", "text": None},
        {"id": "d", "text": GOOD_EN, "language": "en"},
    ]
    # The stage raises on the broken row; the stage runner (the one isolation path) quarantines it alone.
    with pytest.raises(StageError) as raised:
        quality.apply_batch(docs)
    reason, evidence = safe_error(raised.value)
    assert reason == "error:StageError" and "raw bytes" not in json.dumps(evidence)
    verdicts = quality.apply_batch([d for d in docs if d["id"] != "b"])
    assert isinstance(verdicts[0], dict) and isinstance(verdicts[2], dict)
    assert verdicts[1].reason == "quality:no-text"


def test_hard_wrapped_paragraphs_count_as_lines() -> None:
    para = (
        "Dieses Gesetz gilt für alle elektronischen Informations- und\nKommunikationsdienste, soweit sie nicht "
        "Telekommunikationsdienste nach\nden Vorschriften des Telekommunikationsgesetzes oder Rundfunk nach dem\n"
        "Rundfunkstaatsvertrag sind und keine besonderen Bestimmungen gelten.\n"
    )
    signals = compute_signals("\n".join([para] * 4), frozenset({"und", "der"}))
    assert signals["line_punct_ratio"] == 1.0 and signals["short_line_ratio"] == 0.0
