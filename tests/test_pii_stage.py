"""The pii stage end to end on Arrow batches: real presidio, real phonenumbers, real stdnum-built values."""

from __future__ import annotations

import json
import logging
import socket

import pyarrow as pa
import pytest
from presidio_analyzer import AnalyzerEngine, EntityRecognizer

from sovereign.pipeline.synthetic.pii_evalset import CHECKSUM_ENTITIES, gen_de_tax_id, gen_iban, generate, score
from sovereign.stages.base import safe_error
from sovereign.stages.pii import PiiStage
from sovereign.stages.pii.stage import COUNTS_TYPE, country_of, resolve
from sovereign.stages.registry import build_stage, stage_class

TEXT = (
    "Sehr geehrte Damen und Herren, meine Steuer-ID ist {tax}. Sie erreichen mich unter Tel. 030 12345678 "
    "oder per Mail an anna.schmidt@example.de. Bitte überweisen Sie auf IBAN {iban}. "
    "Ihre Bestellnummer 2024-480619 vom 12.03.2021 über 1.299,00 € (§ 44b Abs. 2 UrhG, BGBl. I S. 1204)."
)


@pytest.fixture(scope="module")
def stage() -> PiiStage:
    s = build_stage("pii", {})
    assert isinstance(s, PiiStage)
    s.ensure_setup()
    return s


def _doc(i: int, text: str | None, lang: str | None = "de", url: str | None = "https://www.example.de/k") -> dict:
    return {"id": f"d{i}", "text": text, "language": lang, "url": url, "domain": None, "source_uri": f"u#{i}"}


def test_registered_and_params_validate() -> None:
    assert stage_class("pii") is PiiStage
    assert PiiStage.Params.model_validate({}).placeholder == "<{entity}>"
    with pytest.raises(ValueError):
        PiiStage.Params.model_validate({"entities": ["NOT_AN_ENTITY"]})


def test_replaces_with_placeholders_and_counts(stage: PiiStage) -> None:
    import random

    rng = random.Random(1)
    tax, iban = gen_de_tax_id(rng), gen_iban(rng, "DE")
    text = TEXT.format(tax=tax, iban=iban)
    result = stage.process(pa.Table.from_pylist([_doc(0, text), _doc(1, None), _doc(2, "Kein Inhalt hier.")]))
    assert result.decisions == []
    rows = {r["id"]: r for r in result.kept.to_pylist()}
    out = rows["d0"]["text"]
    assert "<DE_TAX_ID>" in out and "<PHONE>" in out and "<EMAIL>" in out and "<IBAN>" in out
    assert tax not in out and iban not in out and "anna.schmidt" not in out
    assert "2024-480619" in out and "12.03.2021" in out and "BGBl. I S. 1204" in out  # hard negatives kept
    assert _found(rows["d0"]["pii_counts"]) == {"DE_TAX_ID": 1, "EMAIL_ADDRESS": 1, "IBAN_CODE": 1, "PHONE_NUMBER": 1}
    assert rows["d1"]["pii_counts"] is None and rows["d1"]["text"] is None
    assert _found(rows["d2"]["pii_counts"]) == {} and rows["d2"]["text"] == "Kein Inhalt hier."
    # Typed: one int32 per entity type; 0 where searched and not found, null where the run did not search.
    assert result.kept.schema.field("pii_counts").type == COUNTS_TYPE
    assert rows["d2"]["pii_counts"]["EMAIL_ADDRESS"] == 0 and rows["d2"]["pii_counts"]["PERSON"] is None


def _found(counts: dict[str, int | None]) -> dict[str, int]:
    """The entity types a pii_counts value reports as found."""
    return {k: v for k, v in counts.items() if v}


def test_presidio_is_really_used(stage: PiiStage) -> None:
    assert stage.engine is not None
    analyzer = stage.engine.analyzer("de")
    assert isinstance(analyzer, AnalyzerEngine)
    recognizers = analyzer.registry.get_recognizers(language="de", all_fields=True)
    assert all(isinstance(r, EntityRecognizer) for r in recognizers)
    assert {"DeTaxIdRecognizer", "IbanRecognizer", "EuVatRecognizer", "FrNirRecognizer"} <= {
        type(r).__name__ for r in recognizers
    }


def test_custom_placeholders() -> None:
    s = PiiStage(placeholder="[{entity}]", placeholders={"EMAIL_ADDRESS": "[MAIL]"})
    kept = s.process(pa.Table.from_pylist([_doc(0, "Mail: a.b@example.org, BSN 111222333.", "nl", None)])).kept
    assert kept.column("text")[0].as_py() == "Mail: [MAIL], BSN [NL_BSN]."


def test_language_and_tld_scope(stage: PiiStage) -> None:
    bsn = "Mijn BSN is 111222333."
    # A Dutch identifier is looked for in Dutch text, or in any text from a .nl site, not in German text from .de.
    assert _found(stage.apply_batch([_doc(0, bsn, "nl")])[0]["pii_counts"]) == {"NL_BSN": 1}
    assert _found(stage.apply_batch([_doc(0, bsn, "de")])[0]["pii_counts"]) == {}
    assert _found(stage.apply_batch([_doc(0, bsn, "de", "https://shop.example.nl/")])[0]["pii_counts"]) == {"NL_BSN": 1}
    assert _found(stage.apply_batch([_doc(0, bsn, None, None)])[0]["pii_counts"]) == {"NL_BSN": 1}
    assert country_of({"url": "https://www.gov.uk/x"}) == "uk" and country_of({"url": "https://a.com"}) is None


def test_seeded_values_never_leak(stage: PiiStage, caplog: pytest.LogCaptureFixture) -> None:
    docs = generate(seed=11, per_template=1)
    seeded = [d.text[s:e] for d in docs for s, e, _ in d.gold]
    rows = [{**d.row(), "source_uri": f"evalset#{i}"} for i, d in enumerate(docs)]
    rows.append({**rows[0], "id": "broken", "text": 12345})  # not a string: quarantined, value-free
    with caplog.at_level(logging.DEBUG):
        result = stage.process(pa.Table.from_pylist(rows[:-1]))
        with pytest.raises(TypeError) as quarantined:  # the stage runner quarantines it (one isolation path)
            stage.apply_batch([rows[-1]])
    out = " ".join(result.kept.column("text").to_pylist())
    sidecar = json.dumps(result.decisions) + json.dumps(result.kept.column("pii_counts").to_pylist())
    logs = " ".join(r.getMessage() for r in caplog.records)
    leaked = [v for v in seeded if v in out or v in sidecar or v in logs]
    assert not leaked, f"{len(leaked)} seeded values survived"
    assert "12345" not in json.dumps(safe_error(quarantined.value))


def test_evalset_targets(stage: PiiStage) -> None:
    docs = generate()
    assert docs == generate()  # deterministic
    assert stage.engine is not None
    found = stage.engine.find([(d.text, d.language, country_of(d.row())) for d in docs])
    scores = score(docs, [[(f.start, f.end, f.entity) for f in resolve(fs)] for fs in found])
    print("\nentity recall / precision on the labelled set:")
    for ent, s in scores.items():
        print(f"  {ent:28s} {s.recall:.3f} / {s.precision:.3f}  (tp {s.tp}, fn {s.fn}, fp {s.fp})")
    for ent in CHECKSUM_ENTITIES:
        assert scores[ent].recall >= 0.98, ent
        assert scores[ent].precision >= 0.9, ent
    tp, fp = sum(s.tp for s in scores.values()), sum(s.fp for s in scores.values())
    assert tp / (tp + fp) >= 0.95
    assert min(s.recall for s in scores.values()) >= 0.95


def test_runs_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    s = PiiStage(languages=["pt"])  # a fresh engine: set-up and the e-mail check must not fetch anything
    kept = s.process(pa.Table.from_pylist([_doc(0, "Escreva para maria@exemplo.pt, NIF 123456789.", "pt", None)]))
    assert _found(kept.kept.column("pii_counts")[0].as_py()) == {"EMAIL_ADDRESS": 1, "PT_NIF": 1}


def test_person_with_spacy_model() -> None:
    spacy = pytest.importorskip("spacy")
    if not spacy.util.is_package("fr_core_news_sm"):
        pytest.skip("spaCy model fr_core_news_sm not installed")
    s = PiiStage(spacy_model="fr_core_news_sm", languages=["fr"])
    text = "Hier, Emmanuel Dupont a rencontré Marie Curie à Lyon pour parler du projet."
    row = s.process(pa.Table.from_pylist([_doc(0, text, "fr", None)])).kept.to_pylist()[0]
    assert "Dupont" not in row["text"] and "<PERSON>" in row["text"]
    assert row["pii_counts"]["PERSON"] >= 1


def test_windows_find_what_plain_presidio_finds(stage: PiiStage) -> None:
    # Candidate windows, joined presidio calls, candidate-only phone matching and the indexed context enhancer
    # together: the same detections (spans, entities, scores) as presidio over each whole text.
    assert stage.engine is not None
    docs = generate(seed=7, per_template=1)
    items = [(d.text, d.language, country_of(d.row())) for d in docs]
    fast = stage.engine.find(items)
    whole = [stage.engine.find_whole(*item) for item in items]
    assert sum(map(len, whole)) > len(docs) / 2
    assert [set(f) for f in fast] == [set(w) for w in whole]


def test_country_of_urls() -> None:
    cases = {
        "https://WWW.Example.DE/x": "de",
        "http://a.b.fr:8080/x?q#f": "fr",
        "https://user:pw@shop.example.pl/": "pl",
        "https://[::1]/x": None,
        "www.example.de/no-scheme": None,
        "https://example.com/": None,
    }
    assert {url: country_of({"url": url}) for url in cases} == cases
    assert country_of({"url": "https://example.com/", "domain": "example.at"}) == "at"
