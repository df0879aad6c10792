"""Check a pack directory against its pack.json, and find a document's tokens (for takedowns).

``verify_packs`` re-hashes every file, parses every ``.idx``, checks lengths / pointers / document indices against
the ``.bin`` size and the doc map, that every sequence ends with the end-of-document token and every id is inside
the vocabulary, that the Hugging Face tokenizer files name the end-of-document token as eos and blend.txt names only
the pack's parts, and (when the pack sits in ``RUN/packs/<name>``) that the run's root hash is the one recorded.
Problems are one line each and never quote document text.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds

from sovereign.pipeline.packs.errors import PackError
from sovereign.pipeline.packs.hf_files import SPECIAL_TOKENS_MAP, TOKENIZER_CONFIG
from sovereign.pipeline.packs.megatron import parse_index
from sovereign.pipeline.packs.mixture import BLEND_FILE
from sovereign.pipeline.packs.pack import DOCMAP_SCHEMA, MANIFEST, TOKENIZER_FILE
from sovereign.pipeline.packs.source import run_root_hash
from sovereign.pipeline.runinfo import RUN_JSON, root_hash, sha256_bytes
from sovereign.pipeline.storage import Store

CHUNK_BYTES = 1 << 26


def _check_bin(
    store: Store, rel: str, dtype: np.dtype, ends: np.ndarray, eod: int, vocab: int
) -> tuple[str, list[str]]:
    """Stream the .bin once: sha256, every id < vocab, the token at each sequence end == eod."""
    sha, problems, first = hashlib.sha256(), [], 0
    bad_eod = bad_ids = 0
    with store.fs.open_input_stream(store.path(rel)) as f:
        while chunk := f.read(CHUNK_BYTES - CHUNK_BYTES % dtype.itemsize):
            sha.update(chunk)
            tokens = np.frombuffer(chunk, dtype=dtype.newbyteorder("<"), count=len(chunk) // dtype.itemsize)
            if tokens.size:
                bad_ids += int(np.count_nonzero((tokens < 0) | (tokens >= vocab)))
                here = ends[(ends >= first) & (ends < first + tokens.size)] - first
                bad_eod += int(np.count_nonzero(tokens[here] != eod))
            first += tokens.size
    if bad_ids:
        problems.append(f"{bad_ids} token ids outside the vocabulary")
    if bad_eod:
        problems.append(f"{bad_eod} sequences do not end with the end-of-document token")
    return sha.hexdigest(), problems


def _check_part(store: Store, part: str, manifest: dict) -> list[str]:
    problems: list[str] = []
    try:
        index = parse_index(store.read_bytes(part + ".idx"))
    except (OSError, ValueError) as exc:
        return [f"{part}.idx: {exc}"]
    if index.dtype.name != manifest["dtype"]:
        problems.append(f"{part}.idx: dtype {index.dtype.name}, pack.json says {manifest['dtype']}")
    n = index.lengths.shape[0]
    lengths = index.lengths.astype(np.int64)
    if not np.array_equal(index.document_indices, np.arange(n + 1)):
        problems.append(f"{part}.idx: document indices are not one sequence per document")
    expected_ptr = np.concatenate([[0], np.cumsum(lengths)[:-1]]) * index.dtype.itemsize if n else lengths
    if not np.array_equal(index.pointers, expected_ptr):
        problems.append(f"{part}.idx: sequence pointers do not follow the lengths")
    bin_path = part + ".bin"
    size = store.fs.get_file_info(store.path(bin_path)).size or 0
    if size != int(lengths.sum()) * index.dtype.itemsize:
        problems.append(f"{part}.bin: {size} bytes, index implies {int(lengths.sum()) * index.dtype.itemsize}")
        return problems
    tok = manifest["tokenizer"]
    sha, bin_problems = _check_bin(
        store, bin_path, index.dtype, np.cumsum(lengths) - 1, tok["eod_id"], tok["vocab_size"]
    )
    problems += [f"{part}.bin: {p}" for p in bin_problems]
    if sha != manifest["files"].get(part + ".bin", {}).get("sha256"):
        problems.append(f"{part}.bin: sha256 differs from pack.json")
    dm = store.read_parquet(part + ".docmap.parquet", columns=["pack", "sequence", "token_offset", "token_count"])
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]) if n else lengths
    if (
        dm.num_rows != n
        or dm.column("pack").to_pylist() != [part] * n
        or not np.array_equal(dm.column("sequence").to_numpy(), np.arange(n))
        or not np.array_equal(dm.column("token_offset").to_numpy(), offsets)
        or not np.array_equal(dm.column("token_count").to_numpy(), lengths)
    ):
        problems.append(f"{part}.docmap.parquet: does not match {part}.idx")
    return problems


def _check_trainer_files(store: Store, manifest: dict, present: set[str]) -> list[str]:
    """The files a trainer loads besides the parts (packs made before they existed have none: nothing to check)."""
    problems: list[str] = []
    tok = manifest["tokenizer"]
    for rel in (TOKENIZER_CONFIG, SPECIAL_TOKENS_MAP):
        if rel in present:
            try:
                eos = json.loads(store.read_bytes(rel)).get("eos_token")
            except (ValueError, AttributeError):
                eos = None
            if eos != tok["eod_token"]:
                problems.append(f"{rel}: eos_token is not the end-of-document token {tok['eod_token']!r}")
    if BLEND_FILE in present:
        text = store.read_bytes(BLEND_FILE).decode("utf-8", "replace").strip()
        words = text.split()
        parts = {p for info in manifest.get("languages", {}).values() for p in info["parts"]}
        if text != manifest.get("mixture", {}).get("blend") or len(words) % 2 or not set(words[1::2]) <= parts:
            problems.append(f"{BLEND_FILE}: not the blend of this pack's parts recorded in pack.json")
    return problems


def _listed_files(store: Store) -> set[str]:
    return set(store.list("")) | set(store.temporary_files(""))


def verify_packs(pack_dir: str) -> list[str]:
    """Problems found in one pack directory (empty list: it is complete and consistent)."""
    store = Store(pack_dir)
    try:
        manifest = json.loads(store.read_bytes(MANIFEST))
    except FileNotFoundError:
        return [f"{pack_dir}: no {MANIFEST} (pack missing or interrupted)"]
    except (OSError, ValueError) as exc:
        return [f"{pack_dir}/{MANIFEST}: unreadable ({type(exc).__name__})"]
    problems: list[str] = []
    files: dict = manifest.get("files", {})
    present = _listed_files(store) - {MANIFEST}
    problems += [f"{rel}: listed in pack.json but missing" for rel in sorted(set(files) - present)]
    problems += [f"{rel}: not listed in pack.json" for rel in sorted(present - set(files))]
    if root_hash(files) != manifest.get("root_hash"):
        problems.append("pack.json: root_hash does not match its file list")
    for rel, meta in files.items():
        if rel in present and not rel.endswith(".bin"):  # .bin hashes are checked in _check_part's single pass
            data = store.read_bytes(rel)
            if sha256_bytes(data) != meta["sha256"] or len(data) != meta["bytes"]:
                problems.append(f"{rel}: sha256 or size differs from pack.json")
    if files.get(TOKENIZER_FILE, {}).get("sha256") != manifest["tokenizer"]["sha256"]:
        problems.append(f"{TOKENIZER_FILE}: not the tokenizer recorded in pack.json")
    problems += _check_trainer_files(store, manifest, present)
    for lang, info in sorted(manifest.get("languages", {}).items()):
        tokens = 0
        for part in info["parts"]:
            if part + ".bin" not in present or part + ".idx" not in present:
                continue  # already reported as missing
            problems += _check_part(store, part, manifest)
            tokens += (store.fs.get_file_info(store.path(part + ".bin")).size or 0) // np.dtype(
                manifest["dtype"]
            ).itemsize
        if tokens != info["tokens"]:
            problems.append(f"lang={lang}: {tokens} tokens in its parts, pack.json says {info['tokens']}")
    parts = store.root_uri.rsplit("/", 2)
    if len(parts) == 3 and parts[1] == "packs" and (run := Store(parts[0])).exists(RUN_JSON):
        try:
            if run_root_hash(run) != manifest["source_run"]["root_hash"]:
                problems.append("source run root_hash differs from the one this pack was made from")
        except PackError as exc:
            problems.append(str(exc))
    return problems


def find_documents(pack_dir: str, ids: list[str]) -> pa.Table:
    """Doc map rows (pack, sequence, token_offset, token_count, ...) of the given document ids, e.g. for a takedown."""
    store = Store(pack_dir)
    files = store.list("", ".docmap.parquet")
    if not files:
        return DOCMAP_SCHEMA.empty_table()
    dataset = ds.dataset([store.path(p) for p in files], filesystem=store.fs, format="parquet")
    return dataset.to_table(filter=ds.field("id").isin(ids))
