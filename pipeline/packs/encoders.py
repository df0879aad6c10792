"""Document encoders for packs; every one returns (ids int32 concatenated, token count per document int64) and all
give HF ``tokenizers``' ids for the same tokenizer.json (add_special_tokens=False).

- ``hf``: HF ``encode_batch_fast`` (Rust, all cores). The reference, and the fallback for any tokenizer.json that
  our split cannot reproduce.
- ``cpu``: ``HFWordEncoder``: our pre-token split + word cache (wordcache.py), HF's own BPE model for each new
  pre-token. 2-3x ``encode_batch``'s throughput per core (bench/tokenize_bench.py); pack.py runs it in a process
  pool over all cores.
- ``numpy`` / ``cuda``: the array-program BPE (bpe_array.py) on NumPy or CuPy.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from tokenizers import Tokenizer

from sovereign.pipeline.packs.bytelevel import bytes_to_unicode, parse_byte_level_bpe
from sovereign.pipeline.packs.errors import EncoderError, UnsupportedTokenizer
from sovereign.pipeline.packs.wordcache import WordCacheEncoder

DEVICES = ("cpu", "hf", "numpy", "cuda")


def _flat(lists: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    counts = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    ids = np.fromiter(itertools.chain.from_iterable(lists), dtype=np.int32, count=int(counts.sum()))
    return ids, counts


class HFEncoder:
    """HF tokenizers' ``encode_batch_fast`` (Rust, all cores, no offsets) and one flat id array."""

    def __init__(self, tokenizer_json: bytes, split_special: bool) -> None:
        self.tok = Tokenizer.from_str(tokenizer_json.decode("utf-8"))
        self.tok.encode_special_tokens = not split_special

    def encode_batch(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        return _flat([e.ids for e in self.tok.encode_batch_fast(texts, add_special_tokens=False)])


class HFWordEncoder(WordCacheEncoder):
    """Our split and word cache; each new pre-token goes through HF's BPE model (``Model.tokenize`` on its byte-level
    symbols: HF's own merge code, ignore_merges included; 2x faster than our array program on NumPy, measured)."""

    def __init__(self, tokenizer_json: bytes, split_special: bool, max_cache_words: int = 500_000) -> None:
        try:
            spec = parse_byte_level_bpe(tokenizer_json)
        except UnsupportedTokenizer as exc:
            raise EncoderError(str(exc)) from None
        super().__init__(spec, np, split_special, max_cache_words)
        self.model = Tokenizer.from_str(tokenizer_json.decode("utf-8")).model
        b2u = bytes_to_unicode()
        self.symbols = {b: b2u[b] for b in range(256)}  # str.translate table: latin-1 char (= byte) -> symbol

    def _encode_words(self, words: list[Any]) -> tuple[np.ndarray, np.ndarray]:
        tokenize, symbols = self.model.tokenize, self.symbols
        out = []
        for w in words:
            if isinstance(w, tuple):  # ("special", id): an added token split out of the text
                out.append([w[1]])
            else:
                out.append([t.id for t in tokenize(w.encode("utf-8").decode("latin-1").translate(symbols))])
        return _flat(out)


def make_encoder(tokenizer_json: bytes, device: str, split_special: bool) -> Any:
    """An encoder for ``device`` (see DEVICES); EncoderError when ours cannot reproduce this tokenizer.json,
    NoDevice (one line) when ``cuda`` has no GPU."""
    if device == "hf":
        return HFEncoder(tokenizer_json, split_special)
    if device == "cpu":
        return HFWordEncoder(tokenizer_json, split_special)
    from sovereign.pipeline.packs.bpe_array import ArrayBPEEncoder, array_module

    xp = array_module("cpu" if device == "numpy" else device)
    try:
        spec = parse_byte_level_bpe(tokenizer_json)
    except UnsupportedTokenizer as exc:
        raise EncoderError(str(exc)) from None
    return ArrayBPEEncoder(spec, xp=xp, split_special=split_special)
