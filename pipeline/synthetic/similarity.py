"""The one text-similarity measure of the synthetic data: Jaccard of word 5-gram sets (lower-cased), the measure
fuzzy dedup approximates. The demo crawl plans its near duplicates with it and the tests check them with it."""

from __future__ import annotations

import re


def shingle_jaccard(a: str, b: str, n: int = 5) -> float:
    """Jaccard similarity of word n-gram sets (lower-cased); 1.0 for two empty texts."""

    def grams(text: str) -> set[tuple[str, ...]]:
        words = re.findall(r"\w+", text.lower())
        return {tuple(words[i : i + n]) for i in range(max(1, len(words) - n + 1))}

    ga, gb = grams(a), grams(b)
    return len(ga & gb) / len(ga | gb) if ga | gb else 1.0
