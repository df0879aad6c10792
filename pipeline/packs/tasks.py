"""The two kinds of pack task the run's executor maps (local processes, Spark or Ray; the same bytes on each).

A part's boundaries depend on token counts, known only after encoding, so packing is two maps:

1. ``encode_task``, one per (language, shard, row group, chunk of rows): encodes the documents and writes a segment
   (``.work/lang=<xx>/seg-SSSSS-GGGGG-CCCCC.parquet``: id, row, token_count, tokens with the end-of-document token).
   The segment is one atomic write, so its presence is its done-marker.
2. ``write_part_task``, one per (language, part), planned from the segments' token counts exactly as a single pass
   would split them: copies the tokens into ``lang=<xx>/part-NNNNN.{bin,idx}`` and its doc map (each written
   atomically), then a small done-marker with their digests. A resumed pack skips parts that have one.

Each task builds its encoder once per process (a module cache), so a process running many tasks pays it once. No
encoder pool inside a task: the executor's processes already use every core, one chunk of rows each.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sovereign.pipeline.packs.encoders import make_encoder
from sovereign.pipeline.packs.megatron import BinWriter
from sovereign.pipeline.runinfo import dumps, sha256_bytes
from sovereign.pipeline.storage import Store

TOKENIZER_FILE = "tokenizer.json"
WORK_DIR = ".work"  # the tasks' intermediate state; removed once pack.json is written
DOCMAP_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("language", pa.string(), nullable=False),
        pa.field("pack", pa.string(), nullable=False),  # part prefix, e.g. lang=de/part-00000 (+ .bin / .idx)
        pa.field("sequence", pa.int64(), nullable=False),  # sequence (= document) index inside that part
        pa.field("token_offset", pa.int64(), nullable=False),  # in tokens, from the start of the part's .bin
        pa.field("token_count", pa.int32(), nullable=False),  # includes the end-of-document token
        pa.field("shard", pa.string(), nullable=False),  # source shard, relative to the run
        pa.field("row", pa.int64(), nullable=False),  # row inside that shard
    ]
)
_ENCODERS: dict[tuple[str, str, bool], Any] = {}


@dataclass(frozen=True)
class Job:
    """What every task of one pack needs (small: tasks travel to Spark/Ray workers)."""

    run_uri: str
    out_uri: str
    tokenizer_sha: str  # the tokenizer itself is read from OUT/tokenizer.json, written before any task
    device: str
    split_special: bool
    eod: int
    dtype: str
    batch_rows: int = 1024


@dataclass(frozen=True)
class EncodeItem:
    job: Job
    lang: str
    shard: str  # relative to the run
    row_group: int
    row0: int  # row of the row group's first document inside the shard
    lo: int  # rows [lo, hi) of the row group
    hi: int
    segment: str  # relative to the pack folder


@dataclass(frozen=True)
class Slice:
    segment: str
    shard: str
    lo: int  # documents [lo, hi) of the segment
    hi: int
    max_id: str | None = None  # a capped language (mixture.py): only documents with id <= max_id


@dataclass(frozen=True)
class PartItem:
    job: Job
    lang: str
    name: str  # lang=xx/part-NNNNN
    slices: tuple[Slice, ...]


def cache_encoder(job: Job, encoder: Any) -> None:
    _ENCODERS[(job.tokenizer_sha, job.device, job.split_special)] = encoder


def _encoder(job: Job) -> Any:
    key = (job.tokenizer_sha, job.device, job.split_special)
    if key not in _ENCODERS:
        tokenizer_json = Store(job.out_uri).read_bytes(TOKENIZER_FILE)
        _ENCODERS[key] = make_encoder(tokenizer_json, job.device, job.split_special)
    return _ENCODERS[key]


def with_eod(ids: np.ndarray, counts: np.ndarray, eod: int) -> tuple[np.ndarray, np.ndarray]:
    """Insert the end-of-document token after each document's ids (vectorised)."""
    out = np.empty(ids.shape[0] + counts.shape[0], dtype=np.int64)
    doc_of_token = np.repeat(np.arange(counts.shape[0]), counts)
    out[np.arange(ids.shape[0]) + doc_of_token] = ids
    out[np.cumsum(counts + 1) - 1] = eod
    return out, counts + 1


def encode_task(item: EncodeItem) -> dict[str, Any]:
    """Encode one chunk of a row group into its segment; skipped when the segment is there (a resumed pack)."""
    out = Store(item.job.out_uri)
    if out.exists(item.segment):
        return {"lang": item.lang, "documents": out.parquet_file(item.segment).metadata.num_rows, "characters": 0}
    rg = Store(item.job.run_uri).parquet_file(item.shard).read_row_group(item.row_group, columns=["id", "text"])
    rg = rg.slice(item.lo, item.hi - item.lo)
    encoder, texts = _encoder(item.job), rg.column("text")
    ids_parts, count_parts = [], []
    for lo in range(0, rg.num_rows, item.job.batch_rows):
        batch = texts.slice(lo, item.job.batch_rows).to_pylist()
        ids, counts = encoder.encode_batch([t or "" for t in batch])  # a null text encodes as an empty document
        ids, counts = with_eod(ids, counts, item.job.eod)
        ids_parts.append(ids)
        count_parts.append(counts)
    ids = np.concatenate(ids_parts) if ids_parts else np.zeros(0, np.int64)
    counts = np.concatenate(count_parts) if count_parts else np.zeros(0, np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    segment = pa.table(
        {
            "id": rg.column("id"),
            "row": pa.array(np.arange(item.row0 + item.lo, item.row0 + item.hi), pa.int64()),
            "token_count": pa.array(counts, pa.int32()),
            "tokens": pa.LargeListArray.from_arrays(offsets, pa.array(ids.astype(item.job.dtype))),
        }
    )
    out.write_parquet(item.segment, segment)
    characters = pc.sum(pc.utf8_length(texts)).as_py() or 0
    return {"lang": item.lang, "documents": rg.num_rows, "characters": characters}


def part_marker(name: str) -> str:
    return f"{WORK_DIR}/{name}.done.json"


def write_part_task(item: PartItem) -> dict[str, Any]:
    """Write one part (.bin, .idx, doc map), then its done-marker; skipped when the marker is there."""
    out = Store(item.job.out_uri)
    marker = part_marker(item.name)
    if out.exists(marker):
        done = json.loads(out.read_bytes(marker))
        if all(out.exists(rel) for rel in done["files"]):
            return done | {"skipped": True}
    dtype = np.dtype(item.job.dtype)
    columns: dict[str, list[Any]] = {"id": [], "row": [], "token_count": [], "shard": []}
    with out.open_output(item.name + ".bin") as stream:
        writer = BinWriter(stream, dtype)
        for s in item.slices:
            seg = out.read_parquet(s.segment).slice(s.lo, s.hi - s.lo)
            if s.max_id is not None:
                seg = seg.filter(pc.less_equal(seg.column("id"), s.max_id))
            tokens = pc.list_flatten(seg.column("tokens")).to_numpy()
            writer.add(tokens, seg.column("token_count").to_numpy())
            for col in ("id", "row", "token_count"):
                columns[col].append(seg.column(col))
            columns["shard"].append(pa.array([s.shard] * seg.num_rows, pa.string()))
    n = writer.sequences
    lengths = np.concatenate(writer.lengths) if writer.lengths else np.zeros(0, np.int64)
    docmap = pa.table(
        {
            "id": pa.chunked_array(columns["id"], pa.string()),
            "language": pa.array([item.lang] * n, pa.string()),
            "pack": pa.array([item.name] * n, pa.string()),
            "sequence": pa.array(np.arange(n), pa.int64()),
            "token_offset": pa.array(np.concatenate([[0], np.cumsum(lengths)[:-1]]) if n else lengths, pa.int64()),
            "token_count": pa.chunked_array(columns["token_count"], pa.int32()),
            "shard": pa.chunked_array(columns["shard"], pa.string()),
            "row": pa.chunked_array(columns["row"], pa.int64()),
        }
    )
    buf = io.BytesIO()
    # The doc map's own writer options (not Store.write_parquet's): its bytes are part of the pack's contract.
    pq.write_table(docmap.cast(DOCMAP_SCHEMA).combine_chunks(), buf, compression="zstd")
    files = {item.name + ".bin": {"sha256": writer.sha.hexdigest(), "bytes": writer.bytes_written}}
    for rel, data in ((item.name + ".idx", writer.index_bytes()), (item.name + ".docmap.parquet", buf.getvalue())):
        out.write_bytes(rel, data)
        files[rel] = {"sha256": sha256_bytes(data), "bytes": len(data)}
    done = {"name": item.name, "lang": item.lang, "documents": n, "tokens": writer.tokens, "files": files}
    out.write_bytes(marker, dumps(done))
    return done | {"skipped": False}
