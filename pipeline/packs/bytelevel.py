"""What an HF byte-level BPE ``tokenizer.json`` means, read into plain arrays: vocabulary, merges by rank, special
tokens, and the GPT-2 split regex with the byte-to-unicode map. Used by the array-program encoder (bpe_array.py).

Only configurations whose output we reproduce exactly are accepted; anything else raises ``UnsupportedTokenizer``
with one line saying which field, so a pack never silently differs from HF ``tokenizers``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sovereign.pipeline.packs import _uclasses
from sovereign.pipeline.packs.errors import UnsupportedTokenizer


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character map, as HF's ByteLevel pre-tokenizer uses it."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(printable, chars, strict=True)}


def _ranges(table: str) -> list[tuple[int, int]]:
    return [tuple(int(x, 16) for x in item.split("-")) for item in table.split()]  # type: ignore[misc]


def _spell(ranges: list[tuple[int, int]], escape) -> str:  # noqa: ANN001 - re.escape or regex.escape
    return "".join(escape(chr(a)) if a == b else f"{escape(chr(a))}-{escape(chr(b))}" for a, b in ranges)


def _to_ranges(cps: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for cp in sorted(cps):
        if out and out[-1][1] == cp - 1:
            out[-1] = (out[-1][0], cp)
        else:
            out.append((cp, cp))
    return out


GPT2_PATTERN = r"'s|'t|'re|'ve|'m|'ll|'d| ?[{L}]+| ?[{N}]+| ?[^{S}{L}{N}]+|[{S}]+(?![^{S}])|[{S}]+"


class GPT2Splitter:
    """HF ByteLevel's split ``'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+``
    with Unicode 16.0 classes, as tokenizers' Oniguruma has them: stdlib ``re`` and the ``regex`` module use other
    Unicode versions and split ~28k code points differently (see gen_uclasses.py).

    ``exact``: the classes spelled out for stdlib ``re`` (always right, ~3 MB/s per core here). ``fast``: the
    ``regex`` module's own ``\\p{L}``/``\\p{N}``/``\\s`` (2.5x faster, measured), used only for texts that contain
    none of the code points on which its classes differ from 16.0 (``differ``; one set test decides)."""

    def __init__(self) -> None:
        tables = {"L": _uclasses.LETTER, "N": _uclasses.NUMBER, "S": _uclasses.WHITE_SPACE}
        ranges = {k: _ranges(v) for k, v in tables.items()}
        self.exact = re.compile(GPT2_PATTERN.format(**{k: _spell(v, re.escape) for k, v in ranges.items()}))
        self.fast: Any = None
        self.differ: frozenset[str] = frozenset()  # characters the fast path classifies differently
        self.differ_mask = np.zeros(0x110000, dtype=bool)  # the same, indexed by code point
        self.ascii_differs = False
        try:
            import regex
        except ImportError:
            return
        # Every scalar value as one string, classified by regex in one pass per class (numpy masks: 0.05 s; a Python
        # set per class took 1.2 s, paid again by every worker process of the CPU path).
        cps = np.concatenate([np.arange(0xD800), np.arange(0xE000, 0x110000)]).astype(np.uint32)
        everything = cps.tobytes().decode("utf-32-le")
        differ = np.zeros(0x110000, dtype=bool)
        for key, prop in (("L", r"\p{L}"), ("N", r"\p{N}"), ("S", r"\s")):
            want = np.zeros(0x110000, dtype=bool)
            for a, b in ranges[key]:
                want[a : b + 1] = True
            got = np.zeros(0x110000, dtype=bool)
            got[cps] = np.frombuffer(regex.sub(prop, "\x00", everything).encode("utf-32-le"), dtype=np.uint32) == 0
            got[0] = regex.match(prop, "\x00") is not None  # NUL is the marker: classify it on its own
            differ |= want ^ got
        self.fast = regex.compile(GPT2_PATTERN.format(L=r"\p{L}", N=r"\p{N}", S=r"\s"))
        self.differ = frozenset(map(chr, np.flatnonzero(differ).tolist()))
        self.differ_mask = differ
        self.ascii_differs = bool(differ[:128].any())

    def findall(self, text: str) -> list[str]:
        if self.fast is None or ((self.ascii_differs or not text.isascii()) and self.needs_exact(text)):
            return self.exact.findall(text)
        return self.fast.findall(text)

    def needs_exact(self, text: str) -> bool:
        # A table lookup per code point: 5x faster than frozenset.isdisjoint and 30x faster than a character-class
        # search (measured on multilingual text).
        return bool(self.differ_mask[np.frombuffer(text.encode("utf-32-le", "surrogatepass"), np.uint32)].any())


@functools.cache
def gpt2_split_regex() -> GPT2Splitter:
    return GPT2Splitter()


@dataclass(frozen=True)
class ByteLevelBPE:
    """The parts of a byte-level BPE tokenizer.json that decide its ids."""

    sha256: str
    vocab: dict[str, int]
    vocab_size: int  # max id + 1 (added tokens included)
    byte_ids: np.ndarray  # int32[256]: id of each single byte's symbol
    pair_keys: np.ndarray  # int64[M], sorted: left_id * vocab_size + right_id
    pair_rank: np.ndarray  # int32[M]: merge rank (position in the merges list), aligned with pair_keys
    pair_new: np.ndarray  # int32[M]: id of the merged symbol, aligned with pair_keys
    merges: dict[tuple[int, int], tuple[int, int]]  # (left, right) -> (rank, new id), for the long-word path
    special: dict[str, int]  # added tokens split out of the text before pre-tokenisation
    special_flags: dict[str, bool]  # content -> is a "special" token (kept whole only when split_special)
    add_prefix_space: bool
    use_regex: bool
    ignore_merges: bool


def _get(node: dict[str, Any] | None, key: str, default: Any = None) -> Any:
    return default if node is None else node.get(key, default)


def _byte_level_node(pre: dict[str, Any] | None) -> dict[str, Any]:
    if _get(pre, "type") == "ByteLevel":
        return pre  # type: ignore[return-value]
    if _get(pre, "type") == "Sequence" and len(pre["pretokenizers"]) == 1:  # type: ignore[index]
        return _byte_level_node(pre["pretokenizers"][0])  # type: ignore[index]
    raise UnsupportedTokenizer(f"pre_tokenizer must be ByteLevel, found {_get(pre, 'type')!r}")


def load_byte_level_bpe(path: str | Path) -> ByteLevelBPE:
    return parse_byte_level_bpe(Path(path).read_bytes())


def parse_byte_level_bpe(raw: bytes) -> ByteLevelBPE:
    """The ``tokenizer.json`` bytes, read; raises ``UnsupportedTokenizer`` for what we do not reproduce exactly."""
    spec = json.loads(raw)
    model = spec.get("model") or {}
    if model.get("type") != "BPE":
        raise UnsupportedTokenizer(f"model.type must be BPE, found {model.get('type')!r}")
    if spec.get("normalizer") is not None:
        raise UnsupportedTokenizer(f"normalizer must be null, found {spec['normalizer'].get('type')!r}")
    for key, ok in (("dropout", None), ("continuing_subword_prefix", None), ("end_of_word_suffix", None)):
        if model.get(key) not in (ok, ""):
            raise UnsupportedTokenizer(f"model.{key} must be null, found {model.get(key)!r}")
    if model.get("byte_fallback"):
        raise UnsupportedTokenizer("model.byte_fallback must be false")
    pre = _byte_level_node(spec.get("pre_tokenizer"))

    vocab: dict[str, int] = dict(model["vocab"])
    added = spec.get("added_tokens") or []
    for tok in added:
        if tok.get("single_word") or tok.get("lstrip") or tok.get("rstrip"):
            raise UnsupportedTokenizer("added tokens with single_word/lstrip/rstrip are not supported")
        vocab.setdefault(tok["content"], tok["id"])
    vocab_size = max(vocab.values()) + 1

    b2u = bytes_to_unicode()
    missing = [b for b in range(256) if b2u[b] not in vocab]
    if missing:
        raise UnsupportedTokenizer(f"{len(missing)} byte symbols missing from the vocabulary (no ByteLevel alphabet)")
    byte_ids = np.array([vocab[b2u[b]] for b in range(256)], dtype=np.int32)

    merges: dict[tuple[int, int], tuple[int, int]] = {}
    created_at = np.full(vocab_size, -1, dtype=np.int64)
    lefts, rights, news = [], [], []
    for rank, item in enumerate(model.get("merges") or []):
        a, b = item.split(" ", 1) if isinstance(item, str) else item
        try:
            pair, new = (vocab[a], vocab[b]), vocab[a + b]
        except KeyError:
            raise UnsupportedTokenizer(f"merge {rank} uses a symbol missing from the vocabulary") from None
        if pair in merges:
            raise UnsupportedTokenizer(f"merge {rank} repeats an earlier pair")
        merges[pair] = (rank, new)
        lefts.append(pair[0])
        rights.append(pair[1])
        news.append(new)
        if created_at[new] < 0:
            created_at[new] = rank
    left, right, new_ids = (np.array(x, dtype=np.int64) for x in (lefts, rights, news))
    ranks = np.arange(len(news), dtype=np.int64)
    # Merging every occurrence of a word's lowest-rank pair at once equals HF's one-at-a-time heap only when no merge
    # uses a symbol that a later merge creates (true of every trained BPE); refuse a tokenizer.json that breaks this.
    if len(news) and (np.any(created_at[left] >= ranks) or np.any(created_at[right] >= ranks)):
        raise UnsupportedTokenizer("merges are not in training order (a merge uses a symbol created later)")

    keys = left * vocab_size + right
    order = np.argsort(keys, kind="stable")
    split_special = {t["content"]: t["id"] for t in added}
    return ByteLevelBPE(
        sha256=hashlib.sha256(raw).hexdigest(),
        vocab=vocab,
        vocab_size=vocab_size,
        byte_ids=byte_ids,
        pair_keys=keys[order],
        pair_rank=ranks[order].astype(np.int32),
        pair_new=new_ids[order].astype(np.int32),
        merges=merges,
        special=split_special,
        special_flags={t["content"]: bool(t.get("special")) for t in added},
        add_prefix_space=bool(pre.get("add_prefix_space", False)),
        use_regex=bool(pre.get("use_regex", True)),
        ignore_merges=bool(model.get("ignore_merges", False)),
    )
