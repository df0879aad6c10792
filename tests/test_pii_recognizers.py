"""PII recognizers against presidio's own recognizer test tables (shared/data/conformance/pii), the
German-law false-positive check, and the fast phone matching against presidio's. Real presidio, real
phonenumbers, no mocks."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest
from presidio_analyzer import EntityRecognizer

from sovereign.pipeline.synthetic.pii_evalset import generate
from sovereign.stages.pii.engine import PiiEngine
from sovereign.stages.pii.prefilter import ascii_digits_only, candidate_windows
from sovereign.stages.pii.recognizers import CATALOGUE, DEFAULT_ENTITIES, build_phone
from sovereign.stages.pii.recognizers.phone import CandidatePhoneRecognizer, scan_snippet
from sovereign.stages.pii.stage import PiiStage, resolve
from tests.helpers.shared import shared_data_dir

SHARED = shared_data_dir() / "conformance"
LANG = {"DE": "de", "ES": "es", "FI": "fi", "SE": "sv", "PL": "pl", "IT": "it", "UK": "en"}
# Expected misses, by design: US numbers (the stage looks in European regions), IPv6 "::" (presidio scores it
# 0.1), DE ids that presidio itself only reports below the threshold without a context word.
FLOORS = {"PHONE_NUMBER": 0.25, "IP_ADDRESS": 0.95, "IT_FISCAL_CODE": 0.6}
CHECKSUM_FLOOR = 0.99


def _load(name: str) -> list[dict]:
    path = SHARED / "pii" / name
    if not path.exists():
        pytest.skip(f"conformance data not found at {path}")
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def engine() -> PiiEngine:
    return PiiEngine([*CATALOGUE, "PHONE_NUMBER"], sorted(set(LANG.values())))


def _strip(text: str, span: tuple[int, int]) -> tuple[int, int]:
    s, e = span
    return s + len(text[s:e]) - len(text[s:e].lstrip()), e


def test_presidio_conformance_cases(engine: PiiEngine) -> None:
    cases = [c for c in _load("cases.json") if not c.get("config")]
    passed: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for c in cases:
        ent, text = c["entity"], c["text"]
        item = (text, LANG.get(ent.split("_")[0]), None)
        found = [f for f in engine.find([item])[0] if f.entity == ent]
        whole = [f for f in engine.find_whole(*item) if f.entity == ent]
        assert set(found) == set(whole), "the prefilter lost or changed a presidio detection"
        spans = sorted({(f.start, f.end) for f in found})
        if c["expected_spans"] is None:
            ok = len(spans) == c["expected_count"]
        else:
            ok = sorted(_strip(text, tuple(s)) for s in c["expected_spans"]) == [_strip(text, s) for s in spans]
        passed[ent][0] += ok
        passed[ent][1] += 1
    print("\nconformance pass rate per entity:")
    for ent, (ok, n) in sorted(passed.items()):
        print(f"  {ent:28s} {ok:4d}/{n:<4d} {ok / n:.2f}{'' if ent in DEFAULT_ENTITIES else '  (off by default)'}")
    for ent in DEFAULT_ENTITIES:
        if ent in passed:
            ok, n = passed[ent]
            assert ok / n >= FLOORS.get(ent, CHECKSUM_FLOOR), ent
    default = [passed[e] for e in DEFAULT_ENTITIES if e in passed]
    assert sum(ok for ok, _ in default) / sum(n for _, n in default) >= 0.95


def test_checksum_cases_match_presidio_tests() -> None:
    cases = [c for c in _load("checksum_cases.json") if c.get("mode") in (None, "default")]
    checked = 0
    for c in cases:
        if c["entity"] not in CATALOGUE or c["expected_valid"] is None:
            continue
        recognizer = CATALOGUE[c["entity"]].build(LANG[c["entity"].split("_")[0]])
        assert bool(recognizer.validate_result(c["value"])) == c["expected_valid"], c["entity"]
        checked += 1
    assert checked >= 50


def test_german_laws_are_not_flagged() -> None:
    laws = sorted((SHARED / "de-bundesgesetze").glob("*.md"))
    if not laws:
        pytest.skip("de-bundesgesetze not found")
    stage = PiiStage()
    stage.ensure_setup()
    assert stage.engine is not None
    items = []
    for path in laws:
        text = path.read_text(encoding="utf-8")
        items += [(text[i : i + 4000], "de", "de") for i in range(0, len(text), 4000)]
    hits = sum(len(resolve(found)) for found in stage.engine.find(items))
    assert len(items) > 150
    assert hits <= 3  # 0.68 MB of §§, dates, BGBl citations, Drucksache numbers: measured 0


def _phone_spans(recognizer: EntityRecognizer, text: str) -> set[tuple[int, int, float]]:
    return {(r.start, r.end, r.score) for r in recognizer.analyze(text, ["PHONE_NUMBER"], None)}


@pytest.mark.parametrize("regions", [("DE",), ("ES",), ("GB", "FR", "IT", "PL")])
def test_candidate_phone_matching_equals_whole_text_matching(regions: tuple[str, ...]) -> None:
    # phonenumbers on its own 6+-digit candidates gives presidio's detections (matcher over the whole text).
    docs = generate(seed=3, per_template=1)
    texts = [d.text for d in docs] + [c["text"] for c in _load("cases.json") if c["entity"] == "PHONE_NUMBER"]
    whole, fast = build_phone("de", regions, candidates_only=False), build_phone("de", regions)
    assert isinstance(fast, CandidatePhoneRecognizer) and not isinstance(whole, CandidatePhoneRecognizer)
    scan_snippet.cache_clear()
    differ = [t for t in texts if _phone_spans(whole, t) != _phone_spans(fast, t)]
    assert not differ, f"{len(differ)} of {len(texts)} texts differ"


def test_dates_and_act_numbers_are_not_phone_numbers() -> None:
    text = "Mødet var den 30. 12. 2006 i København."  # phonenumbers: a valid Danish number
    assert _phone_spans(build_phone("da", ("DK",), candidates_only=False), text)
    assert not _phone_spans(build_phone("da", ("DK",)), text)
    for citation in ("Verordnung (EU) 2016/679 und Richtlinie 2010/13/EU", "Regulation (EU) No 526/2013 of"):
        assert candidate_windows(citation) == []
    assert candidate_windows("Tel. 030/2016793")  # a trunk 0: a phone number, kept
    assert candidate_windows("Drucksache 19/12345")  # not a year: kept for the recognizers


def test_candidate_scan_sees_every_kind_of_digit() -> None:
    # The scan uses 0-9 only where the text has no other decimal digits (fullwidth, Arabic-Indic...).
    for text in ("Tel. ０３０ １２３４５６７", "Tel. ٠٣٠١٢٣٤٥٦٧ – Łódź", "ΑΦΜ 094259216", "Tel. 030 1234567, Łódź"):
        assert candidate_windows(text) == [(0, len(text))], text
    assert ascii_digits_only("Łódź 030 1234567 – „x“") and not ascii_digits_only("Łódź ０３０")
    assert candidate_windows("a@b.de") and candidate_windows("fe80::1") and not candidate_windows("12:30 Uhr")


def test_bare_numbers_without_context_skip_the_matcher() -> None:
    # In Spain an unbroken 9-digit number scores 0.3 and needs "Teléfono" to pass 0.4: without a context word
    # in reach, the order number is never handed to phonenumbers, and the result is presidio's.
    engine = PiiEngine(["PHONE_NUMBER"], ["es"])
    text = "Pedido 612345678 enviado. Teléfono 612345679, o bien 91 123 45 67."
    scan_snippet.cache_clear()
    found = engine.find([(text, "es", None)])[0]
    assert [text[f.start : f.end] for f in found] == ["612345679", "91 123 45 67"]
    assert scan_snippet.cache_info().misses == 2
    assert found == engine.find_whole(text, "es")
