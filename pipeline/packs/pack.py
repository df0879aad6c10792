"""Tokenise a finished run into Megatron packs: per language, size-bounded parts ``lang=<xx>/part-NNNNN.{bin,idx}``,
a doc map beside each part (``part-NNNNN.docmap.parquet``: id -> sequence, token offset, token count, source shard
and row), the tokenizer.json itself, and ``pack.json`` (written last: tokenizer sha256, source run root hash, sha256
of every file, counts per language, one root hash).

Order is deterministic: languages sorted, shards sorted, rows in shard order (shards are sorted by id). One sequence
per document, the end-of-document token appended. The bytes do not depend on the device or the number of worker
processes: ``cpu`` (our word cache + HF's BPE, all cores), ``hf`` (HF ``encode_batch_fast``), ``cuda`` (the array
program on CuPy) and ``numpy`` (the same array program on the CPU) give identical packs (encoders.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from tokenizers import Tokenizer

from pipeline.packs import storage
from pipeline.packs.encoders import EncoderError
from pipeline.packs.megatron import BinWriter, token_dtype
from pipeline.packs.source import Encoding, prefetch, read_batches, text_bytes
from pipeline.packs.train import EOD_TOKEN

PACK_VERSION = "1"
MANIFEST = "pack.json"
TOKENIZER_FILE = "tokenizer.json"
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


class PackError(Exception):
    """A pack cannot be made; the message is one line a user can act on."""


def with_eod(ids: np.ndarray, counts: np.ndarray, eod: int) -> tuple[np.ndarray, np.ndarray]:
    """Insert the end-of-document token after each document's ids (vectorised)."""
    out = np.empty(ids.shape[0] + counts.shape[0], dtype=np.int64)
    doc_of_token = np.repeat(np.arange(counts.shape[0]), counts)
    out[np.arange(ids.shape[0]) + doc_of_token] = ids
    out[np.cumsum(counts + 1) - 1] = eod
    return out, counts + 1


@dataclass
class _Part:
    name: str  # lang=xx/part-NNNNN
    writer: BinWriter
    stack: contextlib.ExitStack
    docmap: dict[str, list[Any]] = field(default_factory=lambda: {f.name: [] for f in DOCMAP_SCHEMA})


class _LanguagePacker:
    """Writes one language's parts, starting a new part when the next document would pass ``max_part_bytes``."""

    def __init__(self, fs: pafs.FileSystem, out: str, lang: str, dtype: np.dtype, max_part_bytes: int) -> None:
        self.fs, self.out, self.lang, self.dtype, self.max_part_bytes = fs, out, lang, dtype, max_part_bytes
        self.part: _Part | None = None
        self.parts: list[str] = []
        self.files: dict[str, dict[str, Any]] = {}
        self.documents = self.tokens = 0

    def _open(self) -> _Part:
        name = f"lang={self.lang}/part-{len(self.parts):05d}"
        stack = contextlib.ExitStack()
        stream = stack.enter_context(storage.atomic_output(self.fs, storage.join(self.out, name + ".bin")))
        self.parts.append(name)
        return _Part(name, BinWriter(stream, self.dtype), stack)

    def _close(self) -> None:
        part, self.part = self.part, None
        if part is None:
            return
        part.stack.close()  # .bin renamed into place
        self.files[part.name + ".bin"] = {"sha256": part.writer.sha.hexdigest(), "bytes": part.writer.bytes_written}
        self._put(part.name + ".idx", part.writer.index_bytes())
        buf = io.BytesIO()
        pq.write_table(pa.table(part.docmap, schema=DOCMAP_SCHEMA), buf, compression="zstd")
        self._put(part.name + ".docmap.parquet", buf.getvalue())

    def _put(self, rel: str, data: bytes) -> None:
        storage.write_bytes(self.fs, storage.join(self.out, rel), data)
        self.files[rel] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}

    def add(self, ids: np.ndarray, lengths: np.ndarray, doc_ids: list[str], shard: str, rows: np.ndarray) -> None:
        """Append documents (ids with the end-of-document token already in place), splitting across parts."""
        item = self.dtype.itemsize
        start_tok = np.concatenate([[0], np.cumsum(lengths)])
        lo = 0
        while lo < len(lengths):
            if self.part is None:
                self.part = self._open()
            room = (self.max_part_bytes - self.part.writer.bytes_written) // item
            # Documents [lo, hi) fit in the room left; an empty part always takes at least one document.
            hi = int(np.searchsorted(start_tok, start_tok[lo] + room, side="right")) - 1
            hi = max(hi, lo + 1) if self.part.writer.sequences == 0 else max(hi, lo)
            if hi == lo:
                self._close()
                continue
            w, dm = self.part.writer, self.part.docmap
            seq0, off0 = w.sequences, w.tokens
            w.add(ids[start_tok[lo] : start_tok[hi]], lengths[lo:hi])
            n = hi - lo
            dm["id"] += doc_ids[lo:hi]
            dm["language"] += [self.lang] * n
            dm["pack"] += [self.part.name] * n
            dm["sequence"] += range(seq0, seq0 + n)
            dm["token_offset"] += (off0 + start_tok[lo:hi] - start_tok[lo]).tolist()
            dm["token_count"] += lengths[lo:hi].tolist()
            dm["shard"] += [shard] * n
            dm["row"] += rows[lo:hi].tolist()
            self.documents += n
            self.tokens += int(start_tok[hi] - start_tok[lo])
            lo = hi

    def finish(self) -> None:
        self._close()


def _clear_previous(fs: pafs.FileSystem, out: str) -> None:
    """Remove what an interrupted pack left in ``out`` (only names this module writes)."""
    if not storage.exists(fs, out):
        return
    for info in fs.get_file_info(pafs.FileSelector(out)):
        name = info.path.rsplit("/", 1)[-1]
        if info.type == pafs.FileType.Directory and name.startswith("lang="):
            fs.delete_dir(info.path)
        elif name in (MANIFEST, TOKENIZER_FILE) or name.startswith(".tmp-"):
            fs.delete_file(info.path)


def files_root_hash(files: dict[str, dict[str, Any]]) -> str:
    lines = "".join(f"{rel}\t{meta['sha256']}\n" for rel, meta in sorted(files.items()))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


def default_out(run: str, tokenizer_sha: str, name: str | None) -> str:
    return storage.join(run.rstrip("/"), "packs", name or tokenizer_sha[:16])


def pack_run(
    run: str,
    tokenizer: str,
    out: str | None = None,
    device: str = "cpu",
    name: str | None = None,
    max_part_bytes: int = 1 << 30,
    batch_rows: int = 1024,
    split_special: bool = False,
    eod_token: str = EOD_TOKEN,
    overwrite: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
    workers: int | None = None,
    note: Callable[[str], None] | None = None,
) -> tuple[str, dict[str, Any]]:
    """Pack every language of ``run``; returns (output URI, manifest). ``progress(lang, docs, characters)`` after
    each batch; ``note(text)`` once, saying which encoder runs where; ``workers``: see source.Encoding. With more
    than one worker the CPU path spawns processes, so a script calling this needs ``if __name__ == "__main__":``."""
    run_fs, run_path = storage.resolve(run)
    tfs, tpath = storage.resolve(tokenizer)
    if not storage.exists(tfs, tpath):
        raise PackError(f"tokenizer file not found: {tokenizer}")
    tok_bytes = storage.read_bytes(tfs, tpath)
    tok_sha = hashlib.sha256(tok_bytes).hexdigest()
    try:
        hf = Tokenizer.from_str(tok_bytes.decode("utf-8"))
    except Exception as exc:  # noqa: BLE001 - any parse failure is a bad file
        raise PackError(f"not a tokenizer.json ({type(exc).__name__}): {tokenizer}") from None
    eod = hf.token_to_id(eod_token)
    if eod is None:
        raise PackError(f"tokenizer has no end-of-document token {eod_token!r}")
    vocab_size = hf.get_vocab_size(with_added_tokens=True)
    try:
        root_hash = storage.run_root_hash(run_fs, run_path)
        shards = storage.run_shards(run_fs, run_path)
    except (FileNotFoundError, ValueError) as exc:
        raise PackError(str(exc)) from None
    out_uri = out or default_out(str(run) if "://" in str(run) else run_path, tok_sha, name)
    fs, out_path = storage.resolve(out_uri)
    if storage.exists(fs, storage.join(out_path, MANIFEST)) and not overwrite:
        raise PackError(f"{out_uri} already holds a pack (pack.json); pass --overwrite to replace it")
    try:
        encoding = Encoding(tok_bytes, device, split_special, workers, text_bytes(run_fs, shards), batch_rows)
    except EncoderError as exc:
        raise PackError(f"the {device} encoder cannot reproduce this tokenizer: {exc}") from None
    if note is not None:
        note(encoding.describe)
    _clear_previous(fs, out_path)
    dtype = token_dtype(vocab_size)
    packers = {lang: _LanguagePacker(fs, out_path, lang, dtype, max_part_bytes) for lang in shards}
    current: list[str] = []  # languages arrive in order: finish one (close its last part) when the next starts
    for batch, (ids, counts) in encoding.run(prefetch(read_batches(run_fs, run_path, shards, encoding.batch_rows))):
        if not current or current[-1] != batch.lang:
            if current:
                packers[current[-1]].finish()
            current.append(batch.lang)
        ids, lengths = with_eod(ids, counts, eod)
        rows = np.arange(batch.row0, batch.row0 + len(batch.ids))
        packers[batch.lang].add(ids, lengths, batch.ids, batch.shard, rows)
        if progress is not None:
            progress(batch.lang, len(batch.ids), pc.sum(pc.utf8_length(batch.texts)).as_py() or 0)
    files: dict[str, dict[str, Any]] = {}
    languages: dict[str, Any] = {}
    for lang, packer in packers.items():
        packer.finish()  # no-op for a language already finished
        files.update(packer.files)
        languages[lang] = {"documents": packer.documents, "tokens": packer.tokens, "parts": packer.parts}

    storage.write_bytes(fs, storage.join(out_path, TOKENIZER_FILE), tok_bytes)
    files[TOKENIZER_FILE] = {"sha256": tok_sha, "bytes": len(tok_bytes)}
    manifest = {
        "format": "megatron-indexed-dataset",
        "format_version": 1,
        "packer_version": PACK_VERSION,
        "tokenizer": {
            "sha256": tok_sha,
            "name": name,
            "vocab_size": vocab_size,
            "eod_token": eod_token,
            "eod_id": eod,
            "special_tokens_in_text": "split" if split_special else "encoded-as-text",
        },
        "dtype": dtype.name,
        "source_run": {"root_hash": root_hash},
        "max_part_bytes": max_part_bytes,
        "languages": languages,
        "totals": {
            "documents": sum(v["documents"] for v in languages.values()),
            "tokens": sum(v["tokens"] for v in languages.values()),
        },
        "files": dict(sorted(files.items())),
        "root_hash": files_root_hash(files),
    }
    storage.write_bytes(fs, storage.join(out_path, MANIFEST), storage.canonical_json(manifest))
    return out_uri, manifest
