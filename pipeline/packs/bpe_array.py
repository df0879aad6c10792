"""Byte-level BPE as an array program: the GPU encoder, written once against an array module (NumPy or CuPy).

Pipeline for a batch of documents (ids identical to HF ``tokenizers`` for the same tokenizer.json):
1. CPU (wordcache.py): split out added/special tokens, then the GPT-2 regex split (bytelevel.py). The regex stays
   on the CPU: it is branchy, variable-length work that a GPU does badly (~8 MB/s per core here, measured).
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
from types import ModuleType
from typing import Any

import numpy as np

from sovereign.pipeline.packs.bytelevel import ByteLevelBPE, bytes_to_unicode
from sovereign.pipeline.packs.errors import NoDevice
from sovereign.pipeline.packs.wordcache import WordCacheEncoder, ragged_index, to_host

INF_RANK = np.iinfo(np.int32).max


def array_module(device: str) -> ModuleType:
    """``numpy`` for "cpu"; ``cupy`` for "cuda" (raises NoDevice with one line if no usable GPU)."""
    if device == "cpu":
        return np
    try:
        import cupy

        cupy.cuda.runtime.getDeviceCount()
        cupy.zeros(1).sum()
    except Exception as exc:  # noqa: BLE001 - any import/driver failure means "no GPU here"
        raise NoDevice(f"device {device!r} needs CuPy and a CUDA GPU ({type(exc).__name__})") from None
    return cupy


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


class ArrayBPEEncoder(WordCacheEncoder):
    """Encode batches of documents to HF-identical ids with the array program (``xp`` = numpy or cupy); the split
    and the word cache are wordcache.WordCacheEncoder's."""

    def __init__(
        self,
        tok: ByteLevelBPE,
        xp: ModuleType = np,
        split_special: bool = True,
        long_word_bytes: int = 512,
        max_cache_words: int = 2_000_000,
    ) -> None:
        super().__init__(tok, xp, split_special, max_cache_words)
        self.long_word_bytes = long_word_bytes
        self.tables = {
            "keys": xp.asarray(tok.pair_keys),
            "rank": xp.asarray(tok.pair_rank),
            "new": xp.asarray(tok.pair_new),
            "byte_ids": xp.asarray(tok.byte_ids),
        }
        b2u = bytes_to_unicode()
        self._latin1_to_symbols = {b: b2u[b] for b in range(256)}  # for ignore_merges whole-word lookups

    def _encode_words(self, words: list[Any]) -> tuple[Any, np.ndarray]:
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
            lens[short_pos] = to_host(out_lens)
        others = [k for k, v in enumerate(ids) if v is not None]
        for k in others:
            lens[k] = len(ids[k])  # type: ignore[arg-type]
        # Assemble the words in index order: array-program words and host words interleaved.
        offs = np.zeros(len(words) + 1, dtype=np.int64)
        np.cumsum(lens, out=offs[1:])
        batch = xp.zeros(int(offs[-1]), dtype=xp.int32)
        if short:
            batch[xp.asarray(ragged_index(offs[short_pos], lens[short_pos]))] = flat
        if others:
            host = np.concatenate([np.asarray(ids[k], dtype=np.int32) for k in others])
            batch[xp.asarray(ragged_index(offs[others], lens[others]))] = xp.asarray(host)
        return batch, lens
