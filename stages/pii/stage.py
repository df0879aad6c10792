"""The ``pii`` stage: find personal data with presidio (on prefiltered windows) and replace it with typed
placeholders; record counts per entity type, never values."""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

import pyarrow as pa
from pydantic import field_validator

from sovereign.stages.base import BatchedDocumentStage, Column, Drop, StageParams
from sovereign.stages.pii.entities import DEFAULT_ENTITIES, DETECTOR_TIMEOUT, ENTITY_COUNTRY, LANGUAGE_COUNTRIES
from sovereign.stages.registry import register

if TYPE_CHECKING:  # presidio loads in setup(): validating a config or building the stage must not pay ~1.6 s for it
    from sovereign.stages.pii.engine import Found, PiiEngine

KNOWN_ENTITIES = frozenset(ENTITY_COUNTRY) | {"PHONE_NUMBER", "PERSON"}
# The pii_counts column: one int32 field per entity type the stage knows, in name order (a struct rather than a
# map<string,int32>: HF datasets has no map type and fails on one). A type the run searched for is 0 or its count;
# one it did not search for is null. The field list is fixed by the code, so every run's shards share one schema.
COUNTS_TYPE = pa.struct([pa.field(entity, pa.int32()) for entity in sorted(KNOWN_ENTITIES)])
DEFAULT_PLACEHOLDERS = {
    "EMAIL_ADDRESS": "<EMAIL>",
    "PHONE_NUMBER": "<PHONE>",
    "IP_ADDRESS": "<IP>",
    "IBAN_CODE": "<IBAN>",
    "CREDIT_CARD": "<CREDIT_CARD>",
    "PERSON": "<PERSON>",
}
# TLDs taken as a document's country (phone region, national identifiers): EU/EEA, CH, UK.
EUROPEAN_TLDS = frozenset(c for cs in LANGUAGE_COUNTRIES.values() for c in cs) | {"no", "is", "li", "ch"}

_PLAIN_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://([A-Za-z0-9.-]+)(?::[0-9]*)?(?=[/?#]|$)")
GENERIC_RANK = {"CREDIT_CARD": 1, "PHONE_NUMBER": 2}  # loses ties to any more specific entity
_ENGINES: dict[str, PiiEngine] = {}  # one engine per configuration per process (presidio set-up ~0.1 s/lang)


class PiiParams(StageParams):
    entities: list[str] = list(DEFAULT_ENTITIES)  # presidio entity names; PERSON needs spacy_model
    languages: list[str] = sorted(LANGUAGE_COUNTRIES)  # others (and None) get every recognizer
    placeholder: str = "<{entity}>"  # format for entities not in `placeholders`
    placeholders: dict[str, str] = DEFAULT_PLACEHOLDERS
    score_threshold: float = 0.4
    spacy_model: str | list[str] | None = None  # e.g. "fr_core_news_sm": PERSON for that model's language
    chunk_chars: int = 8192  # windows joined per presidio call
    # presidio's time budget per pattern run (None: its default, 60 s or $REGEX_TIMEOUT_SECONDS). A pattern that
    # runs out quarantines the document (pii:detector-timeout) instead of leaving it partly scrubbed.
    regex_timeout_s: float | None = None

    @field_validator("entities")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - KNOWN_ENTITIES)
        if unknown:
            raise ValueError(f"unknown entities {unknown}; known: {sorted(KNOWN_ENTITIES)}")
        return sorted(set(value))

    @field_validator("placeholder")
    @classmethod
    def _has_slot(cls, value: str) -> str:
        value.format(entity="X")  # raises on a malformed format
        return value


def country_of(doc: dict[str, Any]) -> str | None:
    url = doc.get("url")
    host = doc.get("domain") or (_host(url) if url else None)
    if not host:
        return None
    tld = host.rstrip(".").rsplit(".", 1)[-1].lower()
    return tld if tld in EUROPEAN_TLDS else None


def _host(url: str) -> str | None:
    # A plain "scheme://host/..." by regex (10x faster than urlsplit, measured); anything else by urlsplit.
    m = _PLAIN_URL.match(url)
    return m.group(1).lower() if m else urlsplit(url).hostname


def resolve(found: list[Found]) -> list[Found]:
    """Non-overlapping spans, preferring higher score, then longer, then the more specific entity (a national
    id over a card or phone number of the same length), then earlier (deterministic)."""
    chosen: list[Found] = []
    # Characters already covered, instead of comparing with every chosen span: a page of 100k e-mail addresses
    # made the pairwise check quadratic. Each span is checked in its own length.
    taken = bytearray(max((f.end for f in found), default=0))
    for f in sorted(found, key=lambda f: (-f.score, f.start - f.end, GENERIC_RANK.get(f.entity, 0), f.start, f.entity)):
        if f.end > f.start and taken.find(1, f.start, f.end) < 0:
            chosen.append(f)
            taken[f.start : f.end] = b"\x01" * (f.end - f.start)
    return sorted(chosen, key=lambda f: f.start)


@register
class PiiStage(BatchedDocumentStage):
    name: ClassVar[str] = "pii"
    # 2: dates and act numbers are never phone numbers (presidio flagged a few); 3: pii_counts is a struct
    version: ClassVar[str] = "3"
    columns: ClassVar[tuple[Column, ...]] = (
        Column("pii_counts", COUNTS_TYPE, "personal data replaced, per entity type (null: not searched for)"),
    )
    reasons: ClassVar[dict[str, str]] = {
        DETECTOR_TIMEOUT: "quarantined: a detector ran out of time, so the text could not be fully checked",
    }
    Params = PiiParams
    params: PiiParams

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.engine: PiiEngine | None = None
        cfg = self.params
        self.searched = frozenset(cfg.entities) | ({"PERSON"} if cfg.spacy_model else frozenset())

    def setup(self) -> None:
        from sovereign.stages.pii.engine import PiiEngine
        from sovereign.stages.pii.guard import set_regex_timeout

        cfg = self.params
        models = [cfg.spacy_model] if isinstance(cfg.spacy_model, str) else list(cfg.spacy_model or [])
        entities = sorted(set(cfg.entities) | ({"PERSON"} if models else set()))
        key = json.dumps([entities, cfg.languages, cfg.score_threshold, cfg.chunk_chars, models])
        if cfg.regex_timeout_s is not None:
            set_regex_timeout(cfg.regex_timeout_s)
        if key not in _ENGINES:
            _ENGINES[key] = PiiEngine(entities, cfg.languages, cfg.score_threshold, cfg.chunk_chars, models)
        self.engine = _ENGINES[key]

    def placeholder(self, entity: str) -> str:
        return self.params.placeholders.get(entity) or self.params.placeholder.format(entity=entity)

    def counts(self, found: Counter[str]) -> dict[str, int | None]:
        """The pii_counts value: every entity type the run searches for (0 when none was found), null the rest."""
        return {e: (found.get(e, 0) if e in self.searched else None) for e in COUNTS_TYPE.names}

    def scrub(self, text: str, found: list[Found]) -> dict[str, Any]:
        if not found:
            return {"text": text, "pii_counts": self.counts(Counter())}  # most documents
        spans = resolve(found)
        parts: list[str] = []
        pos = 0
        for f in spans:
            parts += [text[pos : f.start], self.placeholder(f.entity)]
            pos = f.end
        parts.append(text[pos:])
        counts = Counter(f.entity for f in spans)
        return {"text": "".join(parts), "pii_counts": self.counts(counts)}

    def _substitute(self, text: str, found: list[Found]) -> str:
        return str(self.scrub(text, found)["text"])

    def scrub_url_batch(self, docs: list[dict[str, Any]]) -> list[str]:
        """The docs' URLs (all non-empty) with personal data replaced; raises if a detector did not finish."""
        self.ensure_setup()
        assert self.engine is not None
        urls = [(d["url"], d.get("language"), country_of(d)) for d in docs]
        from sovereign.stages.pii.url import scrub_urls

        return scrub_urls(self.engine.find, urls, self._substitute)

    def scrub_urls(self, urls: list[str]) -> list[str]:
        """URLs of manifest rows (documents dropped before this stage, non-document records): no language known,
        the country comes from the TLD."""
        return self.scrub_url_batch([{"url": u} for u in urls])

    def apply_batch(self, docs: list[dict[str, Any]]) -> list[dict[str, Any] | Drop]:
        # Fail closed: a detector that does not finish (a presidio timeout raises DetectorTimeout; RecursionError,
        # MemoryError, any exception) fails the batch; the stage runner retries it document by document and
        # quarantines only the documents that fail alone. No document is kept with its text partly scrubbed.
        self.ensure_setup()
        assert self.engine is not None
        out: list[dict[str, Any]] = [{"pii_counts": None} for _ in docs]
        idx = [i for i, d in enumerate(docs) if d.get("text")]
        items = [(docs[i]["text"], docs[i].get("language"), country_of(docs[i])) for i in idx]
        for i, item, found in zip(idx, items, self.engine.find(items), strict=True):
            out[i] = self.scrub(item[0], found)
        with_url = [i for i, d in enumerate(docs) if d.get("url")]
        for i, url in zip(with_url, self.scrub_url_batch([docs[i] for i in with_url]), strict=True):
            if url != docs[i]["url"]:
                out[i]["url"] = url
        return out
