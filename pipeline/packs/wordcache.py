"""The word-cache front end shared by our encoders: split each document into pre-tokens (added tokens, then the
GPT-2 regex), give every distinct pre-token an index in a cache that persists across batches, and encode only the
pre-tokens never seen before. A document's ids are then a gather of its pre-tokens' cached ids.

Byte-level BPE never merges across pre-tokens, so a document's ids are the concatenation of its pre-tokens' ids
and caching them is exact. Subclasses say how new pre-tokens become ids (``_encode_words``): HF's own BPE
(encoders.HFWordEncoder, the CPU path) or the array program (bpe_array.ArrayBPEEncoder, NumPy / CuPy).

Why: in HF ``encode_batch`` most of the time goes to the Oniguruma split (2.8 MB/s per core here, measured), not to
BPE; the ``regex`` module splits at 7.5-8.5 MB/s, and web text repeats its words, so cached pre-tokens cost one dict
lookup each.
"""

from __future__ import annotations

import re
from types import ModuleType
from typing import Any

import numpy as np

from sovereign.pipeline.packs.bytelevel import ByteLevelBPE, gpt2_split_regex


def to_host(x: Any) -> np.ndarray:
    return x.get() if hasattr(x, "get") else np.asarray(x)


def ragged_index(starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + n)`` for each (s, n), vectorised (host side; sizes known there)."""
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    out_start = np.cumsum(lens) - lens
    return np.repeat(starts - out_start, lens) + np.arange(total, dtype=np.int64)


class WordCacheEncoder:
    """Encode batches of documents; ``split_special=False`` treats added special tokens' text as ordinary text
    (HF: ``tokenizer.encode_special_tokens = True``), so a document cannot forge an end-of-document token."""

    def __init__(
        self, tok: ByteLevelBPE, xp: ModuleType = np, split_special: bool = True, max_cache_words: int = 2_000_000
    ) -> None:
        self.tok, self.xp, self.max_cache_words = tok, xp, max_cache_words
        self.split_re = gpt2_split_regex()
        self.splitters = sorted(
            (c for c in tok.special if split_special or not tok.special_flags[c]), key=lambda c: (-len(c), c)
        )
        # Longest first at the leftmost position = HF's leftmost-longest added-token matching.
        self.special_re = re.compile("(" + "|".join(map(re.escape, self.splitters)) + ")") if self.splitters else None
        self._reset_cache()

    def _encode_words(self, words: list[Any]) -> tuple[Any, np.ndarray]:
        """Ids of new pre-tokens (``str``, or ``("special", id)`` for an added token): flat int32 array on the
        array module's device, and each word's token count (int64, host)."""
        raise NotImplementedError

    def _reset_cache(self) -> None:
        self.cache: dict[Any, int] = {}  # pre-token (str) or ("special", id) -> word index
        self.cache_ids = self.xp.zeros(1024, dtype=self.xp.int32)  # all cached words' ids, concatenated
        self.cache_off = np.zeros(1, dtype=np.int64)  # host copies of offsets/lengths, grown per batch
        self.cache_len = np.zeros(0, dtype=np.int64)

    def _split(self, text: str, out: list[Any]) -> None:
        if self.tok.add_prefix_space and not text.startswith(" "):
            text = " " + text
        if self.tok.use_regex:
            out += self.split_re.findall(text)
        else:
            out.append(text)

    def pieces(self, texts: list[str]) -> tuple[list[Any], np.ndarray]:
        """All pre-tokens of the batch in order, and how many belong to each document."""
        pieces: list[Any] = []
        counts = np.zeros(len(texts), dtype=np.int64)
        special_re, splitters, special = self.special_re, self.splitters, self.tok.special
        for k, text in enumerate(texts):
            before = len(pieces)
            if special_re is None or not any(s in text for s in splitters):  # `in`: C speed, skips the split
                if text:
                    self._split(text, pieces)
            else:
                for i, part in enumerate(special_re.split(text)):
                    if i % 2:
                        pieces.append(("special", special[part]))
                    elif part:
                        self._split(part, pieces)
            counts[k] = len(pieces) - before
        return pieces, counts

    def word_indices(self, pieces: list[Any]) -> np.ndarray:
        """Cache index of every pre-token; new ones (in order of first sight) are encoded and cached first."""
        cache = self.cache
        new = [p for p in dict.fromkeys(pieces) if p not in cache]  # dict.fromkeys: distinct, in order, C speed
        if new:
            cache.update(zip(new, range(len(cache), len(cache) + len(new)), strict=True))
            self._append_cache(*self._encode_words(new))
        return np.fromiter(map(cache.__getitem__, pieces), dtype=np.int64, count=len(pieces))

    def _append_cache(self, batch: Any, lens: np.ndarray) -> None:
        start = int(self.cache_off[-1])
        need = start + int(batch.shape[0])
        if need > self.cache_ids.shape[0]:
            grown = self.xp.zeros(max(need, 2 * self.cache_ids.shape[0]), dtype=self.xp.int32)
            grown[:start] = self.cache_ids[:start]
            self.cache_ids = grown
        self.cache_ids[start:need] = batch
        self.cache_off = np.concatenate([self.cache_off, start + np.cumsum(lens)])
        self.cache_len = np.concatenate([self.cache_len, lens])

    def encode_batch(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Ids of every document, concatenated (int32, host), and each document's token count (int64)."""
        if len(self.cache) > self.max_cache_words:
            self._reset_cache()  # bounded memory; results do not depend on what is cached
        pieces, counts = self.pieces(texts)
        word_idx = self.word_indices(pieces)
        wlens = self.cache_len[word_idx]
        src = ragged_index(self.cache_off[:-1][word_idx], wlens)
        ids = to_host(self.cache_ids[self.xp.asarray(src)]) if src.size else np.zeros(0, dtype=np.int32)
        token_end = np.concatenate([[0], np.cumsum(wlens)])[np.cumsum(counts)]
        return ids, np.diff(token_end, prepend=0)
