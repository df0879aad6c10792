"""Encode batches in worker processes, results in submission order, a bounded number in flight (bounded memory).

Processes, not threads: the word-cache encoder is mostly Python (the split releases nothing useful, the cache
lookups hold the GIL). Workers are spawned (no fork: the parent holds Arrow and tokenizers thread pools) and each
builds its encoder once; a batch travels as an Arrow string array (pickled as raw buffers) and comes back as two
NumPy arrays, so the parent does no per-document Python work.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa

T = TypeVar("T")
_ENCODER: Any = None


def texts_of(column: pa.Array) -> list[str]:
    """Document texts of an Arrow string column; a null text encodes as an empty document."""
    return [t or "" for t in column.to_pylist()]


def _init(tokenizer_json: bytes, device: str, split_special: bool) -> None:
    global _ENCODER  # noqa: PLW0603 - one encoder per worker process, built once
    from pipeline.packs.encoders import make_encoder
    from pipeline.procs import die_with_parent

    die_with_parent()  # a SIGKILLed `sovereign pack` must not leave encoders running

    _ENCODER = make_encoder(tokenizer_json, device, split_special)


def _encode(column: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    return _ENCODER.encode_batch(texts_of(column))


class EncoderPool:
    """``with EncoderPool(...) as pool: for item, (ids, counts) in pool.map(items, column_of): ...``"""

    def __init__(self, tokenizer_json: bytes, device: str, split_special: bool, workers: int) -> None:
        self.workers = workers
        self.executor = ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init,
            initargs=(tokenizer_json, device, split_special),
        )

    def map(
        self, items: Iterator[T], column_of: Callable[[T], pa.Array]
    ) -> Iterator[tuple[T, tuple[np.ndarray, np.ndarray]]]:
        pending: deque[tuple[T, Future]] = deque()
        for item in items:
            pending.append((item, self.executor.submit(_encode, column_of(item))))
            if len(pending) >= 2 * self.workers:  # each worker busy with one batch and one queued
                done, fut = pending.popleft()
                yield done, fut.result()
        while pending:
            done, fut = pending.popleft()
            yield done, fut.result()

    def __enter__(self) -> EncoderPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
