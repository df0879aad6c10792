"""The input side of a pack: a run's documents in pack order (languages sorted, shards sorted, rows in shard order)
as Arrow batches read ahead on a thread, and their ids from the chosen encoder, in this process or, for the CPU
path, in a pool of worker processes (encoding overlaps reading and writing either way; memory stays bounded)."""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs

from pipeline.packs import storage
from pipeline.packs.encoders import EncoderError, make_encoder
from pipeline.packs.pool import EncoderPool, texts_of

log = logging.getLogger(__name__)
MIN_WORKER_BYTES = 4_000_000  # text per worker process below which spawning it (~0.4 s CPU, measured) is not worth it
POOL_BATCH_ROWS = 256  # ~1 MB of web text per task: even load over the workers, small in-flight memory


@dataclass
class Batch:
    lang: str
    shard: str  # relative to the run
    row0: int  # row of the first document inside that shard
    ids: list[str]
    texts: pa.Array


def read_batches(fs: pafs.FileSystem, run: str, shards: dict[str, list[str]], batch_rows: int) -> Iterator[Batch]:
    for lang, paths in shards.items():
        for path in paths:
            row0 = 0
            for rb in storage.open_parquet(fs, path).iter_batches(batch_size=batch_rows, columns=["id", "text"]):
                yield Batch(lang, path[len(run) + 1 :], row0, rb.column(0).to_pylist(), rb.column(1))
                row0 += rb.num_rows


def prefetch(it: Iterator[Any], depth: int = 2) -> Iterator[Any]:
    """Run ``it`` on a thread, ``depth`` items ahead (Parquet decoding releases the GIL; bounded queue)."""
    q: queue.Queue[Any] = queue.Queue(maxsize=depth)
    end = object()

    def worker() -> None:
        try:
            for item in it:
                q.put(item)
            q.put(end)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the consumer
            q.put(exc)

    threading.Thread(target=worker, daemon=True).start()
    while (item := q.get()) is not end:
        if isinstance(item, BaseException):
            raise item
        yield item


def text_bytes(fs: pafs.FileSystem, shards: dict[str, list[str]]) -> int:
    """Uncompressed size of every shard's text column, from Parquet footers only."""
    total = 0
    for paths in shards.values():
        for path in paths:
            pf = storage.open_parquet(fs, path)
            col = pf.schema_arrow.get_field_index("text")
            md = pf.metadata
            total += sum(md.row_group(i).column(col).total_uncompressed_size for i in range(md.num_row_groups))
    return total


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class Encoding:
    """Which encoder runs where, and in what batches; built before anything is written, so a missing GPU or an
    unusable tokenizer fails early. ``workers``: processes for the CPU path (None: one per core, at most one per
    MIN_WORKER_BYTES of text). The pack's bytes do not depend on either choice."""

    def __init__(
        self,
        tokenizer_json: bytes,
        device: str,
        split_special: bool,
        workers: int | None,
        total_bytes: int,
        batch_rows: int,
    ) -> None:
        self.args = (tokenizer_json, device, split_special)
        fallback = ""
        if workers is None:
            workers = max(1, min(available_cores(), total_bytes // MIN_WORKER_BYTES))
        try:
            self.encoder: Any = make_encoder(tokenizer_json, device, split_special)
        except EncoderError as exc:
            if device != "cpu":
                raise
            log.info("the word-cache encoder cannot reproduce this tokenizer (%s); using HF encode_batch", exc)
            fallback = f" (the word cache cannot reproduce this tokenizer: {exc})"
            self.args = (tokenizer_json, "hf", split_special)
            self.encoder = make_encoder(*self.args)
        self.workers = workers if self.args[1] == "cpu" else 1
        self.batch_rows = batch_rows if self.workers == 1 else min(batch_rows, POOL_BATCH_ROWS)
        processes = f"{self.workers} process" + ("es" if self.workers > 1 else "")
        self.describe = {"cpu": f"word cache + HF BPE in {processes}", "hf": "HF encode_batch_fast"}.get(
            self.args[1], f"array-program BPE on {device}"
        ) + fallback

    def run(self, batches: Iterator[Batch]) -> Iterator[tuple[Batch, tuple[np.ndarray, np.ndarray]]]:
        if self.workers == 1:
            for batch in batches:
                yield batch, self.encoder.encode_batch(texts_of(batch.texts))
            return
        with EncoderPool(*self.args, workers=self.workers) as pool:
            yield from pool.map(batches, lambda b: b.texts)
