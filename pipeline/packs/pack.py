"""Tokenise a finished run into Megatron packs: per language, size-bounded parts ``lang=<xx>/part-NNNNN.{bin,idx}``,
a doc map beside each part (``part-NNNNN.docmap.parquet``: id -> sequence, token offset, token count, source shard
and row), the tokenizer.json itself with the Hugging Face files that name its end-of-document token (hf_files.py),
Megatron's ``--data-path`` blend string (``blend.txt``, mixture.py), and ``pack.json`` (written last: tokenizer
sha256, source run root hash, sha256 of every file, counts per language, the mixture, one root hash).

Order is deterministic: languages sorted, shards sorted, rows in shard order (shards are sorted by id). One sequence
per document, the end-of-document token appended. The work runs as executor tasks (tasks.py), so an interrupted
pack resumes where it stopped and runs on Spark or Ray too. The bytes do not depend on the executor, the number of
worker processes or the device: ``cpu`` (our word cache + HF's BPE), ``hf`` (HF ``encode_batch_fast``), ``cuda``
(the array program on CuPy) and ``numpy`` (the same array program on the CPU) give identical packs (encoders.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from tokenizers import Tokenizer

from sovereign.pipeline.config import ExecutorSpec
from sovereign.pipeline.executors import make_executor
from sovereign.pipeline.packs.errors import PackError
from sovereign.pipeline.packs.hf_files import HF_FILES, hf_tokenizer_files
from sovereign.pipeline.packs.megatron import token_dtype
from sovereign.pipeline.packs.mixture import BLEND_FILE, Mixture, blend, blend_string, cap_cutoff, check_languages
from sovereign.pipeline.packs.source import choose_encoder, file_store, run_root_hash, run_shards, text_bytes
from sovereign.pipeline.packs.tasks import (
    DOCMAP_SCHEMA,
    TOKENIZER_FILE,
    WORK_DIR,
    EncodeItem,
    Job,
    PartItem,
    Slice,
    cache_encoder,
    encode_task,
    write_part_task,
)
from sovereign.pipeline.packs.train import EOD_TOKEN
from sovereign.pipeline.runinfo import dumps, root_hash, sha256_bytes
from sovereign.pipeline.storage import Store

__all__ = ["DOCMAP_SCHEMA", "MANIFEST", "TOKENIZER_FILE", "PackError", "pack_run"]

PACK_VERSION = "1"
MANIFEST = "pack.json"
# Rows per encode task (~8 MB of web text, seconds of encoding): enough tasks to keep every core busy on a run of
# few, large row groups, few enough that task overhead (reading the row group, one small file) stays small.
CHUNK_ROWS = 2048
JOB_FILE = f"{WORK_DIR}/job.json"  # what the tasks under .work were made for: resume only the same pack


def default_out(run: Store, tokenizer_sha: str, name: str | None) -> str:
    return run.uri(f"packs/{name or tokenizer_sha[:16]}")


def _clear(out: Store, keep_work: bool) -> None:
    """Remove what an earlier pack left in ``out`` (only names this module writes); with keep_work, what finished
    tasks wrote stays (their parts and segments) and only temporary files of interrupted writes go."""
    for rel in out.temporary_files(""):
        out.delete_file(rel)
    if keep_work:
        return
    for name in out.top_level():
        if name.startswith("lang=") or name == WORK_DIR:
            out.delete_dir(name)
        elif name in (MANIFEST, TOKENIZER_FILE, BLEND_FILE, *HF_FILES):
            out.delete_file(name)


def _encode_items(run: Store, job: Job, shards: dict[str, list[str]]) -> list[EncodeItem]:
    items = []
    for lang, paths in shards.items():
        for s, rel in enumerate(paths):
            md = run.parquet_file(rel).metadata
            row0 = 0
            for g in range(md.num_row_groups):
                rows = md.row_group(g).num_rows
                for c, lo in enumerate(range(0, rows, CHUNK_ROWS)):
                    segment = f"{WORK_DIR}/lang={lang}/seg-{s:05d}-{g:05d}-{c:05d}.parquet"
                    items.append(EncodeItem(job, lang, rel, g, row0, lo, min(rows, lo + CHUNK_ROWS), segment))
                row0 += rows
    return items


def cap_cutoffs(out: Store, items: list[EncodeItem], cap_tokens: dict[str, int]) -> dict[str, str | None]:
    """language -> the largest id a capped language keeps (mixture.cap_cutoff), from its segments' ids and counts."""
    cutoffs: dict[str, str | None] = {}
    for lang, cap in cap_tokens.items():
        tables = [out.read_parquet(i.segment, columns=["id", "token_count"]) for i in items if i.lang == lang]
        if tables:
            both = pa.concat_tables(tables)
            cutoffs[lang] = cap_cutoff(both.column("id"), both.column("token_count").to_numpy(), cap)
    return cutoffs


def plan_parts(
    out: Store, job: Job, items: list[EncodeItem], max_part_bytes: int, cutoffs: dict[str, str | None] | None = None
) -> dict[str, list[PartItem]]:
    """Split each language's documents into parts greedily, in pack order: a part takes documents while its .bin
    stays within max_part_bytes, and always at least one (what a single streaming pass would do). Documents a cap
    cuts (id > the language's cutoff) count for nothing; the part task leaves them out."""
    cap = max_part_bytes // np.dtype(job.dtype).itemsize
    parts: dict[str, list[PartItem]] = {}
    for lang in dict.fromkeys(i.lang for i in items):
        max_id = (cutoffs or {}).get(lang)
        plan: list[PartItem] = []
        slices: list[Slice] = []
        used = 0
        for item in (i for i in items if i.lang == lang):
            seg = out.read_parquet(
                item.segment, columns=["id", "token_count"] if max_id is not None else ["token_count"]
            )
            counts = seg.column("token_count").to_numpy()
            if max_id is not None:  # a cut document adds no tokens
                counts = np.where(pc.less_equal(seg.column("id"), max_id).to_numpy(zero_copy_only=False), counts, 0)
            lo = 0
            for k, n in enumerate(counts.tolist()):
                if n and used and used + n > cap:  # close the part before this document
                    if k > lo:
                        slices.append(Slice(item.segment, item.shard, lo, k, max_id))
                    plan.append(PartItem(job, lang, f"lang={lang}/part-{len(plan):05d}", tuple(slices)))
                    slices, used, lo = [], 0, k
                used += n
            if len(counts) > lo:
                slices.append(Slice(item.segment, item.shard, lo, len(counts), max_id))
        if used:
            plan.append(PartItem(job, lang, f"lang={lang}/part-{len(plan):05d}", tuple(slices)))
        parts[lang] = plan
    return parts


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
    executor: str = "local",
    on_part: Callable[[dict[str, Any]], None] | None = None,
    mixture: Mixture | None = None,
) -> tuple[str, dict[str, Any]]:
    """Pack every language of ``run``; returns (output URI, manifest). ``progress(lang, docs, characters)`` after
    each encoded row group; ``on_part(result)`` after each part (``skipped``: a resumed pack found it done);
    ``note(text)`` once, saying which encoder runs where; ``workers``: local processes for the cpu device (None: one
    per core, fewer for small runs); ``mixture``: per-language weights (the blend) and token caps. With more than
    one worker the local executor spawns processes, so a script calling this needs ``if __name__ == "__main__":``."""
    tok_store, tok_name = file_store(tokenizer)
    if not tok_store.exists(tok_name):
        raise PackError(f"tokenizer file not found: {tokenizer}")
    tok_bytes = tok_store.read_bytes(tok_name)
    tok_sha = sha256_bytes(tok_bytes)
    try:
        hf = Tokenizer.from_str(tok_bytes.decode("utf-8"))
    except Exception as exc:  # noqa: BLE001 - any parse failure is a bad file
        raise PackError(f"not a tokenizer.json ({type(exc).__name__}): {tokenizer}") from None
    eod = hf.token_to_id(eod_token)
    if eod is None:
        raise PackError(f"tokenizer has no end-of-document token {eod_token!r}")
    vocab_size = hf.get_vocab_size(with_added_tokens=True)
    run_store = Store(run)
    source_root = run_root_hash(run_store)
    shards = run_shards(run_store)
    mixture = mixture or Mixture()
    check_languages(mixture, list(shards))
    out_store = Store(out or default_out(run_store, tok_sha, name))
    if out_store.exists(MANIFEST) and not overwrite:
        raise PackError(f"{out or out_store.root_uri} already holds a pack (pack.json); pass --overwrite to replace it")
    choice = choose_encoder(tok_bytes, device, split_special, workers, text_bytes(run_store, shards))
    if note is not None:
        note(choice.describe)
    dtype = token_dtype(vocab_size)
    job = Job(
        run_store.root_uri, out_store.root_uri, tok_sha, choice.device, split_special, eod, dtype.name, batch_rows
    )
    # The bytes depend on these only (not on device, executor or workers): a pack made for them can be resumed.
    spec = {"tokenizer": tok_sha, "source_run": source_root, "split_special": split_special, "eod": eod,
            "max_part_bytes": max_part_bytes, "packer_version": PACK_VERSION,
            "cap_tokens": mixture.cap_tokens}  # fmt: skip
    same = not overwrite and out_store.exists(JOB_FILE) and out_store.read_bytes(JOB_FILE) == dumps(spec)
    _clear(out_store, keep_work=same)
    out_store.write_bytes(TOKENIZER_FILE, tok_bytes)  # the tasks read it from here
    out_store.write_bytes(JOB_FILE, dumps(spec))
    cache_encoder(job, choice.encoder)  # tasks run inline in this process reuse the encoder built above

    items = _encode_items(run_store, job, shards)
    runner = make_executor(ExecutorSpec(kind=executor, workers=choice.workers))
    try:
        on_encoded = (lambda r: progress(r["lang"], r["documents"], r["characters"])) if progress else None
        encoded = runner.map(encode_task, items, on_encoded)
        cutoffs = cap_cutoffs(out_store, items, mixture.cap_tokens)
        plan = plan_parts(out_store, job, items, max_part_bytes, cutoffs)
        results = runner.map(write_part_task, [p for lang in plan for p in plan[lang]], on_part)
    finally:
        runner.close()

    files: dict[str, dict[str, Any]] = {}
    languages: dict[str, Any] = {lang: {"documents": 0, "tokens": 0, "parts": []} for lang in shards}
    for r in results:
        files.update(r["files"])
        info = languages[r["lang"]]
        info["documents"] += r["documents"]
        info["tokens"] += r["tokens"]
        info["parts"].append(r["name"])
    for lang, cap in mixture.cap_tokens.items():
        read = sum(r["documents"] for r, i in zip(encoded, items, strict=True) if i.lang == lang)
        languages[lang] |= {"cap_tokens": cap, "documents_cut": read - languages[lang]["documents"]}
    files[TOKENIZER_FILE] = {"sha256": tok_sha, "bytes": len(tok_bytes)}
    extra = hf_tokenizer_files(eod_token)
    part_tokens: dict[str, list[tuple[str, int]]] = {r["lang"]: [] for r in results}
    for r in results:
        part_tokens[r["lang"]].append((r["name"], r["tokens"]))
    blend_text = blend_string(blend(part_tokens, mixture))
    extra[BLEND_FILE] = (blend_text + "\n").encode()
    for rel, data in extra.items():
        out_store.write_bytes(rel, data)
        files[rel] = {"sha256": sha256_bytes(data), "bytes": len(data)}
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
        "source_run": {"root_hash": source_root},
        "max_part_bytes": max_part_bytes,
        "languages": languages,
        "totals": {
            "documents": sum(v["documents"] for v in languages.values()),
            "tokens": sum(v["tokens"] for v in languages.values()),
        },
        "mixture": {
            "weights": mixture.weights or None,  # None: the natural mixture (each part's share of all tokens)
            "cap_tokens": mixture.cap_tokens,
            "blend": blend_text,  # Megatron --data-path, prefixes relative to this folder; also in blend.txt
        },
        "files": dict(sorted(files.items())),
        "root_hash": root_hash(files),
    }
    out_store.write_bytes(MANIFEST, dumps(manifest, indent=1))
    out_store.delete_dir(WORK_DIR)  # segments and done-markers: the pack is complete
    return out or out_store.root_uri, manifest
