"""A small fake run of real multilingual text (written from ../shared), its trained tokenizer (module fixtures), and
an independent reader of Megatron packs: shared by tests/test_packs.py and tests/test_packs_release.py."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from sovereign.pipeline.packs.cli import tokenizer
from sovereign.pipeline.schema import document_id
from tests.helpers.shared import shared_path
from tests.helpers.texts import hard_texts, real_texts

# The shard columns a pack reads (a real shard has more; packs never read them).
SHARD_COLUMNS = pa.schema([("id", pa.string()), ("text", pa.string()), ("language", pa.string())])
DTYPES = {1: np.uint8, 2: np.int8, 3: np.int16, 4: np.int32, 5: np.int64, 6: np.float64, 7: np.float32, 8: np.uint16}


def read_megatron(prefix: Path) -> list[np.ndarray]:
    """Independent reader, from the layout: magic, <Q version, <B dtype, <Q sequences, <Q documents(+1), int32
    lengths, int64 byte pointers, int64 document indices; .bin = the tokens."""
    raw = (prefix.parent / (prefix.name + ".idx")).read_bytes()
    assert raw[:9] == b"MMIDIDX\x00\x00"
    version, code, n_seq, n_doc = struct.unpack("<QBQQ", raw[9:34])
    assert version == 1
    lengths = np.frombuffer(raw, "<i4", n_seq, 34)
    pointers = np.frombuffer(raw, "<i8", n_seq, 34 + 4 * n_seq)
    docs = np.frombuffer(raw, "<i8", n_doc, 34 + 12 * n_seq)
    assert np.array_equal(docs, np.arange(n_seq + 1))
    dtype = np.dtype(DTYPES[code])
    data = np.memmap(prefix.parent / (prefix.name + ".bin"), dtype=dtype, mode="r")
    return [
        np.array(data[p // dtype.itemsize : p // dtype.itemsize + n]) for p, n in zip(pointers, lengths, strict=True)
    ]


def _language_docs() -> dict[str, list[str]]:
    texts = real_texts()
    samples = json.loads(shared_path("conformance", "resiliparse-lang-samples", "samples.json").read_text())
    docs: dict[str, list[str]] = {s["lang"]: [s["text"]] for s in samples}
    docs["de"] = texts[16:60]
    docs["en"] = texts[-600:-300][:150]
    docs["fr"] = texts[-300:][:150]
    docs["el"] = docs["el"] + [t for t in hard_texts() if any("\u0370" <= ch <= "\u03ff" for ch in t)]
    docs["xx"] = hard_texts()[:40]  # emoji, U+FFFD, long words, whitespace runs, <|endoftext|> inside text
    return docs


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("run")
    for lang, texts in _language_docs().items():
        rows = sorted(
            ({"id": document_id(f"{lang}:{i}"), "text": t} for i, t in enumerate(texts)), key=lambda r: r["id"]
        )
        parts = [rows[: len(rows) // 2], rows[len(rows) // 2 :]] if len(rows) > 20 else [rows]
        for k, part in enumerate(parts):
            cols = {"id": [r["id"] for r in part], "text": [r["text"] for r in part], "language": [lang] * len(part)}
            out = run / "shards" / f"lang={lang}" / f"part-{k:05d}.parquet"
            out.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(pa.table(cols, schema=SHARD_COLUMNS), out, compression="zstd")
    (run / "run.json").write_text(json.dumps({"root_hash": "ab" * 32}))
    return run


@pytest.fixture(scope="module")
def tokenizer_file(run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    result = CliRunner().invoke(tokenizer, ["train", str(run_dir), "--vocab-size", "1200", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def pack_files(root: Path) -> dict[str, bytes]:
    """Every file under a pack folder, by relative path."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
