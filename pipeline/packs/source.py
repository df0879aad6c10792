"""The input side of a pack: a run's shards in pack order (languages sorted, shards sorted, rows in shard order), the
root hash its run.json records, and which encoder runs where (chosen once, before anything is written, so a missing
GPU or an unusable tokenizer fails early)."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass

from sovereign.pipeline.packs.encoders import make_encoder
from sovereign.pipeline.packs.errors import EncoderError, PackError
from sovereign.pipeline.runinfo import RUN_JSON
from sovereign.pipeline.storage import Store, normalise_uri

log = logging.getLogger(__name__)
MIN_WORKER_BYTES = 4_000_000  # text per worker process below which spawning it (~0.4 s CPU, measured) is not worth it


def file_store(uri: str) -> tuple[Store, str]:
    """(Store of the folder, name) for one file's URI."""
    parent, _, name = normalise_uri(uri).rpartition("/")
    return Store(parent), name


def run_shards(run: Store) -> dict[str, list[str]]:
    """language -> sorted shard paths (relative to the run) of ``shards/lang=<xx>/part-NNNNN.parquet``."""
    if not run.exists("shards"):
        raise PackError(f"no shards/ folder in run {run.root_uri}")
    out: dict[str, list[str]] = {}
    for rel in run.list("shards", ".parquet"):
        lang_dir, _, name = rel.partition("/")
        if lang_dir.startswith("lang=") and name and "/" not in name:
            out.setdefault(lang_dir[5:], []).append(f"shards/{rel}")
    return {lang: sorted(paths) for lang, paths in sorted(out.items())}


def run_root_hash(run: Store) -> str:
    """The root hash the run's run.json records (computed by pipeline.runinfo.root_hash when the run finished)."""
    try:
        root = json.loads(run.read_bytes(RUN_JSON)).get("root_hash")
    except FileNotFoundError:
        raise PackError(f"no {RUN_JSON} in run {run.root_uri} (not a finished run)") from None
    except (ValueError, AttributeError):
        raise PackError(f"{RUN_JSON} of {run.root_uri} is not a JSON object") from None
    if not isinstance(root, str) or not root:
        raise PackError(f"{RUN_JSON} of {run.root_uri} has no root_hash")
    return root


def text_bytes(run: Store, shards: dict[str, list[str]]) -> int:
    """Uncompressed size of every shard's text column, from Parquet footers only."""
    total = 0
    for paths in shards.values():
        for rel in paths:
            pf = run.parquet_file(rel)
            col = pf.schema_arrow.get_field_index("text")
            md = pf.metadata
            total += sum(md.row_group(i).column(col).total_uncompressed_size for i in range(md.num_row_groups))
    return total


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@dataclass
class EncoderChoice:
    """The device the tasks use (``cpu`` falls back to ``hf`` for a tokenizer.json our word cache cannot reproduce),
    the executor's local worker processes, and one line saying so. The pack's bytes depend on neither."""

    device: str
    workers: int
    describe: str
    encoder: object  # built here to fail early; the driver's own tasks reuse it


def choose_encoder(
    tokenizer_json: bytes, device: str, split_special: bool, workers: int | None, total: int
) -> EncoderChoice:
    fallback = ""
    try:
        encoder = make_encoder(tokenizer_json, device, split_special)
    except EncoderError as exc:
        if device != "cpu":
            raise PackError(f"the {device} encoder cannot reproduce this tokenizer: {exc}") from None
        log.info("the word-cache encoder cannot reproduce this tokenizer (%s); using HF encode_batch", exc)
        fallback = f" (the word cache cannot reproduce this tokenizer: {exc})"
        device = "hf"
        encoder = make_encoder(tokenizer_json, device, split_special)
    if device != "cpu":
        workers = 1  # hf already uses every core (Rust), cuda is one GPU, numpy is for checking
    elif workers is None:
        workers = max(1, min(available_cores(), total // MIN_WORKER_BYTES))
    processes = f"{workers} process" + ("es" if workers > 1 else "")
    describe = {"cpu": f"word cache + HF BPE in {processes}", "hf": "HF encode_batch_fast"}.get(
        device, f"array-program BPE on {device}"
    )
    return EncoderChoice(device, workers, describe + fallback, encoder)
