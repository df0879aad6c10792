"""Our encoders must give exactly HF tokenizers' ids: the array-program BPE (pipeline/packs/bpe_array.py) on NumPy
and the CPU path's word-cache encoder with HF's BPE model (pipeline/packs/encoders.py), which share the split.

Real multilingual text from ../shared (EU public-sector laws in en/fr/de/et/fi, Wikipedia paragraphs in 16
languages incl. Greek and Cyrillic) plus generated hard cases: emoji and ZWJ sequences, U+FFFD from invalid UTF-8,
very long words (array path and the long-word heap path), whitespace runs of every Unicode space, contractions.
The same array program runs on CuPy when a GPU is present (a test below, skipped otherwise).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer

from sovereign.pipeline.packs.bpe_array import ArrayBPEEncoder, heap_bpe, merge_words
from sovereign.pipeline.packs.bytelevel import (
    UnsupportedTokenizer,
    bytes_to_unicode,
    gpt2_split_regex,
    load_byte_level_bpe,
)
from sovereign.pipeline.packs.encoders import EncoderError, HFWordEncoder
from sovereign.pipeline.packs.errors import NoDevice
from sovereign.pipeline.packs.train import EOD_TOKEN, new_tokenizer
from tests.helpers.texts import hard_texts, real_texts


@pytest.fixture(scope="module")
def tokenizer_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tokenizers import pre_tokenizers, trainers

    tok = new_tokenizer()
    trainer = trainers.BpeTrainer(
        vocab_size=3000,
        special_tokens=[EOD_TOKEN],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(real_texts() + hard_texts(seed=1), trainer=trainer)
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    tok.save(str(path))
    return path


def _variant(base: Path, tmp: Path, **changes: object) -> Path:
    spec = json.loads(base.read_text())
    for dotted, value in changes.items():
        node = spec
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node[key]
        node[leaf] = value
    out = tmp / "variant.json"
    out.write_text(json.dumps(spec))
    return out


def _hf_ids(path: Path, texts: list[str], split_special: bool) -> tuple[np.ndarray, np.ndarray]:
    hf = Tokenizer.from_file(str(path))
    hf.encode_special_tokens = not split_special
    encs = hf.encode_batch(texts, add_special_tokens=False)
    ids = np.concatenate([np.asarray(e.ids, dtype=np.int32) for e in encs])
    return ids, np.array([len(e.ids) for e in encs], dtype=np.int64)


ENCODERS = {
    "array": lambda path, split_special: ArrayBPEEncoder(load_byte_level_bpe(path), split_special=split_special),
    "hf_word": lambda path, split_special: HFWordEncoder(path.read_bytes(), split_special),
}


def _assert_identical(path: Path, texts: list[str], split_special: bool, kind: str, batch: int = 64) -> None:
    enc = ENCODERS[kind](path, split_special)
    want_ids, want_counts = _hf_ids(path, texts, split_special)
    got_ids, got_counts = [], []
    for i in range(0, len(texts), batch):  # several batches: the word cache carries over between them
        ids, counts = enc.encode_batch(texts[i : i + batch])
        got_ids.append(ids)
        got_counts.append(counts)
    got, counts = np.concatenate(got_ids), np.concatenate(got_counts)
    bad = np.flatnonzero(counts != want_counts)
    assert bad.size == 0, f"token counts differ for documents {bad[:10].tolist()}"
    assert np.array_equal(got, want_ids)


@pytest.mark.parametrize("kind", list(ENCODERS))
@pytest.mark.parametrize("split_special", [False, True])
def test_identical_to_hf_on_real_and_hard_text(tokenizer_path: Path, split_special: bool, kind: str) -> None:
    _assert_identical(tokenizer_path, real_texts() + hard_texts(), split_special, kind)


@pytest.mark.parametrize(
    "changes",
    [
        {"pre_tokenizer.add_prefix_space": True},
        {"model.ignore_merges": True},
        {"pre_tokenizer.use_regex": False},
    ],
    ids=["add_prefix_space", "ignore_merges", "no_regex"],
)
@pytest.mark.parametrize("kind", list(ENCODERS))
def test_identical_to_hf_for_byte_level_variants(
    tokenizer_path: Path, tmp_path: Path, changes: dict, kind: str
) -> None:
    path = _variant(tokenizer_path, tmp_path, **changes)
    texts = ["", " ", "x"] + [t[:2000] for t in real_texts()[:60]] + hard_texts()[:120]
    _assert_identical(path, texts, split_special=True, kind=kind)


def test_split_regex_matches_hf_on_every_code_point() -> None:
    """Our Unicode 16.0 classes vs tokenizers' Oniguruma: every code point, in a context that exercises each branch
    (letter/number/other runs, a space before, repeats, a contraction, a newline), on both split paths."""
    from tokenizers import pre_tokenizers

    hf = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    splitter = gpt2_split_regex()
    table = str.maketrans({b: c for b, c in bytes_to_unicode().items()})
    code_points = [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]
    plain = [c for c in map(chr, code_points) if c not in splitter.differ]
    special = [c for c in map(chr, code_points) if c in splitter.differ]
    paths = [(plain, [splitter.exact] + ([splitter.fast] if splitter.fast else [])), (special, [splitter.exact])]
    for chars, patterns in paths:
        for i in range(0, len(chars), 32768):
            s = "".join(f" {c}{c}a'{c}1\n" for c in chars[i : i + 32768])
            theirs = [piece for piece, _ in hf.pre_tokenize_str(s)]
            for pattern in patterns:
                mine = [m.encode("utf-8").decode("latin-1").translate(table) for m in pattern.findall(s)]
                assert mine == theirs, f"split differs near U+{ord(chars[i]):04X} ({pattern.pattern[:20]}...)"


def test_array_merge_equals_heap_per_word(tokenizer_path: Path) -> None:
    tok = load_byte_level_bpe(tokenizer_path)
    rng = random.Random(3)
    words = [w.encode() for w in hard_texts()[:40] if w] + [bytes(rng.choice(b"abcab") for _ in range(300))]
    data = np.frombuffer(b"".join(words), dtype=np.uint8)
    lens = np.array([len(w) for w in words], dtype=np.int64)
    tables = {"keys": tok.pair_keys, "rank": tok.pair_rank, "new": tok.pair_new, "byte_ids": tok.byte_ids}
    flat, out_lens = merge_words(np, tok, data, lens, tables)
    pieces = np.split(flat, np.cumsum(out_lens)[:-1])
    for word, got in zip(words, pieces, strict=True):
        assert got.tolist() == heap_bpe(tok, word)


def test_refuses_what_it_cannot_reproduce(tokenizer_path: Path, tmp_path: Path) -> None:
    with pytest.raises(UnsupportedTokenizer, match="normalizer"):
        load_byte_level_bpe(_variant(tokenizer_path, tmp_path, normalizer={"type": "NFC"}))
    with pytest.raises(UnsupportedTokenizer, match="dropout"):
        load_byte_level_bpe(_variant(tokenizer_path, tmp_path, **{"model.dropout": 0.1}))
    with pytest.raises(EncoderError, match="normalizer"):  # the CPU path then falls back to HF encode_batch
        HFWordEncoder(_variant(tokenizer_path, tmp_path, normalizer={"type": "NFC"}).read_bytes(), False)
    spec = json.loads(tokenizer_path.read_text())
    spec["model"]["merges"] = spec["model"]["merges"][::-1]  # later merges first: not in training order
    (tmp_path / "rev.json").write_text(json.dumps(spec))
    with pytest.raises(UnsupportedTokenizer):
        load_byte_level_bpe(tmp_path / "rev.json")


def test_same_program_on_cupy_when_a_gpu_is_present(tokenizer_path: Path) -> None:
    from sovereign.pipeline.packs.bpe_array import array_module

    try:
        cupy = array_module("cuda")
    except NoDevice as exc:
        pytest.skip(f"no GPU here: {exc}")
    texts = real_texts()[:100] + hard_texts()
    enc = ArrayBPEEncoder(load_byte_level_bpe(tokenizer_path), xp=cupy, split_special=False)
    ids, counts = enc.encode_batch(texts)
    want_ids, want_counts = _hf_ids(tokenizer_path, texts, split_special=False)
    assert np.array_equal(counts, want_counts) and np.array_equal(ids, want_ids)
