"""presidio, built once per process, run on candidate windows instead of whole documents.

``PiiEngine.find`` takes (text, language, country) items. It cuts each text into the prefilter's windows,
joins the windows of many documents of the same language into one string (separated so that no match and
no context word crosses a seam), calls ``AnalyzerEngine.analyze`` once per chunk and maps the results back.
``PiiEngine.find_whole`` is plain presidio on the whole text, for comparison.
"""

from __future__ import annotations

import bisect
import warnings
from collections import defaultdict
from dataclasses import dataclass
from functools import cache

from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerRegistry, RecognizerResult
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer

from sovereign.stages.pii.guard import watch_timeouts
from sovereign.stages.pii.nlp import SEP_TOKEN, IndexedContextEnhancer, TokenNlpEngine
from sovereign.stages.pii.prefilter import candidate_windows
from sovereign.stages.pii.recognizers import CATALOGUE, LANGUAGE_COUNTRIES, build_phone, phone_region

ANY_LANGUAGE = "xx"  # documents without a (configured) language: every recognizer runs
SEPARATOR = "\n" + " ".join([SEP_TOKEN] * 6) + "\n"
# Short-number plans where a year or an 8-digit invoice number is a valid phone number: only via their TLD.
NO_LANGUAGE_REGION = frozenset({"lu", "mt"})
UNKNOWN_REGIONS = ("DE", "FR", "GB", "IT", "ES", "NL", "PL")

# presidio's logger (INFO/WARNING chatter kept out of run logs; timed-out patterns counted) is set up in guard.py.


@dataclass(frozen=True)
class Found:
    start: int
    end: int
    entity: str
    score: float


def countries_for(language: str) -> tuple[str, ...]:
    return LANGUAGE_COUNTRIES.get(language, ())


class PiiEngine:
    def __init__(
        self,
        entities: list[str],
        languages: list[str],
        score_threshold: float = 0.4,
        chunk_chars: int = 8192,
        spacy_models: list[str] | None = None,
    ) -> None:
        unknown = sorted(set(entities) - set(CATALOGUE) - {"PHONE_NUMBER", "PERSON"})
        if unknown:
            raise ValueError(f"unknown PII entities: {', '.join(unknown)}")
        self.entities = sorted(set(entities) - {"PERSON"})
        self.languages = sorted(set(languages))
        self.threshold = score_threshold
        self.chunk_chars = chunk_chars
        codes = [*self.languages, ANY_LANGUAGE]
        self.nlp = TokenNlpEngine(models=[{"lang_code": lang, "model_name": "no_op"} for lang in codes])
        self.nlp.load()
        self._analyzers: dict[tuple[str, bool], AnalyzerEngine] = {}
        self._phones: dict[tuple[str, str, bool], EntityRecognizer] = {}
        self.ner = NerEngine(spacy_models) if spacy_models and "PERSON" in entities else None

    def lang_key(self, language: str | None) -> str:
        return language if language in self.languages else ANY_LANGUAGE

    def analyzer(self, lang: str, fast: bool = True) -> AnalyzerEngine:
        """presidio for one language; ``fast=False`` is the anchor: presidio's own phone matching over the
        whole text and its own context enhancer (same detections, slower)."""
        key = (lang, fast)
        if key not in self._analyzers:
            registry = RecognizerRegistry(supported_languages=[lang])
            for entity in self.entities:
                if entity != "PHONE_NUMBER":
                    registry.add_recognizer(CATALOGUE[entity].build(lang))
            if "PHONE_NUMBER" in self.entities:
                registry.add_recognizer(build_phone(lang, self._regions(lang), fast, self.threshold))
            enhancer = IndexedContextEnhancer if fast else LemmaContextAwareEnhancer
            with warnings.catch_warnings():  # it warns that a NoOpNlpEngine has no tokens: ours has
                warnings.simplefilter("ignore", UserWarning)
                self._analyzers[key] = AnalyzerEngine(
                    registry=registry,
                    nlp_engine=self.nlp,
                    supported_languages=[lang],
                    context_aware_enhancer=enhancer(context_matching_mode="whole_word"),
                )
        return self._analyzers[key]

    def _regions(self, lang: str) -> tuple[str, ...]:
        if lang == ANY_LANGUAGE:
            return UNKNOWN_REGIONS
        # One region per language (each region is a full phonenumbers pass, the stage's main cost); numbers of
        # neighbouring countries are found in international format, or through the document's TLD.
        return tuple(phone_region(c) for c in countries_for(lang) if c not in NO_LANGUAGE_REGION)[:1] or UNKNOWN_REGIONS

    def scope(self, lang: str, country: str | None, fast: bool = True) -> tuple[list[str], list[EntityRecognizer]]:
        """Entities to look for in a document of this language from this country's TLD, and an extra phone
        recognizer for the TLD's region."""
        allowed = set(countries_for(lang)) | ({country} if country else set())
        entities = [
            e
            for e in self.entities
            if e == "PHONE_NUMBER" or lang == ANY_LANGUAGE or CATALOGUE[e].country in allowed | {None}
        ]
        ad_hoc: list[EntityRecognizer] = []
        if country and "PHONE_NUMBER" in self.entities and phone_region(country) not in self._regions(lang):
            key = (lang, phone_region(country), fast)
            if key not in self._phones:
                self._phones[key] = build_phone(lang, (key[1],), fast, self.threshold)
            ad_hoc.append(self._phones[key])
        return entities, ad_hoc

    def _analyze(self, text: str, lang: str, country: str | None, fast: bool = True) -> list[RecognizerResult]:
        entities, ad_hoc = self.scope(lang, country, fast)
        analyzer = self.analyzer(lang, fast)
        with watch_timeouts():  # a pattern that ran out of time raises here: never a partly scrubbed text
            return analyzer.analyze(
                text=text, language=lang, entities=entities, ad_hoc_recognizers=ad_hoc or None,
                score_threshold=self.threshold,
            )  # fmt: skip

    def find_whole(self, text: str, language: str | None, country: str | None = None) -> list[Found]:
        """Plain presidio: every recognizer in scope over the whole text."""
        lang = self.lang_key(language)
        found = [Found(r.start, r.end, r.entity_type, r.score) for r in self._analyze(text, lang, country, False)]
        if self.ner is not None:
            found += self.ner.find(text, language)
        return sorted(found, key=_order)

    def find(self, items: list[tuple[str, str | None, str | None]]) -> list[list[Found]]:
        """Detections per item (text, language, TLD country), sorted by position."""
        out: list[list[Found]] = [[] for _ in items]
        groups: dict[tuple[str, str | None], list[int]] = defaultdict(list)
        for i, (_, language, country) in enumerate(items):
            groups[(self.lang_key(language), country)].append(i)
        for (lang, country), idxs in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
            parts: list[str] = []
            segments: list[tuple[int, int, int, int]] = []  # joined start, joined end, item, offset in item
            size = 0
            for i in idxs:
                text = items[i][0]
                for lo, hi in candidate_windows(text):
                    segments.append((size, size + hi - lo, i, lo))
                    parts.append(text[lo:hi])
                    size += hi - lo + len(SEPARATOR)
                    if size >= self.chunk_chars:
                        self._run_chunk(parts, segments, lang, country, out)
                        parts, segments, size = [], [], 0
            if parts:
                self._run_chunk(parts, segments, lang, country, out)
        if self.ner is not None:
            for i, (text, language, _) in enumerate(items):
                out[i] += self.ner.find(text, language)
        return [sorted(f, key=_order) for f in out]

    def _run_chunk(
        self,
        parts: list[str],
        segments: list[tuple[int, int, int, int]],
        lang: str,
        country: str | None,
        out: list[list[Found]],
    ) -> None:
        joined = SEPARATOR.join(parts)
        starts = [s[0] for s in segments]
        for r in self._analyze(joined, lang, country):
            k = bisect.bisect_right(starts, r.start) - 1
            if k < 0 or r.end > segments[k][1]:
                continue  # touches a separator: not a match of the original text
            seg_start, _, item, offset = segments[k]
            shift = offset - seg_start
            out[item].append(Found(r.start + shift, r.end + shift, r.entity_type, r.score))


def _order(f: Found) -> tuple[int, int, str]:
    return (f.start, f.end, f.entity)


class NerEngine:
    """Optional PERSON detection with installed spaCy NER models (e.g. fr_core_news_sm), on whole texts:
    names have no cheap candidate signal."""

    def __init__(self, models: list[str]) -> None:
        from presidio_analyzer.nlp_engine import SpacyNlpEngine
        from presidio_analyzer.predefined_recognizers import SpacyRecognizer

        langs = {name: _spacy_lang(name) for name in models}
        nlp = SpacyNlpEngine(models=[{"lang_code": lang, "model_name": name} for name, lang in langs.items()])
        nlp.load()
        self.languages = sorted(set(langs.values()))
        registry = RecognizerRegistry(supported_languages=self.languages)
        for lang in self.languages:
            registry.add_recognizer(SpacyRecognizer(supported_language=lang, supported_entities=["PERSON"]))
        self.analyzer = AnalyzerEngine(registry=registry, nlp_engine=nlp, supported_languages=self.languages)

    def find(self, text: str, language: str | None) -> list[Found]:
        if language not in self.languages:
            return []
        with watch_timeouts():
            results = self.analyzer.analyze(text=text, language=language, entities=["PERSON"])
        return [Found(r.start, r.end, r.entity_type, r.score) for r in results]


@cache
def _spacy_lang(model: str) -> str:
    import spacy

    return str(spacy.util.get_model_meta(spacy.util.get_package_path(model))["lang"])
