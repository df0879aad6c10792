"""Per-language mixtures for a pack: weights (how often a trainer samples each language) and token caps (how much of
a language goes into the pack at all), from the CLI (``de=0.3,fr=0.2``) or a YAML file, and Megatron-LM's
``--data-path`` blend string written beside the packs (``blend.txt``).

Weights do not change a pack's bytes: they become the blend, ``weight1 prefix1 weight2 prefix2 ...`` with one entry
per part (prefix relative to the pack folder, e.g. ``lang=de/part-00000``). A language's weight is split over its
parts in proportion to their tokens, so the part weights of a language sum to the weight given; Megatron normalises
all weights to sum to 1 and samples each prefix in that proportion. Languages not named when weights are given are
packed but left out of the blend. Without weights the blend is the natural mixture (each part's share of all tokens).

Caps do change the bytes: a capped language keeps the documents with the smallest ids whose tokens (each with its
end-of-document token) add up to at most the cap, and cuts the rest whole. Ids are uniform hashes, so this is a
deterministic, unbiased sample that does not depend on how the run was sharded or on the executor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from sovereign.pipeline.packs.errors import PackError

BLEND_FILE = "blend.txt"
_YAML_KEYS = {"weights", "cap_tokens"}


@dataclass(frozen=True)
class Mixture:
    weights: dict[str, float] = field(default_factory=dict)  # empty: the natural mixture
    cap_tokens: dict[str, int] = field(default_factory=dict)


def _number(lang: str, raw: Any, what: str) -> float:
    try:
        value = float(raw)  # also "1e9", which YAML 1.1 (PyYAML) reads as a string
    except (TypeError, ValueError):
        raise PackError(f"{what} for {lang!r} is not a number: {raw!r}") from None
    if not math.isfinite(value) or value < 0:
        raise PackError(f"{what} for {lang!r} must be a finite number >= 0, got {raw!r}")
    return value


def parse_pairs(text: str | None, what: str) -> dict[str, float]:
    """``de=0.3,fr=0.2`` -> {"de": 0.3, "fr": 0.2}."""
    out: dict[str, float] = {}
    for pair in (p.strip() for p in (text or "").split(",")):
        if not pair:
            continue
        lang, sep, raw = pair.partition("=")
        if not sep or not lang.strip():
            raise PackError(f"{what}: expected LANG=NUMBER, got {pair!r}")
        out[lang.strip()] = _number(lang.strip(), raw.strip(), what)
    return out


def load_mixture_yaml(data: bytes, source: str) -> dict[str, dict[str, float]]:
    """``weights: {de: 0.3, fr: 0.2}`` and/or ``cap_tokens: {de: 1e9}``."""
    try:
        doc = yaml.safe_load(data) or {}
    except yaml.YAMLError as exc:
        raise PackError(f"{source}: not YAML ({type(exc).__name__})") from None
    if not isinstance(doc, dict) or not set(doc) <= _YAML_KEYS:
        raise PackError(f"{source}: expected a mapping with keys {sorted(_YAML_KEYS)}")
    out: dict[str, dict[str, float]] = {}
    for key in sorted(_YAML_KEYS & set(doc)):
        if not isinstance(doc[key], dict):
            raise PackError(f"{source}: {key} must map languages to numbers")
        out[key] = {str(lang): _number(str(lang), v, key) for lang, v in doc[key].items()}
    return out


def make_mixture(weights: dict[str, float], cap_tokens: dict[str, float], from_file: dict | None = None) -> Mixture:
    """CLI values override the file's, language by language."""
    file = from_file or {}
    w = {**file.get("weights", {}), **weights}
    caps = {**file.get("cap_tokens", {}), **cap_tokens}
    if w and not any(v > 0 for v in w.values()):
        raise PackError("mixture weights: at least one language needs a weight > 0")
    bad = sorted(lang for lang, v in caps.items() if v < 1)
    if bad:
        raise PackError(f"cap_tokens must be token counts >= 1: {bad}")
    return Mixture(dict(sorted(w.items())), {lang: int(v) for lang, v in sorted(caps.items())})


def check_languages(mixture: Mixture, languages: list[str]) -> None:
    unknown = sorted((set(mixture.weights) | set(mixture.cap_tokens)) - set(languages))
    if unknown:
        raise PackError(f"mixture names languages the run does not have: {unknown} (it has: {languages})")


def cap_cutoff(ids: pa.ChunkedArray | pa.Array, counts: np.ndarray, cap: int) -> str | None:
    """The largest id kept under ``cap`` (documents in id order, whole documents, tokens incl. the separator):
    None when everything fits, "" when not even the first document does (every id is > "")."""
    if int(counts.sum()) <= cap:
        return None
    order = pc.sort_indices(ids).to_numpy()
    kept = int(np.searchsorted(np.cumsum(counts[order]), cap, side="right"))
    return ids[int(order[kept - 1])].as_py() if kept else ""


def blend(parts: dict[str, list[tuple[str, int]]], mixture: Mixture) -> list[tuple[float, str]]:
    """(weight, prefix) per part, languages sorted and parts in order; see the module docstring."""
    total = sum(t for plist in parts.values() for _, t in plist)
    out = []
    for lang, plist in sorted(parts.items()):
        lang_tokens = sum(t for _, t in plist)
        weight = mixture.weights.get(lang, 0.0) if mixture.weights else lang_tokens / max(total, 1)
        if weight <= 0 or lang_tokens == 0:
            continue
        out += [(weight * t / lang_tokens, name) for name, t in plist]
    return out


def blend_string(entries: list[tuple[float, str]]) -> str:
    # 12 significant digits: exact enough for any sampling ratio, and the same text on every machine.
    return " ".join(f"{w:.12g} {prefix}" for w, prefix in entries)
