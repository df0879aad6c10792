"""Byte-level BPE as an array program: the GPU encoder, written once against an array module (NumPy or CuPy).

Pipeline for a batch of documents (ids identical to HF ``tokenizers`` for the same tokenizer.json):
1. CPU: split out added/special tokens, then the GPT-2 regex split (bytelevel.py). The regex stays on the CPU: it
   is branchy, variable-length work that a GPU does badly, and at ~15-20 MB/s per core it is not the bottleneck.
   Pre-tokens are deduplicated there too (a dict of strings the regex already produced), and a word cache persists
   across batches, so the device only ever sees *distinct, new* words.
2. Device: all new words of the batch as one flat symbol array; each round finds, for every word at once, its
   lowest-rank adjacent pair (sorted-key lookup + segmented min) and merges every occurrence of that pair, left to
   right without overlap; finished words leave the active set. Same result as HF's per-word heap as long as merges
   are in training order (checked on load).
3. Device: a ragged gather turns each document's word indices into its token ids; one copy back to the host.

Words longer than ``long_word_bytes`` take a per-word heap on the host (exactly HF's algorithm): one 100 KB word
would otherwise cost tens of thousands of rounds over the whole active set.
"""

from __future__ import annotations

import heapq
import re
from types import ModuleType
from typing import Any

import numpy as np

from pipeline.packs.bytelevel import ByteLevelBPE, bytes_to_unicode, gpt2_split_regex

INF_RANK = np.iinfo(np.int32).max


def array_module(device: str) -> ModuleType:
    """``numpy`` for "cpu"; ``cupy`` for "cuda" (raises RuntimeError with one line if no usable GPU)."""
    if device == "cpu":
        return np
    try:
        import cupy

        cupy.cuda.runtime.getDeviceCount()
        cupy.zeros(1).sum()
    except Exception as exc:  # noqa: BLE001 - any import/driver failure means "no GPU here"
        raise RuntimeError(f"device {device!r} needs CuPy and a CUDA GPU ({type(exc).__name__})") from None
    return cupy


def _to_host(x: Any) -> np.ndarray:
    return x.get() if hasattr(x, "get") else np.asarray(x)


def _segment_min(xp: ModuleType, values: Any, starts: Any, seg: Any, nseg: int) -> Any:
    """Minimum of ``values`` over contiguous segments beginning at ``starts`` (``seg``: segment of each value)."""
    if xp is np:
        return np.minimum.reduceat(values, starts)
    import cupyx  # CuPy has no ufunc.reduceat; scatter_min is its segmented-min primitive

    out = xp.full(nseg, INF_RANK, dtype=values.dtype)
    cupyx.scatter_min(out, seg, values)
    return out


def _segment_starts(xp: ModuleType, wid: Any) -> tuple[Any, Any]:
    """For a non-decreasing word-index array: start index of each run, and each element's run number."""
    n = wid.shape[0]
    is_start = xp.ones(n, dtype=bool)
    is_start[1:] = wid[1:] != wid[:-1]
    return xp.flatnonzero(is_start), xp.cumsum(is_start) - 1


def merge_words(xp: ModuleType, tok: ByteLevelBPE, data: Any, word_lens: Any, tables: dict[str, Any]) -> Any:
    """BPE every word at once. ``data``: uint8 bytes of all words concatenated; ``word_lens``: int64 per word (>0).
    Returns (ids int32, out_lens int64) on the array module's device, words in input order."""
    n_words = int(word_lens.shape[0])
    if n_words == 0:
        return xp.zeros(0, dtype=xp.int32), xp.zeros(0, dtype=xp.int64)
    keys_t, rank_t, new_t, vsize = tables["keys"], tables["rank"], tables["new"], tok.vocab_size
    sym = tables["byte_ids"][data]
    wid = xp.repeat(xp.arange(n_words, dtype=xp.int64), word_lens)
    done_wid, done_sym = [], []
    while sym.shape[0]:
        n = sym.shape[0]
        pair_keys = sym[:-1].astype(xp.int64) * vsize + sym[1:]
        pos = xp.minimum(xp.searchsorted(keys_t, pair_keys), keys_t.shape[0] - 1)
        hit = (keys_t[pos] == pair_keys) & (wid[:-1] == wid[1:])
        rank = xp.full(n, INF_RANK, dtype=xp.int32)  # rank[i]: pair (i, i+1); a word's last symbol has none
        rank[:-1] = xp.where(hit, rank_t[pos], INF_RANK)
        starts, seg = _segment_starts(xp, wid)
        best = _segment_min(xp, rank, starts, seg, int(starts.shape[0]))[seg]
        finished = best == INF_RANK
        done_wid.append(wid[finished])
        done_sym.append(sym[finished])
        cand = (rank == best) & ~finished
        # Equal-rank candidates in one word are the same pair; they overlap only for runs like "aaaa" (pair a,a),
        # where HF merges leftmost first: keep even offsets within each run of consecutive candidates.
        idx = xp.arange(n, dtype=xp.int64)
        run_id = xp.cumsum(~cand)  # constant along a run of candidates, distinct between runs
        run_start = cand.copy()
        run_start[1:] &= ~cand[:-1]
        first = xp.zeros(n + 1, dtype=xp.int64)
        first[run_id[run_start]] = idx[run_start]
        sel = cand & ((idx - first[run_id]) % 2 == 0)
        sel_idx = xp.flatnonzero(sel)
        sym[sel_idx] = new_t[pos[sel_idx]]
        keep = ~finished
        keep[sel_idx + 1] = False
        sym, wid = sym[keep], wid[keep]
    all_wid, all_sym = xp.concatenate(done_wid), xp.concatenate(done_sym)
    # Each word finished in one round, its symbols contiguous and in order: sort by (word, position in word).
    starts, seg = _segment_starts(xp, all_wid)
    within = xp.arange(all_wid.shape[0], dtype=xp.int64) - starts[seg]
    order = xp.argsort(all_wid * (int(word_lens.max()) + 1) + within)
    return all_sym[order], xp.bincount(all_wid, minlength=n_words).astype(xp.int64)


def heap_bpe(tok: ByteLevelBPE, word: bytes) -> list[int]:
    """One word, HF's algorithm (min-heap on (rank, position), stale entries skipped): O(n log n) for long words."""
    syms = [int(tok.byte_ids[b]) for b in word]
    n = len(syms)
    prev, nxt, alive = list(range(-1, n - 1)), list(range(1, n + 1)), [True] * n
    nxt[-1] = -1
    merges = tok.merges
    heap = []
    for i in range(n - 1):
        hit = merges.get((syms[i], syms[i + 1]))
        if hit is not None:
            heap.append((hit[0], i, syms[i], syms[i + 1]))
    heapq.heapify(heap)
    while heap:
        rank, i, left, right = heapq.heappop(heap)
        j = nxt[i]
        if not alive[i] or j < 0 or syms[i] != left or syms[j] != right:
            continue  # stale: a neighbour was merged since this entry was pushed
        syms[i] = merges[(left, right)][1]
        alive[j] = False
        nxt[i] = nxt[j]
        if nxt[j] >= 0:
            prev[nxt[j]] = i
        for a in (prev[i], i):
            if a >= 0 and nxt[a] >= 0:
                hit = merges.get((syms[a], syms[nxt[a]]))
                if hit is not None:
                    heapq.heappush(heap, (hit[0], a, syms[a], syms[nxt[a]]))
    return [s for s, ok in zip(syms, alive, strict=True) if ok]


class ArrayBPEEncoder:
    """Encode batches of documents to HF-identical ids with the array program (``xp`` = numpy or cupy).

    ``split_special=False`` treats added tokens' text as ordinary text (HF: ``tokenizer.encode_special_tokens =
    True``), so a document cannot forge an end-of-document token; True is HF's default behaviour."""

    def __init__(
        self,
        tok: ByteLevelBPE,
        xp: ModuleType = np,
        split_special: bool = True,
        long_word_bytes: int = 512,
        max_cache_words: int = 2_000_000,
    ) -> None:
        self.tok, self.xp, self.long_word_bytes, self.max_cache_words = tok, xp, long_word_bytes, max_cache_words
        self.split_re = gpt2_split_regex()
        splitters = sorted(
            (c for c in tok.special if split_special or not tok.special_flags[c]), key=lambda c: (-len(c), c)
        )
        # Longest first at the leftmost position = HF's leftmost-longest added-token matching.
        self.special_re = re.compile("(" + "|".join(map(re.escape, splitters)) + ")") if splitters else None
        self.tables = {
            "keys": xp.asarray(tok.pair_keys),
            "rank": xp.asarray(tok.pair_rank),
            "new": xp.asarray(tok.pair_new),
            "byte_ids": xp.asarray(tok.byte_ids),
        }
        b2u = bytes_to_unicode()
        self._latin1_to_symbols = {b: b2u[b] for b in range(256)}  # for ignore_merges whole-word lookups
        self._reset_cache()

    def _reset_cache(self) -> None:
        self.cache: dict[Any, int] = {}  # pre-token (str) or ("special", id) -> word index
        self.cache_ids = self.xp.zeros(1024, dtype=self.xp.int32)  # all cached words' ids, concatenated
        self.cache_off = np.zeros(1, dtype=np.int64)  # host copies of offsets/lengths, grown per batch
        self.cache_len = np.zeros(0, dtype=np.int64)

    def _segments(self, text: str) -> list[tuple[bool, str]]:
        if self.special_re is None:
            return [(False, text)]
        parts = self.special_re.split(text)
        return [(i % 2 == 1, p) for i, p in enumerate(parts) if p]

    def _words(self, texts: list[str]) -> tuple[list[list[int]], list[Any]]:
        """Word indices per document; new words (not cached yet) get fresh indices in order of first sight."""
        cache, new = self.cache, []
        base = len(cache)
        findall, prefix = self.split_re.findall, self.tok.add_prefix_space
        docs = []
        for text in texts:
            out: list[int] = []
            for is_special, seg in self._segments(text):
                if is_special:
                    pieces: list[Any] = [("special", self.tok.special[seg])]
                else:
                    if prefix and not seg.startswith(" "):
                        seg = " " + seg
                    pieces = findall(seg) if self.tok.use_regex else [seg]
                for p in pieces:
                    i = cache.get(p)
                    if i is None:
                        i = cache[p] = base + len(new)
                        new.append(p)
                    out.append(i)
            docs.append(out)
        return docs, new

    def _encode_new(self, words: list[Any]) -> None:
        xp, tok = self.xp, self.tok
        ids: list[list[int] | None] = [None] * len(words)
        short, short_pos = [], []
        for k, w in enumerate(words):
            if isinstance(w, tuple):
                ids[k] = [w[1]]
                continue
            raw = w.encode("utf-8")
            if tok.ignore_merges:
                whole = tok.vocab.get(raw.decode("latin-1").translate(self._latin1_to_symbols))
                if whole is not None:
                    ids[k] = [whole]
                    continue
            if len(raw) > self.long_word_bytes:
                ids[k] = heap_bpe(tok, raw)
            else:
                short.append(raw)
                short_pos.append(k)
        lens = np.zeros(len(words), dtype=np.int64)
        if short:
            data = xp.asarray(np.frombuffer(b"".join(short), dtype=np.uint8))
            word_lens = xp.asarray(np.fromiter(map(len, short), dtype=np.int64, count=len(short)))
            flat, out_lens = merge_words(xp, tok, data, word_lens, self.tables)
            lens[short_pos] = _to_host(out_lens)
        others = [k for k, v in enumerate(ids) if v is not None]
        for k in others:
            lens[k] = len(ids[k])  # type: ignore[arg-type]
        # Assemble this batch's words in index order: array-program words and host words interleaved.
        offs = np.zeros(len(words) + 1, dtype=np.int64)
        np.cumsum(lens, out=offs[1:])
        batch = xp.zeros(int(offs[-1]), dtype=xp.int32)
        if short:
            dst = xp.asarray(_ragged_index(offs[short_pos], lens[short_pos]))
            batch[dst] = flat
        if others:
            host = np.concatenate([np.asarray(ids[k], dtype=np.int32) for k in others])
            batch[xp.asarray(_ragged_index(offs[others], lens[others]))] = xp.asarray(host)
        self._append_cache(batch, lens)

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
        docs, new = self._words(texts)
        if new:
            self._encode_new(new)
        counts = np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))
        word_idx = np.fromiter((i for d in docs for i in d), dtype=np.int64, count=int(counts.sum()))
        wlens = self.cache_len[word_idx]
        src = self.xp.asarray(_ragged_index(self.cache_off[:-1][word_idx], wlens))
        ids = _to_host(self.cache_ids[src])
        token_end = np.concatenate([[0], np.cumsum(wlens)])[np.cumsum(counts)]
        return ids, np.diff(token_end, prepend=0)


def _ragged_index(starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + n)`` for each (s, n), vectorised (host side; sizes known there)."""
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    out_start = np.cumsum(lens) - lens
    return np.repeat(starts - out_start, lens) + np.arange(total, dtype=np.int64)
