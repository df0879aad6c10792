"""Megatron-LM indexed datasets (``megatron/core/datasets/indexed_dataset.py``): a ``.bin`` of concatenated token
arrays and an ``.idx`` index. Layout (little-endian): ``MMIDIDX\\x00\\x00``, version <Q = 1, dtype code <B,
sequence count <Q, document count <Q (= len(document_indices), i.e. documents + 1, as Megatron writes it),
then sequence lengths int32[n], sequence byte pointers int64[n], document indices int64[docs + 1].
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

MAGIC = b"MMIDIDX\x00\x00"
VERSION = 1
HEADER_BYTES = len(MAGIC) + 8 + 1 + 8 + 8  # 34
DTYPE_CODES: dict[int, type[np.generic]] = {
    1: np.uint8,
    2: np.int8,
    3: np.int16,
    4: np.int32,
    5: np.int64,
    6: np.float64,
    7: np.float32,
    8: np.uint16,
}
CODE_OF = {np.dtype(v): k for k, v in DTYPE_CODES.items()}


def token_dtype(vocab_size: int) -> np.dtype:
    """Megatron's ``DType.optimal_dtype``: uint16 below 65,500 symbols, else int32."""
    return np.dtype(np.uint16) if vocab_size < 65500 else np.dtype(np.int32)


class BinWriter:
    """Streams token sequences into ``.bin`` (hashing as it goes) and builds the ``.idx`` bytes at the end."""

    def __init__(self, stream: BinaryIO, dtype: np.dtype) -> None:
        self.stream, self.dtype = stream, np.dtype(dtype)
        self.sha = hashlib.sha256()
        self.lengths: list[np.ndarray] = []
        self.tokens = 0

    def add(self, ids: np.ndarray, lengths: np.ndarray) -> None:
        """Append several sequences: ``ids`` concatenated, ``lengths`` one per sequence."""
        data = np.ascontiguousarray(ids, dtype=self.dtype.newbyteorder("<")).tobytes()
        self.stream.write(data)
        self.sha.update(data)
        self.lengths.append(np.asarray(lengths, dtype=np.int64))
        self.tokens += int(ids.shape[0])

    @property
    def bytes_written(self) -> int:
        return self.tokens * self.dtype.itemsize

    @property
    def sequences(self) -> int:
        return sum(len(x) for x in self.lengths)

    def index_bytes(self) -> bytes:
        lengths = np.concatenate(self.lengths) if self.lengths else np.zeros(0, dtype=np.int64)
        pointers = np.zeros(len(lengths), dtype="<i8")
        np.cumsum(lengths[:-1] * self.dtype.itemsize, out=pointers[1:])
        doc_idx = np.arange(len(lengths) + 1, dtype="<i8")  # one sequence per document
        header = MAGIC + struct.pack("<Q", VERSION) + struct.pack("<B", CODE_OF[self.dtype])
        header += struct.pack("<Q", len(lengths)) + struct.pack("<Q", len(doc_idx))
        return header + lengths.astype("<i4").tobytes() + pointers.tobytes() + doc_idx.tobytes()


@dataclass
class Index:
    dtype: np.dtype
    lengths: np.ndarray  # int32
    pointers: np.ndarray  # int64, byte offsets into .bin
    document_indices: np.ndarray  # int64


def parse_index(raw: bytes) -> Index:
    """Parse ``.idx`` bytes; raises ValueError with one line on any inconsistency."""
    if len(raw) < HEADER_BYTES or raw[: len(MAGIC)] != MAGIC:
        raise ValueError("not a Megatron MMIDIDX index (bad magic)")
    (version,) = struct.unpack_from("<Q", raw, 9)
    (code,) = struct.unpack_from("<B", raw, 17)
    n_seq, n_doc = struct.unpack_from("<QQ", raw, 18)
    if version != VERSION:
        raise ValueError(f"index version {version}, expected {VERSION}")
    if code not in DTYPE_CODES:
        raise ValueError(f"unknown dtype code {code}")
    expected = HEADER_BYTES + n_seq * 4 + n_seq * 8 + n_doc * 8
    if len(raw) != expected:
        raise ValueError(f"index is {len(raw)} bytes, header implies {expected}")
    off = HEADER_BYTES
    lengths = np.frombuffer(raw, dtype="<i4", count=n_seq, offset=off)
    pointers = np.frombuffer(raw, dtype="<i8", count=n_seq, offset=off + 4 * n_seq)
    docs = np.frombuffer(raw, dtype="<i8", count=n_doc, offset=off + 12 * n_seq)
    return Index(np.dtype(DTYPE_CODES[code]), lengths, pointers, docs)
